r"""The course as a website: a book of the executed lessons, built offline with Sphinx.

::

    python -m vit_tutorial.site                    # -> build/site/index.html
    python -m vit_tutorial.site --output OTHER/DIR

The command writes a Sphinx source folder in a temporary directory and runs
``sphinx-build -W -n`` over it, so any warning — a broken link, a missing figure, an unknown
cross-reference — fails the build. The folder mirrors the repository:

- ``index.md``: the README (the front page), with its teachers' section moved to
- ``teachers.md``: a page of its own (how to use the exercises and solutions editions);
- ``notebooks/``: every lesson of :data:`vit_tutorial.course.LESSONS` in course order, in
  the exercises edition, as committed — executed, never run again here (strict nbval
  already checks their outputs);
- ``images/``: the repository's pictures, if it has that folder, so the README's
  ``images/…`` references work on the site as they do on GitHub.

Nothing is fetched while building or reading: MyST-NB renders the notebooks with their
stored outputs, MathJax 3 is served from the site itself (a copy from the
``django-static-mathjax`` package) instead of a CDN, and the "Open in Colab" badge images
are replaced by a local picture of the badge. The same module is the Sphinx extension that
does the last part and points links to repository files that are not on the site (a test
file, a folder) at GitHub.

The site is published at :func:`site_url`, derived from
:data:`vit_tutorial.course.REPOSITORY`.
"""

from __future__ import annotations

import argparse
import importlib.util
import posixpath
import pprint
import shutil
import tempfile
import time
from pathlib import Path

from vit_tutorial.course import BRANCH, COLAB_BADGE, LESSONS, REPOSITORY
from vit_tutorial.files import OutputPathError, check_output_folder, interruptible

__all__ = ["DEFAULT_OUTPUT", "TEACHERS_HEADING", "site_url", "split_readme", "write_sources",
           "build", "pages_of", "setup", "main"]

DEFAULT_OUTPUT = Path("build") / "site"
# The README section that becomes the teachers' page: the first "## " heading starting so.
TEACHERS_HEADING = "## For teachers"
TEACHERS_NOTE = (
    "The lessons on this site are the **exercises edition** (`notebooks/`), the one learners "
    "open: every exercise waits for an answer and its checker says \"not implemented yet\". "
    "The **solutions edition** (`solutions/`) answers them all; each lesson's first line links "
    "to it.")

# Where things go inside the Sphinx source folder.
MATHJAX_DIR = "_static/mathjax"  # tex-chtml-full.js and its fonts
BADGE_FILE = "_course/colab-badge.svg"  # the local picture of the "Open in Colab" badge
CSS_FILE = "course.css"  # in _static/
# The badge keeps its size in the README's narrow table column.
CSS = "img.colab-badge { max-width: none; width: 117px; height: 20px; }\n"
MATHJAX_SCRIPT = "tex-chtml-full.js"  # every TeX extension built in: nothing loaded later
MATHJAX_FONTS = "output/chtml/fonts/woff-v2"

# A flat "Open in Colab" badge drawn for the site, so that a page makes no outside request.
BADGE_SVG = """\
<svg xmlns="http://www.w3.org/2000/svg" width="117" height="20" role="img"
     aria-label="Open in Colab">
<title>Open in Colab</title>
<clipPath id="r"><rect width="117" height="20" rx="3"/></clipPath>
<g clip-path="url(#r)">
<rect width="117" height="20" fill="#555"/>
<rect x="70" width="47" height="20" fill="#e37400"/>
<circle cx="11" cy="10" r="5" fill="none" stroke="#f9ab00" stroke-width="2.5"/>
<circle cx="18" cy="10" r="5" fill="none" stroke="#f9ab00" stroke-width="2.5"/>
</g>
<g fill="#fff" font-family="Verdana,DejaVu Sans,Liberation Sans,sans-serif" font-size="11">
<text x="27" y="14">Open in</text>
<text x="75" y="14">Colab</text>
</g>
</svg>
"""


def site_url(repository: str = REPOSITORY) -> str:
    """Where GitHub Pages serves the site of ``repository`` ("owner/name")."""
    owner, name = repository.split("/")
    if name.lower() == f"{owner.lower()}.github.io":  # a user or organisation site
        return f"https://{name.lower()}/"
    return f"https://{owner.lower()}.github.io/{name}/"


def _mathjax_es5() -> Path:
    """The folder of MathJax 3's browser build inside the ``django-static-mathjax`` package."""
    spec = importlib.util.find_spec("mathjax")
    for location in (spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "static" / "mathjax" / "es5"
        if (folder / MATHJAX_SCRIPT).is_file():
            return folder
    raise SystemExit("MathJax is not installed: the site serves its own copy, from the "
                     "django-static-mathjax package; run .venv/bin/pip install -r "
                     "requirements.txt")


def _in_code(lines: list[str]) -> list[bool]:
    """For each Markdown line: is it part of a fenced code block (fences included)?"""
    flags, fence = [], None
    for line in lines:
        stripped = line.lstrip()
        if fence:
            flags.append(True)
            fence = None if stripped.startswith(fence) else fence
        else:
            flags.append(stripped.startswith(("```", "~~~")))
            fence = stripped[:3] if flags[-1] else None
    return flags


def split_readme(text: str) -> tuple[str, str]:
    """The README as (front page, teachers' page): the section under ``TEACHERS_HEADING``
    moves to its own page, headings one level up, and a link to it stays behind."""
    lines = text.splitlines()
    code = _in_code(lines)
    headings = [i for i, line in enumerate(lines) if line.startswith("## ") and not code[i]]
    start = next((i for i in headings if lines[i].startswith(TEACHERS_HEADING)), None)
    if start is None:
        raise SystemExit(f"README.md has no section starting with {TEACHERS_HEADING!r}: the "
                         f"site's page for teachers is made from it (vit_tutorial/site.py, "
                         f"TEACHERS_HEADING)")
    end = next((i for i in headings if i > start), len(lines))
    section = lines[start:end]
    title = section[0][3:].strip()
    # "## Title" -> "# Title": the section's title is the page's; code blocks stay as they are.
    teachers = [line[1:] if line.startswith("##") and not code[start + i] else line
                for i, line in enumerate(section)]
    teachers[1:1] = ["", TEACHERS_NOTE]
    front = lines[:start] + [
        section[0], "",
        f"Exercises with their checkers, the teacher's edition (these pages) and the "
        f"student edition: see [{title}](teachers.md).", ""] + lines[end:]
    return "\n".join(front) + "\n", "\n".join(teachers) + "\n"


def _toctree(caption: str, entries: list[str]) -> str:
    return "\n".join(["", "```{toctree}", ":hidden:", f":caption: {caption}", "",
                      *entries, "```", ""])


def _conf(root: Path, title: str) -> dict:
    """Sphinx's settings, written into the source folder as its ``conf.py``."""
    return {
        "project": title,
        "html_title": title,
        "author": "the course's authors",
        "copyright": "the course's authors (MIT licence)",
        "extensions": ["myst_nb", "vit_tutorial.site"],
        "vit_site_root": str(root),
        "language": "en",
        "exclude_patterns": ["_build", "_static", "_course", ".venv", "**.ipynb_checkpoints"],
        "myst_enable_extensions": ["dollarmath", "amsmath", "html_image"],
        "myst_heading_anchors": 3,  # the README's #section links
        "nb_execution_mode": "off",  # the lessons are committed executed
        # An explorer's output holds a widget view (no saved state: nothing to show on a
        # static page) and its still picture; show the picture.
        "nb_mime_priority_overrides": [
            ["html", "application/vnd.jupyter.widget-view+json", None],
            ["html", "application/vnd.jupyter.widget-state+json", None]],
        "mathjax_path": f"{MATHJAX_DIR.removeprefix('_static/')}/{MATHJAX_SCRIPT}",
        "html_theme": "sphinx_book_theme",
        "html_static_path": ["_static"],
        "html_css_files": [CSS_FILE],
        "html_baseurl": site_url(),
        "html_sourcelink_suffix": "",  # "Download .ipynb" gives the notebook itself
        "html_context": {"default_mode": "auto"},  # light or dark, as the reader's system
        "html_theme_options": {
            "repository_url": f"https://github.com/{REPOSITORY}",
            "repository_branch": BRANCH,
            "path_to_docs": "",  # notebooks/NAME.ipynb on the site is notebooks/ in the repo
            "use_repository_button": True,
            "use_download_button": True,
            "launch_buttons": {"colab_url": "https://colab.research.google.com"},
            "home_page_in_toc": True,
            "show_toc_level": 2,
            "navigation_with_keys": False,
            # One search box (the sidebar's): no second one in a header bar.
            "navbar_persistent": [],
        },
    }


def write_sources(root: Path, source: Path) -> None:
    """Write the Sphinx source folder for the repository at ``root`` into ``source``."""
    root, source = Path(root).resolve(), Path(source)
    readme = root / "README.md"
    if not readme.is_file():
        raise SystemExit(f"no README.md in {root}: run this from the repository's root "
                         f"(or pass --root)")
    front, teachers = split_readme(readme.read_text(encoding="utf-8"))
    title = next((line[2:].strip() for line in front.splitlines() if line.startswith("# ")),
                 REPOSITORY)
    lessons = []
    (source / "notebooks").mkdir(parents=True)
    for lesson in LESSONS:
        notebook = root / "notebooks" / f"{lesson.name}.ipynb"
        if not notebook.is_file():
            raise SystemExit(f"lesson {lesson.name} is listed in vit_tutorial/course.py "
                             f"(LESSONS) but {notebook} does not exist")
        shutil.copyfile(notebook, source / "notebooks" / notebook.name)
        lessons.append(f"notebooks/{lesson.name}")
    front += _toctree("Lessons", lessons) + _toctree("For teachers", ["teachers"])
    (source / "index.md").write_text(front, encoding="utf-8")
    (source / "teachers.md").write_text(teachers, encoding="utf-8")
    if (root / "images").is_dir():
        shutil.copytree(root / "images", source / "images")
    es5 = _mathjax_es5()
    mathjax = source / MATHJAX_DIR
    mathjax.mkdir(parents=True)
    shutil.copyfile(es5 / MATHJAX_SCRIPT, mathjax / MATHJAX_SCRIPT)
    shutil.copytree(es5 / MATHJAX_FONTS, mathjax / MATHJAX_FONTS)
    licence = es5.parent / "LICENSE"
    if licence.is_file():
        shutil.copyfile(licence, mathjax / "LICENSE")
    (source / "_static" / CSS_FILE).write_text(CSS, encoding="utf-8")
    (source / BADGE_FILE).parent.mkdir(parents=True)
    (source / BADGE_FILE).write_text(BADGE_SVG, encoding="utf-8")
    settings = _conf(root, title)
    conf = ["# Written by `python -m vit_tutorial.site`; rebuilt on every run.", ""]
    conf += [f"{key} = {pprint.pformat(value, width=92, sort_dicts=False)}"
             for key, value in settings.items()]
    (source / "conf.py").write_text("\n".join(conf) + "\n", encoding="utf-8")


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
        SystemExit: if a lesson or the README's teachers' section is missing, MathJax is not
            installed, ``output`` holds something else, or Sphinx reports any warning.
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
                             f"above. In them, index.md is README.md, teachers.md is its "
                             f"section {TEACHERS_HEADING[3:]!r}, and notebooks/ are the "
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


# ---------------------------------------------------------------------------------------
# The Sphinx extension (``extensions = [..., "vit_tutorial.site"]`` in the written conf.py)


def _local_badges(app, doctree) -> None:
    """Show the site's own badge picture where a page has the remote Colab badge."""
    from docutils import nodes

    for image in doctree.findall(nodes.image):
        if image["uri"] == COLAB_BADGE:
            image["uri"] = f"/{BADGE_FILE}"  # "/..." = from the source folder's root
            image["classes"].append("colab-badge")


def _repository_link(root: Path, xref, docname: str):
    """A link to GitHub for a MyST link to a repository file that is not on the site
    (``tests/…``, ``.ci/run``, a folder), or None to let MyST resolve (or report) it."""
    from docutils import nodes

    if xref.get("reftype") != "myst" or xref.get("refdomain"):
        return None
    path, _, anchor = xref["reftarget"].partition("#")
    if not path or "://" in path or path.startswith("/"):
        return None
    repo_path = posixpath.normpath(posixpath.join(posixpath.dirname(docname), path))
    if repo_path.startswith("..") or not (root / repo_path).exists():
        return None
    kind = "tree" if (root / repo_path).is_dir() else "blob"
    url = f"https://github.com/{REPOSITORY}/{kind}/{BRANCH}/{repo_path}"
    link = nodes.reference("", "", refuri=url + (f"#{anchor}" if anchor else ""))
    link += xref.children
    return link


def setup(app) -> dict:
    """Sphinx extension: local Colab badges and GitHub links to files off the site."""
    from sphinx import addnodes
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class RepositoryLinks(SphinxPostTransform):
        default_priority = 8  # before MyST's resolver (9) reports the link as missing

        def run(self, **kwargs) -> None:
            root = Path(self.config.vit_site_root)
            for xref in list(self.document.findall(addnodes.pending_xref)):
                link = _repository_link(root, xref, xref.get("refdoc", self.env.docname))
                if link is not None:
                    xref.replace_self(link)

    app.add_config_value("vit_site_root", "", "env")
    # Before Sphinx's image collector (priority 500) reads the pictures a page needs.
    app.connect("doctree-read", _local_badges, priority=400)
    app.add_post_transform(RepositoryLinks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


@interruptible
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vit_tutorial.site",
        description="Build the course's website (the README and every executed lesson) "
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


if __name__ == "__main__":
    raise SystemExit(main())
