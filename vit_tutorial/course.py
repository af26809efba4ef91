"""The course's generated parts, and its one GitHub address.

The lessons are written once, with their solutions, in ``solutions/`` (the teacher's
edition, the source); ``python -m vit_tutorial.editions --write`` makes the learner's
edition in ``notebooks/`` from it (the exercises without their answers). Everything that
links to the repository or describes a lesson — the README's tables (lessons, goals, points,
the package's import block), each notebook's badge line, its lesson card with the measured
minutes, its Colab setup cell and its pipeline picture with its alt text — is generated here
from ``REPOSITORY``, ``BRANCH`` and the lesson registry
(:data:`vit_tutorial.lessons.LESSONS`)::

    python -m vit_tutorial.course --write

Without ``--write`` the command only checks (the test suite runs that check).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vit_tutorial import ipynb, lesson_time
from vit_tutorial import lessons as registry
from vit_tutorial.diagram import pipeline_alt
from vit_tutorial.files import atomic_write, interruptible
from vit_tutorial.names import moved

__all__ = ["REPOSITORY", "BRANCH", "colab_url", "badge_markdown", "classroom_banner",
           "setup_cell_source", "pipeline_cell_source", "lesson_card", "lesson_table",
           "goals_table", "points_table", "api_block", "find_root", "out_of_date", "write",
           "sync_notebook", "lesson_minutes", "github_url"]

REPOSITORY = "vit-step-by-step/vit-tutorial"  # GitHub "owner/name": the one place it lives
BRANCH = "main"
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"

__getattr__ = moved(__name__, {
    **{name: f"vit_tutorial.lessons.{name}" for name in ("LESSONS", "Lesson", "EDITIONS",
                                                         "SOURCE")},
    "exercise_points": "vit_tutorial.lessons.lesson_named(name).points",
    "notebook_text": "vit_tutorial.ipynb.notebook_text",
    "measure": "vit_tutorial.lesson_time.measure",
    "Minutes": "vit_tutorial.lesson_time.Minutes",
})

# --- the generated cells -------------------------------------------------------------------


def colab_url(lesson: str, edition: str = registry.EXERCISES) -> str:
    """The address that opens a lesson's notebook, in ``edition``'s folder, in Colab."""
    _check_edition(edition)
    return (f"https://colab.research.google.com/github/{REPOSITORY}/blob/{BRANCH}/"
            f"{edition}/{lesson}.ipynb")


def github_url(lesson: str, edition: str = registry.EXERCISES) -> str:
    _check_edition(edition)
    return f"https://github.com/{REPOSITORY}/blob/{BRANCH}/{edition}/{lesson}.ipynb"


def _check_edition(edition: str) -> None:
    if edition not in registry.EDITIONS:
        raise ValueError(f"edition must be one of {', '.join(map(repr, registry.EDITIONS))}, "
                         f"got {edition!r}")


def badge_markdown(lesson: str, edition: str = registry.EXERCISES) -> str:
    """The first cell: the "Open in Colab" badge, and a link to the other edition."""
    badge = f"[![Open In Colab]({COLAB_BADGE})]({colab_url(lesson, edition)})"
    if edition == registry.EXERCISES:
        return (f"{badge} · Stuck, or done? The same lesson with the answers: "
                f"[solutions edition]({github_url(lesson, registry.SOURCE)})")
    return (f"{badge} · **Solutions edition** (for teachers, and for checking your work): "
            f"every exercise is answered. Try them first in the "
            f"[exercises edition]({github_url(lesson, registry.EXERCISES)})")


def classroom_banner(lesson: str) -> str:
    """The first cell of what a class receives (``classroom student``, nbgrader's release):
    no link to either edition, since the exercises edition links to the solutions."""
    found = next((x for x in registry.LESSONS if x.name == lesson), None)
    title = f"lesson {found.number:02d} of " if found else "a lesson of "
    return (f"{ipynb.CLASSROOM_BANNER} — {title}*ViT, step by step*. Every exercise waits for "
            f"your answer where a cell says `# YOUR CODE HERE`; run it, and its checker says "
            f"what is right and what is not. Your teacher has the answers.")


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


def pipeline_cell_source(lesson: registry.Lesson) -> str:
    """The second code cell: the course's pipeline picture, this lesson's step highlighted
    (its alt text, :func:`vit_tutorial.diagram.pipeline_alt`, goes in the cell's metadata)."""
    return ("# Where this lesson sits in the pipeline (ViT-B/16, the paper's Figure 1)\n"
            "from vit_tutorial.diagram import show_pipeline\n"
            "\n"
            f"show_pipeline({lesson.number})")


def lesson_card(lesson: registry.Lesson, minutes: lesson_time.Minutes) -> str:
    """The lesson card under the title: time, what it assumes, what you can do after it, and
    what its exercises are worth in a graded class (the registry's points)."""
    optional = (f", plus {minutes.optional} optional (*Going deeper*)"
                if minutes.optional else "")
    points = lesson.points
    return (f"> **About {minutes.total} minutes** ({minutes.main} reading and running, "
            f"{minutes.exercises} exercises{optional}). "
            f"**You need:** {lesson.assumes}. "
            f"**After it you can** {lesson.outcome}. "
            f"**Exercises:** {len(points)}, worth {sum(points.values())} points in a graded "
            f"class.")


# --- the README's generated parts -----------------------------------------------------------

def lesson_table(minutes: dict[str, lesson_time.Minutes]) -> str:
    """The README's table of lessons, as Markdown."""
    rows = ["| # | lesson | what you learn | open | minutes |",
            "|---|---|---|---|---|"]
    for lesson in registry.LESSONS:
        m = minutes.get(lesson.name)
        time = "?" if m is None else f"{m.total}" + (f" (+{m.optional})" if m.optional else "")
        rows.append(
            f"| {lesson.number:02d} | [{lesson.title}]({registry.EXERCISES}/{lesson.name}.ipynb)"
            f" | {lesson.learn} | [![Open In Colab]({COLAB_BADGE})]({colab_url(lesson.name)}) · "
            f"[solutions]({registry.SOURCE}/{lesson.name}.ipynb) | {time} |")
    return "\n".join(rows)


def goals_table() -> str:
    """The README's table of what each lesson assumes and what it teaches, as Markdown."""
    rows = ["| lesson | you need | after it you can |", "|---|---|---|"]
    rows += [f"| {lesson.number:02d} | {lesson.assumes} | {lesson.outcome} |"
             for lesson in registry.LESSONS]
    return "\n".join(rows)


def points_table() -> str:
    """What each exercise is worth, lesson by lesson, as a Markdown table (the README's)."""
    rows = ["| lesson | exercises (points) | points |", "|---|---|---|"]
    for lesson in registry.LESSONS:
        items = ", ".join(f"`{name.removeprefix('check_')}` ({value})"
                          for name, value in lesson.exercises)
        rows.append(f"| {lesson.number:02d} · {lesson.title} | {items} | "
                    f"{sum(lesson.points.values())} |")
    total = sum(sum(lesson.points.values()) for lesson in registry.LESSONS)
    return "\n".join([*rows, f"| all | | {total} |"])


def api_block() -> str:
    """The README's import block: each lesson's public names (the registry's ``api``)."""
    lines = [(f"from vit_tutorial.{module} import {', '.join(names)}", lesson.number)
             for lesson in registry.LESSONS for module, names in lesson.api]
    width = max(len(line) for line, _ in lines) + 2
    return "\n".join(["```python", *(f"{line:<{width}}# {number:02d}" for line, number in lines),
                      "```"])


# Marker pairs in the README -> what goes between them.
_README_PARTS = {"lessons": lambda minutes: lesson_table(minutes),
                 "goals": lambda minutes: goals_table(),
                 "points": lambda minutes: points_table(),
                 "api": lambda minutes: api_block()}


def _replace_between(text: str, name: str, content: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    head, sep, rest = text.partition(start)
    _, sep2, tail = rest.partition(end)
    if not sep or not sep2:
        raise ValueError(f"README.md must contain {start} and {end} around a generated part")
    return f"{head}{start}\n{content}\n{end}{tail}"


def _sync_readme(text: str, minutes: dict[str, lesson_time.Minutes]) -> str:
    for name, make in _README_PARTS.items():
        text = _replace_between(text, name, make(minutes))
    return text


# --- keeping the notebooks in step ----------------------------------------------------------

GENERATED = ("badge", "card", "setup", "pipeline")  # cell metadata "vit_tutorial": one of these


def _cell(kind: str, cell_type: str, source: str, **metadata) -> dict:
    cell = {"cell_type": cell_type, "id": f"vit-{kind}",
            "metadata": {**metadata, "vit_tutorial": kind}, "source": source}
    if cell_type == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def _generated(lesson: registry.Lesson, edition: str, minutes: lesson_time.Minutes
               ) -> dict[str, dict]:
    alt = {"mystnb": {"image": {"alt": pipeline_alt(lesson.number)}}}
    return {"badge": _cell("badge", "markdown", badge_markdown(lesson.name, edition)),
            "card": _cell("card", "markdown", lesson_card(lesson, minutes)),
            "setup": _cell("setup", "code", setup_cell_source()),
            "pipeline": _cell("pipeline", "code", pipeline_cell_source(lesson), **alt)}


def sync_notebook(nb: dict, lesson: registry.Lesson, edition: str,
                  minutes: lesson_time.Minutes) -> dict:
    """The badge, title, card, setup and pipeline cells at the top, in that order; a
    generated cell keeps its outputs when its source is unchanged, and gets its metadata
    (the pipeline picture's alt text) anew."""
    wanted = _generated(lesson, edition, minutes)
    cells = nb["cells"]
    old = {c["metadata"]["vit_tutorial"]: c for c in cells if "vit_tutorial" in c["metadata"]}
    rest = [c for c in cells if "vit_tutorial" not in c["metadata"]]
    if not rest or rest[0]["cell_type"] != "markdown" or \
            not ipynb.cell_source(rest[0]).startswith("# "):
        raise ValueError(f"{edition}/{lesson.name}: the first hand-written cell must be the "
                         f"Markdown title cell ('# {lesson.number:02d} · {lesson.title}')")
    top = []
    for kind in GENERATED:
        cell = wanted[kind]
        previous = old.get(kind)
        if previous is not None and ipynb.cell_source(previous) == ipynb.cell_source(cell):
            previous["metadata"] = cell["metadata"]  # kept: its outputs and execution count
            cell = previous
        top.append(cell)
        if kind == "badge":
            top.append(rest[0])  # the title comes right under the badge line
    nb["cells"] = top + rest[1:]
    return nb


def lesson_minutes(root: Path) -> dict[str, lesson_time.Minutes]:
    """Each lesson's measured minutes, from its source notebook (the solutions edition)."""
    minutes = {}
    for lesson in registry.LESSONS:
        path = root / registry.SOURCE / f"{lesson.name}.ipynb"
        if path.exists():
            minutes[lesson.name] = lesson_time.measure(ipynb.read_notebook(path))
    return minutes


def _cells(nb: dict) -> list[tuple[str, str, object]]:
    return [(c["cell_type"], ipynb.cell_source(c), c["metadata"].get("mystnb"))
            for c in nb["cells"]]


def out_of_date(root: Path) -> list[str]:
    """Files under ``root`` whose generated parts disagree with ``REPOSITORY`` and the
    lesson registry."""
    root = Path(root)
    stale = []
    minutes = lesson_minutes(root)
    readme = root / "README.md"
    text = readme.read_text(encoding="utf-8")
    if _sync_readme(text, minutes) != text:
        stale.append("README.md")
    names = [lesson.name for lesson in registry.LESSONS]
    for edition in registry.EDITIONS:
        found = sorted(p.stem for p in (root / edition).glob("*.ipynb"))
        if found != sorted(names):
            stale.append(f"{edition}/ holds {found}, the registry lists {names}")
        for lesson in registry.LESSONS:
            path = root / edition / f"{lesson.name}.ipynb"
            if lesson.name not in minutes or not path.exists():
                continue
            nb = ipynb.read_notebook(path)
            before = _cells(nb)
            if _cells(sync_notebook(nb, lesson, edition, minutes[lesson.name])) != before:
                stale.append(str(path.relative_to(root)))
    return stale


def write(root: Path) -> None:
    """Regenerate the README's parts and the notebooks' generated cells in place."""
    root = Path(root)
    minutes = lesson_minutes(root)
    readme = root / "README.md"
    atomic_write(readme, _sync_readme(readme.read_text(encoding="utf-8"), minutes), force=True)
    for edition in registry.EDITIONS:
        for lesson in registry.LESSONS:
            path = root / edition / f"{lesson.name}.ipynb"
            if path.exists() and lesson.name in minutes:
                nb = sync_notebook(ipynb.read_notebook(path), lesson, edition,
                                   minutes[lesson.name])
                atomic_write(path, ipynb.notebook_text(nb), force=True)


def find_root(root: Path | None = None) -> Path:
    """The repository: ``root`` if given, else the checkout this package was installed from
    (editable install), else the current folder — whichever holds the lessons."""
    candidates = [Path(root)] if root is not None else [Path(__file__).resolve().parents[1],
                                                       Path.cwd()]
    for candidate in candidates:
        if (candidate / "README.md").is_file() and (candidate / registry.SOURCE).is_dir():
            return candidate
    where = " or ".join(str(c) for c in candidates)
    raise FileNotFoundError(f"no course repository at {where} (a README.md and a "
                            f"{registry.SOURCE}/ folder); run this from a clone of the course, "
                            f"or pass --root")


@interruptible
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vit_tutorial.course",
        description="Check (or, with --write, regenerate) the README's generated parts and "
                    "the notebooks' badge, card, setup and pipeline cells from REPOSITORY and "
                    "the lesson registry.")
    parser.add_argument("--root", type=Path, default=None,
                        help="the repository root (default: the checkout of this package)")
    parser.add_argument("--write", action="store_true", help="rewrite the files in place")
    args = parser.parse_args(argv)
    try:
        root = find_root(args.root)
    except FileNotFoundError as error:
        parser.error(str(error))
    if args.write:
        write(root)
    stale = out_of_date(root)
    for item in stale:
        print(f"out of date: {item}", file=sys.stderr)
    if stale:
        print("run `python -m vit_tutorial.course --write` to regenerate", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
