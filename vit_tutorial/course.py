"""The course's table of contents and its one GitHub address.

Everything that links to the repository — the README's lesson table, each notebook's
"Open in Colab" badge and its Colab setup cell — is generated from ``REPOSITORY`` and
``BRANCH`` below, so a fork changes one line and runs::

    python -m vit_tutorial.course --write

Without ``--write`` the command only checks and lists what is out of date (the test suite
runs that check).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["REPOSITORY", "BRANCH", "LESSONS", "Lesson", "colab_url", "badge_markdown",
           "setup_cell_source", "lesson_table"]

REPOSITORY = "vit-step-by-step/vit-tutorial"  # GitHub "owner/name": the one place it lives
BRANCH = "main"

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


@dataclass(frozen=True)
class Lesson:
    """One lesson: a notebook in ``notebooks/`` and the module it builds."""

    name: str  # notebook file name without .ipynb
    title: str
    learn: str  # what you learn, one line for the README
    minutes: int  # time to read and run it


LESSONS = (
    Lesson("01_patches", "Patches",
           "cut a photo into N = HW/P² flattened patches, x ∈ ℝ^{H×W×C} → x_p ∈ ℝ^{N×(P²·C)}", 15),
    Lesson("02_patch_embeddings", "Patch embeddings",
           "Eq. 1's projection x_p E as flatten + Linear and as Conv2d — the same function; "
           "what the paper's *hybrid* model really is", 20),
    Lesson("03_class_token", "The class token",
           "prepend the learnable x_class: (196, 768) → (197, 768); expand vs repeat; "
           "its gradient and initialisation", 15),
    Lesson("04_positional_embeddings", "Position embeddings",
           "why E_pos exists (shuffle the patches: without it nothing changes); learned 1-D vs "
           "2-D sine–cosine; Table 8's ablation measured in miniature", 20),
    Lesson("05_position_similarity", "What the position embeddings learn",
           "Figure 7 (centre) reproduced on a ViT trained on real digits: neighbouring "
           "patches get similar embeddings, shown as a picture and a score", 15),
    Lesson("06_interpolation", "Interpolating position embeddings",
           "Sec. 3.2: resize E_pos for a new resolution (7×7 → 14×14, 197 → 577 tokens); why "
           "torchvision, timm and the original code disagree; the measured payoff", 20),
    Lesson("07_vision_transformer", "The whole Vision Transformer",
           "the pre-norm encoder (Eq. 2–4); our ViT-B/16 loads torchvision's and timm's weights "
           "and gives their logits; Figure 7, all three panels", 30),
)


def colab_url(lesson: str) -> str:
    """The address that opens a lesson's notebook in Colab."""
    return (f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/"
            f"notebooks/{lesson}.ipynb")


def badge_markdown(lesson: str) -> str:
    """The "Open in Colab" badge, as Markdown."""
    return f"[![Open In Colab]({COLAB_BADGE})]({colab_url(lesson)})"


def setup_cell_source() -> str:
    """The first code cell of every lesson: install the package on Colab, nothing locally."""
    return (
        "# Setup. On Colab this installs the course's package; torch, torchvision, matplotlib\n"
        "# and ipywidgets are already there and are not upgraded. Locally it does nothing.\n"
        "import sys\n"
        "\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install --quiet "vit-tutorial @ git+https://github.com/{REPOSITORY}@{BRANCH}"'
    )


def lesson_table() -> str:
    """The README's table of lessons, as Markdown."""
    rows = ["| # | lesson | what you learn | open | minutes |",
            "|---|---|---|---|---|"]
    for lesson in LESSONS:
        number = lesson.name.split("_")[0]
        rows.append(f"| {number} | [{lesson.title}](notebooks/{lesson.name}.ipynb) | "
                    f"{lesson.learn} | {badge_markdown(lesson.name)} | {lesson.minutes} |")
    return "\n".join(rows)


TABLE_START, TABLE_END = "<!-- lessons:start -->", "<!-- lessons:end -->"


def _sync_readme(text: str) -> str:
    head, sep, rest = text.partition(TABLE_START)
    _, sep2, tail = rest.partition(TABLE_END)
    if not sep or not sep2:
        raise ValueError(f"README.md must contain {TABLE_START} and {TABLE_END} around the "
                         f"lesson table")
    return f"{head}{TABLE_START}\n{lesson_table()}\n{TABLE_END}{tail}"


def _sync_notebook(nb: dict, lesson: str) -> dict:
    """Cell 0 is the badge (Markdown); the first code cell is the setup cell."""
    cells = nb["cells"]
    if not cells or cells[0]["cell_type"] != "markdown":
        raise ValueError(f"{lesson}: the first cell must be the Markdown badge cell")
    cells[0]["source"] = badge_markdown(lesson)
    code = next((c for c in cells if c["cell_type"] == "code"), None)
    if code is None:
        raise ValueError(f"{lesson}: no code cell to hold the setup code")
    code["source"] = setup_cell_source()
    return nb


def _source(cell: dict) -> str:
    src = cell["source"]
    return "".join(src) if isinstance(src, list) else src


def out_of_date(root: Path) -> list[str]:
    """Files under ``root`` whose generated parts disagree with ``REPOSITORY``/``LESSONS``."""
    stale = []
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if _sync_readme(text) != text:
        stale.append("README.md")
    names = sorted(p.stem for p in (root / "notebooks").glob("*.ipynb"))
    if names != sorted(lesson.name for lesson in LESSONS):
        stale.append(f"notebooks/ holds {names}, LESSONS lists {[x.name for x in LESSONS]}")
    for lesson in LESSONS:
        path = root / "notebooks" / f"{lesson.name}.ipynb"
        if not path.exists():
            continue
        nb = json.loads(path.read_text(encoding="utf-8"))
        before = [_source(c) for c in nb["cells"]]
        after = [_source(c) for c in _sync_notebook(nb, lesson.name)["cells"]]
        if before != after:
            stale.append(str(path.relative_to(root)))
    return stale


def write(root: Path) -> None:
    """Regenerate the README table, badges and setup cells in place."""
    readme = root / "README.md"
    readme.write_text(_sync_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")
    for lesson in LESSONS:
        path = root / "notebooks" / f"{lesson.name}.ipynb"
        if path.exists():
            import nbformat  # installed with Jupyter; only this developer command needs it

            nb = nbformat.read(path, as_version=4)
            nbformat.write(_sync_notebook(nb, lesson.name), path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vit_tutorial.course",
        description="Check (or, with --write, regenerate) the README's lesson table and the "
                    "notebooks' Colab badges and setup cells from REPOSITORY and LESSONS.")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the repository root")
    parser.add_argument("--write", action="store_true", help="rewrite the files in place")
    args = parser.parse_args(argv)
    if args.write:
        write(args.root)
    stale = out_of_date(args.root)
    for item in stale:
        print(f"out of date: {item}", file=sys.stderr)
    if stale:
        print("run `python -m vit_tutorial.course --write` to regenerate", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
