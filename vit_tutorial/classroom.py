r"""Student notebooks from the lessons: each solution replaced by a stub, the rest kept.

The work is nbgrader's (``ClearSolutions``, ``ClearHiddenTests``, run standalone — no
course database) and nbconvert's (``ClearOutputPreprocessor`` on the exercise cells). The
conventions it relies on: solution regions between ``### BEGIN SOLUTION`` and
``### END SOLUTION``, inside a function body (so the student version still runs and its
checker says "not implemented yet"); exercise cells tagged ``exercise``, or holding a
solution, or calling a ``check_...`` checker. :mod:`vit_tutorial.editions` uses it to make
``notebooks/`` from ``solutions/``; the README ("For teachers") shows the commands.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from vit_tutorial.files import atomic_write

__all__ = ["EXERCISE_TAG", "ClassroomError", "is_exercise_cell", "solution_regions",
           "exercise_warnings", "student_notebook", "leftover_solutions",
           "write_student_notebooks", "check_student_notebooks", "main"]

EXERCISE_TAG = "exercise"  # the cell tag that marks a cell as part of an exercise
BEGIN_SOLUTION, END_SOLUTION = "BEGIN SOLUTION", "END SOLUTION"  # as ClearSolutions matches them
_MARKERS = (BEGIN_SOLUTION, END_SOLUTION, "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
_CHECKER_CALL = re.compile(r"\b(check_[A-Za-z0-9_]+)\s*\(")
_WORD_CHARACTERS = re.compile(r"\w")


class ClassroomError(Exception):
    """A problem with the lessons or the destination, said in words (the CLI prints it)."""


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def is_exercise_cell(cell: dict) -> bool:
    """Whether a cell belongs to an exercise: tagged ``exercise``, holds a solution marker,
    or (a code cell) calls a checker — a function named ``check_...``, as every checker of
    :mod:`vit_tutorial.exercises` is."""
    if EXERCISE_TAG in cell.get("metadata", {}).get("tags", []):
        return True
    source = _source(cell)
    if BEGIN_SOLUTION in source:
        return True
    return cell.get("cell_type") == "code" and bool(_CHECKER_CALL.search(source))


def solution_regions(cell: dict, where: str = "") -> list[list[str]]:
    """The lines inside each solution region of a cell (markers excluded).

    Raises:
        ClassroomError: on a region without its end, an end without a beginning, or a
            region inside a region.
    """
    regions, current = [], None
    for number, line in enumerate(_source(cell).split("\n"), start=1):
        if BEGIN_SOLUTION in line:
            if current is not None:
                raise ClassroomError(f"{where}line {number}: '### {BEGIN_SOLUTION}' inside a "
                                     f"solution region; close the first one with "
                                     f"'### {END_SOLUTION}'")
            current = []
        elif END_SOLUTION in line:
            if current is None:
                raise ClassroomError(f"{where}line {number}: '### {END_SOLUTION}' without a "
                                     f"'### {BEGIN_SOLUTION}' before it")
            regions.append(current)
            current = None
        elif current is not None:
            current.append(line)
    if current is not None:
        raise ClassroomError(f"{where}'### {BEGIN_SOLUTION}' without a '### {END_SOLUTION}' "
                             f"after it")
    return regions


def _preprocessors():
    try:
        from nbgrader.preprocessors import ClearHiddenTests, ClearSolutions
    except ImportError as error:  # pragma: no cover - nbgrader is installed wherever tests run
        raise ClassroomError(
            "the student notebooks are made with nbgrader's ClearSolutions preprocessor, and "
            "nbgrader is not installed: `pip install nbgrader` (only teachers need it)"
        ) from error
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


def exercise_warnings(nb: NotebookNode) -> list[str]:
    """Exercises that would stop a student's "Run All": a solution region at the top level
    of a code cell (not inside a function), whose stub raises as soon as the cell runs."""
    warnings = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for line in _source(cell).split("\n"):
            if BEGIN_SOLUTION in line and not line[:1].isspace():
                warnings.append(f"cell {index}: a solution region at the top level of a code "
                                f"cell; its stub raises NotImplementedError as soon as the cell "
                                f"runs, which stops Run All — put the solution inside a "
                                f"function that the checker calls")
    return warnings


def _output_texts(cell: dict) -> list[str]:
    texts = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            texts.append(_source({"source": output.get("text", "")}))
        elif output.get("output_type") == "error":
            texts += [output.get("evalue", ""), *output.get("traceback", [])]
        for mime, value in output.get("data", {}).items():
            if mime.startswith("text/") or mime.endswith("json"):
                texts.append(value if isinstance(value, str) else
                             "".join(value) if isinstance(value, list) else str(value))
    return texts


def _secret_lines(teacher: NotebookNode) -> set[str]:
    """Lines that only the solutions hold: in a solution region, nowhere else in the sources,
    and long enough to mean something (a lone ``)`` or ``x`` is not a solution)."""
    inside, outside = set(), set()
    for cell in teacher.cells:
        regions = solution_regions(cell)
        for region in regions:
            inside.update(line.strip() for line in region)
        if not regions:
            outside.update(line.strip() for line in _source(cell).split("\n"))
        else:
            in_region = False
            for line in _source(cell).split("\n"):
                if BEGIN_SOLUTION in line:
                    in_region = True
                elif END_SOLUTION in line:
                    in_region = False
                elif not in_region:
                    outside.add(line.strip())
    return {line for line in inside - outside if len(_WORD_CHARACTERS.findall(line)) >= 3}


def leftover_solutions(teacher: NotebookNode, student: NotebookNode) -> list[str]:
    """What of the teacher's solutions is still in a student notebook: solution lines (in
    sources or outputs), markers, and exercise cells with outputs. Empty if none."""
    secret = _secret_lines(teacher)
    problems = []
    for index, cell in enumerate(student.cells):
        texts = [("source", _source(cell))] + [("output", t) for t in _output_texts(cell)]
        for where, text in texts:
            for marker in _MARKERS:
                if marker in text:
                    problems.append(f"cell {index} ({where}): the marker {marker!r} is still there")
            for line in text.split("\n"):
                if line.strip() in secret:
                    problems.append(f"cell {index} ({where}): solution line "
                                    f"{line.strip()!r}")
        if cell.get("cell_type") == "code" and cell.get("outputs") and is_exercise_cell(cell):
            problems.append(f"cell {index}: an exercise cell still has stored outputs")
    return problems


def _lessons(source: Path) -> list[Path]:
    if not source.is_dir():
        raise ClassroomError(f"{source} is not a folder; pass the folder of the lesson "
                             f"notebooks, e.g. notebooks/")
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise ClassroomError(f"no notebooks (*.ipynb) in {source}")
    return notebooks


def _read(path: Path) -> NotebookNode:
    try:
        return nbformat.read(path, as_version=4)
    except Exception as error:  # nbformat raises several types for a broken file
        raise ClassroomError(f"{path} could not be read as a notebook "
                             f"({type(error).__name__}: {error})") from error


def write_student_notebooks(source: str | Path, dest: str | Path, *, force: bool = False,
                            log=print) -> list[Path]:
    """Write the student version of every notebook in ``source`` to ``dest``.

    Args:
        source: the folder of the lesson notebooks (the teacher's edition).
        dest: the folder for the student notebooks; made if missing. Must not be
            ``source`` or inside it.
        force: overwrite student notebooks that exist already.
        log: called with one line per notebook written (``None`` for silence).

    Returns:
        The paths written.

    Raises:
        ClassroomError: ``dest`` is the lessons' own folder (or inside it), a file exists
            already (without ``force``), or a notebook's solution markers don't pair up, or
            solution text would remain. Nothing is written then.
    """
    source, dest = Path(source), Path(dest)
    notebooks = _lessons(source)
    lessons, target = source.resolve(), dest.resolve()
    if target == lessons or lessons in target.parents:
        raise ClassroomError(
            f"refusing to write the student notebooks into the lessons' own folder "
            f"({dest} is {'the same folder as' if target == lessons else 'inside'} {source}): "
            f"they would replace or sit beside the solutions; choose a folder outside it, "
            f"e.g. build/student")
    if dest.exists() and not dest.is_dir():
        raise ClassroomError(f"{dest} exists and is not a folder; pass a folder")
    existing = [dest / path.name for path in notebooks if (dest / path.name).exists()]
    if existing and not force:
        names = ", ".join(path.name for path in existing)
        raise ClassroomError(f"{len(existing)} student notebook(s) exist already in {dest} "
                             f"({names}); pass --force to overwrite them")
    students = []
    for path in notebooks:
        teacher = _read(path)
        student = student_notebook(teacher, name=path.name)
        problems = leftover_solutions(teacher, student)
        if problems:
            raise ClassroomError(f"{path.name}: solution text would remain in the student "
                                 f"version — " + "; ".join(problems[:5]))
        regions = sum(len(solution_regions(cell)) for cell in teacher.cells)
        exercise_cells = sum(cell.cell_type == "code" and is_exercise_cell(cell)
                             for cell in teacher.cells)
        students.append((path, student, regions, exercise_cells))
        if log is not None:
            for warning in exercise_warnings(teacher):
                log(f"warning: {path.name}, {warning}")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for path, student, regions, exercise_cells in students:
        atomic_write(dest / path.name, nbformat.writes(student), force=True)  # whole or not at all
        written.append(dest / path.name)
        if log is not None:
            log(f"{path.name}: {regions} solution(s) cleared, outputs of {exercise_cells} "
                f"exercise code cell(s) cleared -> {dest / path.name}")
    return written


def check_student_notebooks(source: str | Path, dest: str | Path) -> list[str]:
    """Problems with the student notebooks in ``dest`` written from the lessons in
    ``source``: missing notebooks, leftover solution text, markers or exercise outputs."""
    source, dest = Path(source), Path(dest)
    problems = []
    for path in _lessons(source):
        student_path = dest / path.name
        if not student_path.exists():
            problems.append(f"{path.name}: no student notebook in {dest}")
            continue
        problems += [f"{path.name}: {problem}"
                     for problem in leftover_solutions(_read(path), _read(student_path))]
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vit_tutorial.classroom",
        description="Make the student edition of the lessons: solutions replaced by stubs "
                    "(nbgrader's ClearSolutions), exercise outputs cleared, the rest kept.")
    commands = parser.add_subparsers(dest="command", required=True)
    student = commands.add_parser("student", help="write the student notebooks")
    student.add_argument("source", type=Path, help="the lessons' folder, e.g. notebooks/")
    student.add_argument("dest", type=Path, help="where to write them, e.g. build/student/")
    student.add_argument("--force", action="store_true",
                         help="overwrite student notebooks that exist already")
    check = commands.add_parser("check", help="check student notebooks for leftover "
                                              "solution text")
    check.add_argument("source", type=Path, help="the lessons' folder, e.g. notebooks/")
    check.add_argument("dest", type=Path, help="the student notebooks' folder")
    args = parser.parse_args(argv)
    try:
        if args.command == "student":
            written = write_student_notebooks(args.source, args.dest, force=args.force)
            print(f"wrote {len(written)} student notebook(s) to {args.dest}")
            return 0
        problems = check_student_notebooks(args.source, args.dest)
    except ClassroomError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"no solution text in the student notebooks in {args.dest}")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
