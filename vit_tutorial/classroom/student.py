r"""Student notebooks: each solution replaced by a stub, the rest of the lesson kept.

The stubs are nbgrader's (``ClearSolutions``, ``ClearHiddenTests``, run standalone — no
course database); the exercise cells' outputs are cleared with nbconvert's
``ClearOutputPreprocessor``. :mod:`vit_tutorial.editions` makes ``notebooks/`` with
:func:`student_notebook`; ``classroom student`` writes a set for a class, whose first line is
the classroom banner (no link to either edition), and ``classroom check`` looks for what of
the solutions a set still holds, comparing code without whitespace and comments.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from vit_tutorial.classroom.cells import (
    ClassroomError,
    exercise_warnings,
    is_exercise_cell,
    normalised_code,
    significant,
    solution_regions,
)
from vit_tutorial.classroom.places import (
    check_destination,
    lesson_files,
    refuse_existing,
    write_files,
)
from vit_tutorial.course import classroom_banner, find_root
from vit_tutorial.ipynb import BEGIN_SOLUTION, END_SOLUTION, MARKERS, cell_source
from vit_tutorial.lessons import SOURCE

__all__ = ["student_notebook", "with_classroom_banner", "leftover_solutions", "read_notebook",
           "write_student_notebooks", "check_student_notebooks"]

# A link to a lesson of the solutions edition (GitHub, Colab or relative).
_SOLUTIONS_LINK = re.compile(rf"\b{SOURCE}/[\w.-]+\.ipynb")


def _preprocessors():
    try:
        from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
    except ImportError as error:  # pragma: no cover - nbgrader is installed wherever tests run
        raise ClassroomError(
            "the student notebooks are made with nbgrader's ClearSolutions preprocessor, and "
            "nbgrader is not installed: `pip install -r requirements-dev.txt` (or `pip install "
            "nbgrader`; only teachers need it)") from error
    from nbconvert.preprocessors import ClearOutputPreprocessor
    from traitlets.config import Config

    config = Config()
    config.ClearSolutions.enforce_metadata = False  # no nbgrader cell metadata needed
    config.ClearHiddenTests.enforce_metadata = False
    return (ClearSolutions(config=config), ClearHiddenTests(config=config),
            ClearOutputPreprocessor(config=config))


def student_notebook(nb: NotebookNode, name: str = "notebook") -> NotebookNode:
    """The student version of a lesson notebook (the input is not changed).

    Solution regions become nbgrader's stubs (``raise NotImplementedError()`` in code,
    "YOUR ANSWER HERE" in Markdown), hidden-test regions are removed, and the exercise
    cells' outputs and execution counts are cleared. All other cells are kept as they are.
    """
    for index, cell in enumerate(nb.cells):
        solution_regions(cell, where=f"{name}, cell {index}: ")  # clear errors before nbgrader's
    exercise = [is_exercise_cell(cell) for cell in nb.cells]
    clear_solutions, clear_hidden_tests, clear_outputs = _preprocessors()
    student = copy.deepcopy(nb)
    resources: dict = {}
    student, resources = clear_solutions.preprocess(student, resources)
    student, resources = clear_hidden_tests.preprocess(student, resources)
    for index, (cell, is_exercise) in enumerate(zip(student.cells, exercise)):
        if is_exercise and cell.cell_type == "code":
            clear_outputs.preprocess_cell(cell, resources, index)
    return student


def with_classroom_banner(nb: NotebookNode, lesson: str) -> NotebookNode:
    """``nb`` with its badge line (the course's generated first cell, which links to the
    other edition) replaced by the classroom banner, which links to neither."""
    for cell in nb.cells:
        if cell.get("metadata", {}).get("vit_tutorial") == "badge":
            cell.source = classroom_banner(lesson)
    return nb


def _output_texts(cell: dict) -> list[str]:
    texts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append(cell_source({"source": output.get("text", "")}))
        elif output.get("output_type") == "error":
            texts += [output.get("evalue", ""), *output.get("traceback", [])]
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/") or mime.endswith("json"):
                texts.append(value if isinstance(value, str) else
                             "".join(value) if isinstance(value, list) else str(value))
    return texts


def _secret_lines(teacher: NotebookNode) -> set[str]:
    """Lines, normalised (:func:`normalised_code`), that only the solutions hold: in a
    solution region, nowhere else in the sources, and long enough to mean something."""
    inside, outside = set(), set()
    for index, cell in enumerate(teacher.cells):
        solution_regions(cell, where=f"cell {index}: ")  # markers that pair up
        in_region = False
        for line in cell_source(cell).split("\n"):
            if BEGIN_SOLUTION in line:
                in_region = True
            elif END_SOLUTION in line:
                in_region = False
            else:
                (inside if in_region else outside).add(normalised_code(line))
    return {line for line in inside - outside if significant(line)}


def leftover_solutions(teacher: NotebookNode, student: NotebookNode) -> list[str]:
    """What of the teacher's solutions is still in a student notebook: solution lines (in
    sources or outputs; whitespace and comments don't matter), markers, a link to the
    solutions edition, and exercise cells with outputs. Empty if none."""
    secret = _secret_lines(teacher)
    problems = []
    for index, cell in enumerate(student.cells):
        texts = [("source", cell_source(cell))] + [("output", t) for t in _output_texts(cell)]
        for where, text in texts:
            problems += [f"cell {index} ({where}): the marker {marker!r} is still there"
                         for marker in MARKERS if marker in text]
            problems += [f"cell {index} ({where}): a link to the solutions edition "
                         f"({link.group(0)})" for link in _SOLUTIONS_LINK.finditer(text)]
            problems += [f"cell {index} ({where}): solution line {line.strip()!r}"
                         for line in text.split("\n") if normalised_code(line) in secret]
        if cell.get("cell_type") == "code" and cell.get("outputs") and is_exercise_cell(cell):
            problems.append(f"cell {index}: an exercise cell still has stored outputs")
    return problems


def read_notebook(path: Path) -> NotebookNode:
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several types for a broken file
        raise ClassroomError(f"{path} could not be read as a notebook "
                             f"({type(error).__name__}: {error})") from error


def write_student_notebooks(source: str | Path, dest: str | Path, *, force: bool = False,
                            log: Callable[[str], object] | None = print) -> list[Path]:
    """Write the student version of every notebook in ``source`` to ``dest``.

    Args:
        source: the folder of the lesson notebooks (either edition).
        dest: the folder for the student notebooks; made if missing.
        force: overwrite student notebooks that exist already.
        log: called with one line per notebook written (``None`` for silence).

    Returns:
        The paths written.

    Raises:
        ClassroomError: ``dest`` can't or mustn't be written
            (:func:`~vit_tutorial.classroom.places.check_destination`), a student notebook
            exists already (without ``force``), a notebook's solution markers don't pair up,
            or solution text would remain. Nothing is written then.
        Interrupted: Ctrl-C while writing (the files written so far are whole).
    """
    source, dest = Path(source), Path(dest)
    notebooks = lesson_files(source)
    check_destination(dest, source=source, what="student notebooks")
    refuse_existing([dest / path.name for path in notebooks], force)
    contents, lines = {}, []
    for path in notebooks:
        teacher = read_notebook(path)
        student = with_classroom_banner(student_notebook(teacher, name=path.name), path.stem)
        problems = leftover_solutions(teacher, student)
        if problems:
            raise ClassroomError(f"{path.name}: solution text would remain in the student "
                                 f"version — " + "; ".join(problems[:5]))
        contents[dest / path.name] = nbformat.writes(student)
        regions = sum(len(solution_regions(cell)) for cell in teacher.cells)
        exercise_cells = sum(cell.cell_type == "code" and is_exercise_cell(cell)
                             for cell in teacher.cells)
        lines += [f"warning: {path.name}, {warning}" for warning in exercise_warnings(teacher)]
        lines.append(f"{path.name}: {regions} solution(s) cleared, outputs of "
                     f"{exercise_cells} exercise code cell(s) cleared -> {dest / path.name}")
    written = write_files(contents)
    for line in lines if log is not None else []:
        log(line)
    return written


def _teacher_finder(source: Path | None) -> Callable[[str], Path | None]:
    """Where the solutions of the lesson named ``stem`` are: in ``source`` if its notebook
    holds solutions, else (an exercises edition) in the course's solutions edition."""
    def course_solutions() -> Path:
        try:
            return find_root() / SOURCE
        except FileNotFoundError as error:
            raise ClassroomError(f"{error}; pass the solutions edition with --source") from None

    folder = course_solutions() if source is None else source
    lesson_files(folder)  # a clear error for a missing or empty folder

    def find(stem: str) -> Path | None:
        path = folder / f"{stem}.ipynb"
        if not path.exists():
            return None
        if BEGIN_SOLUTION in path.read_text(encoding="utf-8"):
            return path
        mapped = course_solutions() / path.name  # an exercises edition: its solutions
        if not mapped.exists():
            raise ClassroomError(f"{path} holds no solutions, and the course's solutions "
                                 f"edition has no {path.name}; pass the solutions with --source")
        return mapped

    return find


def check_student_notebooks(dest: str | Path, source: str | Path | None = None) -> list[str]:
    """Problems with the student notebooks in ``dest``: what each still holds of its
    lesson's solutions (:func:`leftover_solutions`), and notebooks with no lesson of their
    name in ``source`` (default: the course's solutions edition; an exercises edition is
    mapped to the solutions by lesson name)."""
    dest = Path(dest)
    students = lesson_files(dest, "the student notebooks", "build/student/")
    find = _teacher_finder(None if source is None else Path(source))
    problems = []
    for path in students:
        teacher = find(path.stem)
        if teacher is None:
            problems.append(f"{path.name}: no lesson of that name in "
                            f"{source or 'the solutions edition'}, so it can't be checked")
            continue
        problems += [f"{path.name}: {problem}" for problem in
                     leftover_solutions(read_notebook(teacher), read_notebook(path))]
    return problems
