"""Build the site: ``python -m vit_tutorial.site`` (see the package's docstring)."""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from vit_tutorial.files import OutputPathError, check_output_folder, interruptible
from vit_tutorial.site.sources import DEFAULT_OUTPUT, site_url, write_sources

__all__ = ["build", "pages_of", "main"]


def _check_output(output: Path) -> None:
    """Refuse an output folder that holds something other than an earlier site."""
    if output.exists() and not output.is_dir():
        raise SystemExit(f"{output} is a file; choose a folder for the site")
    if output.exists() and any(output.iterdir()) and not (output / ".buildinfo").is_file():
        raise SystemExit(f"{output} is not empty and holds no earlier build of the site "
                         f"(no .buildinfo): choose an empty or new folder")


def build(root: Path = Path("."), output: Path = DEFAULT_OUTPUT, quiet: bool = True) -> Path:
    """Build the site of the repository at ``root`` into ``output``; return its index.html.

    Raises:
        SystemExit: if a lesson or a README section the site shows is missing, MathJax is
            not installed, ``output`` holds something else, or Sphinx reports any warning.
    """
    from sphinx.cmd.build import build_main  # only the site needs Sphinx

    output = Path(output).resolve()
    _check_output(output)
    with tempfile.TemporaryDirectory(prefix="vit-site-") as tmp:
        source, html = Path(tmp) / "source", Path(tmp) / "html"
        write_sources(Path(root), source)
        # Into the temporary folder first: MyST-NB writes its output files beside the output
        # folder, and a failed build leaves the previous site as it was.
        status = build_main(["-W", "-n", "-b", "html", "-d", str(Path(tmp) / "doctrees"),
                             *(["-q"] if quiet else []), str(source), str(html)])
        if status:
            raise SystemExit(f"sphinx-build failed (exit status {status}); see its messages "
                             f"above. In them, index.md is the landing page, notation.md and "
                             f"teachers.md are README sections, and notebooks/ are the "
                             f"lessons; the previous site, if any, is left as it was.")
        _check_output(output)  # still nothing else in it
        if output.exists():
            shutil.rmtree(output)
        output.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(html, output)
    return output / "index.html"


def pages_of(site: Path) -> list[Path]:
    """The HTML pages of a built site (not the theme's files in ``_static/``)."""
    return sorted(p for p in Path(site).rglob("*.html")
                  if p.relative_to(site).parts[0] not in ("_static", "_sources", "_images"))


@interruptible
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vit_tutorial.site",
        description="Build the course's website (a landing page and every executed lesson) "
                    "with Sphinx, offline and warning-free.")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help=f"the folder to build into (default: {DEFAULT_OUTPUT})")
    parser.add_argument("--verbose", action="store_true", help="show Sphinx's progress")
    args = parser.parse_args(argv)
    output = args.output if args.output.is_absolute() else args.root / args.output
    try:  # before the build, not after it
        check_output_folder(output, label="--output", sources=[
            args.root / name for name in ("notebooks", "solutions", "images")])
    except OutputPathError as error:
        parser.error(str(error))
    start = time.perf_counter()
    index = build(args.root, output, quiet=not args.verbose)
    pages = len(pages_of(output))
    size = sum(p.stat().st_size for p in output.rglob("*") if p.is_file())
    print(f"built the site in {time.perf_counter() - start:.1f} s: {pages} pages, "
          f"{size / 2**20:.1f} MiB; open {index}")
    print(f"published at {site_url()} when main changes (.github/workflows/site.yml)")
    return 0
