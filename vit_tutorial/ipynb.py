"""Lesson notebooks as JSON: what the course's tools read in them, in one place.

A notebook here is the plain dict ``json.load`` gives (nbformat's ``NotebookNode`` is one
too). The course's generators, checks and commands — the cards and the lesson time
(:mod:`vit_tutorial.course`, :mod:`vit_tutorial.lesson_time`), the editions, the classroom
commands, the website, and the output checks of :mod:`vit_tutorial.files` — read a cell's
source, an exercise's tag and nbgrader's solution markers through these helpers, and
recognise a folder of lessons with :func:`lesson_edition`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

__all__ = ["EXERCISE_TAG", "BEGIN_SOLUTION", "END_SOLUTION", "HIDDEN_TESTS", "MARKERS",
           "CLASSROOM_BANNER", "cell_source", "cell_tags", "read_notebook", "notebook_text",
           "edition_of", "lesson_edition"]

EXERCISE_TAG = "exercise"  # the cell tag that marks a cell as part of an exercise
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"  # as ClearSolutions matches them
HIDDEN_TESTS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")  # nbgrader's, for teachers' tests
MARKERS = (BEGIN_SOLUTION, END_SOLUTION, *HIDDEN_TESTS)
#: How the first cell of a class's notebooks starts (``classroom student``, nbgrader's
#: release), in place of the badge line: a class set is no lesson edition, and its folder
#: may be written again.
CLASSROOM_BANNER = "**Classroom edition**"


def cell_source(cell: dict) -> str:
    """A cell's source as one string (a notebook stores it as a string or a list of lines)."""
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    return "".join(source) if isinstance(source, list) else str(source)


def cell_tags(cell: dict) -> list[str]:
    """A cell's tags (``metadata.tags``), empty if it has none."""
    metadata = cell.get("metadata", {}) if isinstance(cell, dict) else {}
    tags = metadata.get("tags", []) if isinstance(metadata, dict) else []
    return tags if isinstance(tags, list) else []


def read_notebook(path: str | os.PathLike) -> dict:
    """A notebook file as a dict (UTF-8 JSON)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def notebook_text(nb: dict) -> str:
    """A notebook as nbformat writes it (sorted keys, one-space indent, UTF-8 kept)."""
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def edition_of(nb: object) -> str | None:
    """Which lesson edition a notebook belongs to: ``"solutions"`` if a cell holds nbgrader's
    solution marker (the teachers' edition), ``"exercises"`` if it has the course's badge line
    (the generated first cell, ``metadata.vit_tutorial == "badge"``) and no marker — the
    learners' edition — and ``None`` for anything else: a class's notebooks (their badge
    line became the classroom banner) and notebooks that are not lessons."""
    cells = nb.get("cells") if isinstance(nb, dict) else None
    found = None
    for cell in cells if isinstance(cells, list) else []:
        source = cell_source(cell)
        if BEGIN_SOLUTION in source:
            return "solutions"
        metadata = cell.get("metadata") if isinstance(cell, dict) else None
        if isinstance(metadata, dict) and metadata.get("vit_tutorial") == "badge" \
                and not source.startswith(CLASSROOM_BANNER):
            found = "exercises"
    return found


def lesson_edition(folder: str | os.PathLike) -> tuple[str, Path] | None:
    """The lesson edition ``folder`` holds, and a notebook that shows it: ``(edition,
    path)`` for the first notebook directly in ``folder`` that :func:`edition_of` names,
    ``None`` if there is none (or ``folder`` is not a folder). Unreadable files are skipped:
    they are no lessons."""
    folder = Path(folder)
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.ipynb")):
        try:
            edition = edition_of(read_notebook(path))
        except (OSError, ValueError):
            continue
        if edition is not None:
            return edition, path
    return None
