r"""A ready nbgrader course made from the solutions edition: ``classroom nbgrader DIR``.

It writes ``DIR/nbgrader_config.py`` and ``DIR/source/<lesson>/<lesson>.ipynb``, after
which nbgrader's own commands work in ``DIR`` as documented (``generate_assignment``,
``release_assignment``, ``collect``, ``autograde``, ``generate_feedback``, ``export``). Each
exercise cell of a lesson (:mod:`vit_tutorial.classroom.cells`) becomes two nbgrader cells:

- the **answer cell** (``solution: true``, grade id ``<lesson>-<exercise>``, e.g.
  ``01_patches-image_to_patches``): the cell without its checker line; the release holds
  nbgrader's stub in place of the solution;
- a **test cell** after it (``grade: true``, locked, grade id ``<lesson>-<exercise>-test``),
  worth the exercise's points in the lesson registry (:mod:`vit_tutorial.lessons`): it imports the
  checker afresh and asserts its verdict (a failed check is falsy), so the checker's words
  print for the student and the cell scores all its points or none.

Every other cell, outputs included, stays as it is; the release keeps them
(:mod:`vit_tutorial.classroom.release`).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from vit_tutorial.classroom.cells import (
    CheckerCall,
    ClassroomError,
    checker_calls,
    solution_regions,
)
from vit_tutorial.classroom.places import (
    check_destination,
    lesson_files,
    refuse_existing,
    write_files,
)
from vit_tutorial.classroom.student import read_notebook, with_classroom_banner
from vit_tutorial.course import find_root
from vit_tutorial.ipynb import cell_source
from vit_tutorial.lessons import LESSONS, SOURCE

__all__ = ["COURSE_ID", "CELL_TIMEOUT", "nbgrader_source", "config_text", "select_lessons",
           "write_nbgrader_course"]

COURSE_ID = "vit-step-by-step"  # nbgrader's course id (the exchange's folder), changeable
# autograde's limit for one cell, in seconds (nbgrader's default is 30): a lesson's slowest
# cell takes about 15 s on the course's 2-core machine, and a checker stops an answer after
# 10 s on its own.
CELL_TIMEOUT = 120
_SCHEMA = 3  # nbgrader's cell metadata schema


def _checker_module(checker: str) -> tuple[str, int]:
    """The exercise module that holds ``checker``, and its points."""
    for lesson in LESSONS:
        if checker in lesson.points:
            return lesson.module, lesson.points[checker]
    raise ClassroomError(f"{checker} is not a checker of the lesson registry "
                         f"(vit_tutorial.lessons), so it has no points; declare it in its "
                         f"lesson's exercises with its points")


def _defined_function(source: str) -> str | None:
    for line in source.split("\n"):
        if line.startswith("def ") and "(" in line:
            return line[4:line.index("(")].strip().removeprefix("my_")
    return None


def _answer_cell(cell: NotebookNode, source: str, grade_id: str) -> NotebookNode:
    answer = copy.deepcopy(cell)
    answer.source = source
    answer.outputs, answer.execution_count = [], None
    answer.metadata["nbgrader"] = {"grade": False, "grade_id": grade_id, "locked": False,
                                   "schema_version": _SCHEMA, "solution": True}
    return answer


def _test_cell(call: CheckerCall, grade_id: str) -> NotebookNode:
    module, points = _checker_module(call.checker)
    source = (f"# Run this cell after yours: the checker tests your `{call.answer}` (graded, "
              f"{points} point{'s' if points != 1 else ''}; this cell is locked).\n"
              f"from vit_tutorial.exercises.{module} import {call.checker}\n\n"
              f"assert {call.checker}({call.answer}), (\n"
              f"    \"{call.exercise} is not right yet: the checker's words above say why\")")
    cell = nbformat.v4.new_code_cell(source, metadata={"nbgrader": {
        "grade": True, "grade_id": grade_id, "locked": True, "points": points,
        "schema_version": _SCHEMA, "solution": False}})
    cell.id = grade_id[-64:]  # stable, unique (as the grade id is); nbformat allows 64
    return cell


def _exercise_cells(cell: NotebookNode, index: int, lesson: str) -> list[NotebookNode]:
    """A lesson's code cell as nbgrader cells: an answer cell if it holds a solution, a
    test cell for each checker line."""
    where = f"{lesson}, cell {index}: "
    regions = solution_regions(cell, where=where)
    calls = checker_calls(cell)
    if not regions and not calls:
        return [cell]
    skip = {call.line for call in calls}
    lines = cell_source(cell).split("\n")
    rest = "\n".join(line for number, line in enumerate(lines) if number not in skip).rstrip()
    cells = []
    if regions:
        name = calls[0].exercise if len(calls) == 1 else (
            _defined_function(rest) or f"cell{index}")
        cells.append(_answer_cell(cell, rest, f"{lesson}-{name}"))
    elif rest.strip():
        plain = copy.deepcopy(cell)
        plain.source, plain.outputs, plain.execution_count = rest, [], None
        cells.append(plain)
    return cells + [_test_cell(call, f"{lesson}-{call.exercise}-test") for call in calls]


def nbgrader_source(teacher: NotebookNode, lesson: str) -> NotebookNode:
    """A lesson of the solutions edition as the source of an nbgrader assignment (the input
    is not changed): the classroom banner first, each exercise as an answer cell and a test
    cell with its points, the exercises' outputs cleared, every other cell as it was.

    Raises:
        ClassroomError: markers that don't pair up, a solution in a Markdown cell, a checker
            without points, or two exercises with one grade id.
    """
    nb = with_classroom_banner(copy.deepcopy(teacher), lesson)
    cells = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            if solution_regions(cell, where=f"{lesson}, cell {index}: "):
                raise ClassroomError(f"{lesson}, cell {index}: a solution in a Markdown cell; "
                                     f"the course's exercises are code that a checker grades "
                                     f"(write it as a function returning the answer)")
            cells.append(cell)
            continue
        cells += _exercise_cells(cell, index, lesson)
    ids = [c.metadata["nbgrader"]["grade_id"] for c in cells if "nbgrader" in c.metadata]
    twice = sorted({grade_id for grade_id in ids if ids.count(grade_id) > 1})
    if twice:
        raise ClassroomError(f"{lesson}: two exercises share the grade id {twice[0]!r}; give "
                             f"each exercise its own checker")
    nb.cells = cells
    return nb


def config_text(exchange: str | None = None) -> str:
    """The ``nbgrader_config.py`` of a course made from the lessons."""
    where = (f"c.Exchange.root = {exchange!r}" if exchange else
             '# c.Exchange.root = "/srv/nbgrader/exchange"  # nbgrader\'s default')
    return f'''\
# nbgrader's settings for a class taught with the lessons of "ViT, step by step", written by
# `python -m vit_tutorial.classroom nbgrader`. Run nbgrader's commands in this folder with the
# course's virtual environment active (nbgrader runs `jupyter` and `alembic` from PATH).
from vit_tutorial.classroom.release import release_preprocessors

c = get_config()  # noqa: F821 (nbgrader defines it)

# Your course's name in nbgrader's exchange (release_assignment, fetch, submit, collect).
c.CourseDirectory.course_id = "{COURSE_ID}"

# Keep each lesson's figures and printed results in the release: only the exercises' cells
# are cleared (nbgrader's own ClearOutput would clear every output of the lesson).
c.GenerateAssignment.preprocessors = release_preprocessors()

# autograde runs each lesson top to bottom; its slowest cells take about 15 s on a 2-core
# CPU (nbgrader's default limit is 30 s a cell).
c.Execute.timeout = {CELL_TIMEOUT}

# Where release_assignment puts assignments and collect finds submissions: a folder every
# student can reach (a JupyterHub set up for nbgrader has nbgrader's default).
{where}
'''


def select_lessons(notebooks: list[Path], wanted: Iterable[str]) -> list[Path]:
    """The lessons named in ``wanted`` (file stem like ``01_patches``, or number like ``1``),
    in course order; all if ``wanted`` is empty."""
    wanted = list(wanted)
    if not wanted:
        return notebooks
    chosen = set()
    for name in wanted:
        name = name.removesuffix(".ipynb")
        found = [path for path in notebooks if path.stem == name or (
            name.isdigit() and path.stem[:2].isdigit() and int(path.stem[:2]) == int(name))]
        if len(found) != 1:
            raise ClassroomError(f"no lesson {name!r} (give its name or number); the lessons "
                                 f"are {', '.join(path.stem for path in notebooks)}")
        chosen.add(found[0])
    return [path for path in notebooks if path in chosen]


def write_nbgrader_course(dest: str | Path, lessons: Iterable[str] = (), *,
                          source: str | Path | None = None, force: bool = False,
                          exchange: str | None = None,
                          log: Callable[[str], object] | None = print) -> list[Path]:
    """Write an nbgrader course folder for ``lessons`` (default: all) of ``source`` (default:
    the course's solutions edition).

    An existing ``nbgrader_config.py`` is kept (without ``force``), so that lessons can be
    added to a course one at a time.

    Raises:
        ClassroomError: an unknown lesson, a destination that can't or mustn't be written,
            a lesson's source that exists already (without ``force``), or a lesson that
            can't be made into an assignment. Nothing is written then.
        Interrupted: Ctrl-C while writing (the files written so far are whole).
    """
    dest = Path(dest)
    if source is None:
        try:
            source = find_root() / SOURCE
        except FileNotFoundError as error:
            raise ClassroomError(f"{error}; pass the solutions edition with --source") from None
    source = Path(source)
    chosen = select_lessons(lesson_files(source), lessons)
    check_destination(dest, source=source, what="nbgrader course", example="build/class")
    contents, lines = {}, []
    config, settings = dest / "nbgrader_config.py", config_text(exchange)
    if not config.exists() or force:
        contents[config] = settings
    elif config.read_text(encoding="utf-8") != settings:  # a course made before: add to it
        lines.append(f"note: kept the existing {config}; --force replaces it with the "
                     f"course's settings (figures kept in a release, a {CELL_TIMEOUT} s cell "
                     f"limit{', the exchange' if exchange else ''})")
    for path in chosen:
        nb = nbgrader_source(read_notebook(path), path.stem)
        target = dest / "source" / path.stem / path.name
        contents[target] = nbformat.writes(nb)
        points = [c.metadata["nbgrader"]["points"] for c in nb.cells
                  if c.metadata.get("nbgrader", {}).get("grade")]
        lines.append(f"{path.stem}: {len(points)} graded exercise(s), {sum(points)} point(s) "
                     f"-> {target}")
    refuse_existing(list(contents), force)
    written = write_files(contents)
    for line in lines if log is not None else []:
        log(line)
    return written
