r"""How a lesson marks its exercises, read from its cells (what every generator relies on).

An exercise of the solutions edition is one code cell tagged ``exercise``::

    def my_image_to_patches(images, patch_size):
        ### BEGIN SOLUTION
        ...
        ### END SOLUTION


    check_image_to_patches(my_image_to_patches)

a function whose body holds the solution between nbgrader's markers, then a line that calls
its checker (a ``check_...`` function of :mod:`vit_tutorial.exercises`) on it. A "check your
understanding" exercise is the same with a function that returns a dict of answers, checked
by ``check_..._answers``. The exercise's name is the checker's without ``check_``.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from vit_tutorial.ipynb import BEGIN_SOLUTION, END_SOLUTION, EXERCISE_TAG, cell_source, cell_tags

__all__ = ["ClassroomError", "CheckerCall", "is_exercise_cell", "solution_regions",
           "exercise_warnings", "checker_calls", "normalised_code", "significant"]

_CHECKER_CALL = re.compile(r"\b(check_[A-Za-z0-9_]+)\s*\(")
# A line of its own that calls a checker on one name: `check_x(my_x)`, maybe with a comment.
_CHECKER_LINE = re.compile(r"(check_[A-Za-z0-9_]+)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*(#.*)?")
_WORD_CHARACTERS = re.compile(r"\w")


class ClassroomError(Exception):
    """A problem with the lessons or the destination, said in words (the CLI prints it)."""


class CheckerCall(NamedTuple):
    """A top-level line ``check_x(answer)`` in a cell: the checker, its argument, the line."""

    checker: str
    answer: str
    line: int  # 0-based, in the cell's source

    @property
    def exercise(self) -> str:
        return self.checker.removeprefix("check_")


def is_exercise_cell(cell: dict) -> bool:
    """Whether a cell belongs to an exercise: tagged ``exercise``, holds a solution marker,
    or (a code cell) calls a checker — a function named ``check_...``, as every checker of
    :mod:`vit_tutorial.exercises` is."""
    if EXERCISE_TAG in cell_tags(cell):
        return True
    source = cell_source(cell)
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
    for number, line in enumerate(cell_source(cell).split("\n"), start=1):
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


def exercise_warnings(nb: dict) -> list[str]:
    """Exercises that would stop a student's "Run All": a solution region at the top level
    of a code cell (not inside a function), whose stub raises as soon as the cell runs."""
    warnings = []
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") != "code":
            continue
        for line in cell_source(cell).split("\n"):
            if BEGIN_SOLUTION in line and not line[:1].isspace():
                warnings.append(f"cell {index}: a solution region at the top level of a code "
                                f"cell; its stub raises NotImplementedError as soon as the cell "
                                f"runs, which stops Run All — put the solution inside a "
                                f"function that the checker calls")
    return warnings


def checker_calls(cell: dict) -> list[CheckerCall]:
    """The top-level lines of a code cell that call a checker on one name, in order."""
    if cell.get("cell_type") != "code":
        return []
    return [CheckerCall(match.group(1), match.group(2), number)
            for number, line in enumerate(cell_source(cell).split("\n"))
            if (match := _CHECKER_LINE.fullmatch(line.rstrip()))]


def _without_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` inside a string literal stays)."""
    quote, index = None, 0
    while index < len(line):
        if quote:
            if line[index] == "\\":
                index += 2
                continue
            if line.startswith(quote, index):
                index, quote = index + len(quote), None
                continue
        elif line[index] == "#":
            return line[:index]
        elif line[index] in "'\"":
            quote = line[index:index + 3] if line[index:index + 3] in ('"""', "'''") \
                else line[index]
            index += len(quote)
            continue
        index += 1
    return line


def normalised_code(line: str) -> str:
    """A line of code as compared for leftover solutions: comment and all whitespace gone,
    so ``x = f(a, b)  # note`` and ``x=f(a,b)`` are the same line."""
    return re.sub(r"\s+", "", _without_comment(line))


def significant(normalised: str) -> bool:
    """Long enough to mean something: a lone ``)`` or ``x`` is not a solution."""
    return len(_WORD_CHARACTERS.findall(normalised)) >= 3
