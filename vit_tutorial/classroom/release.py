r"""What ``nbgrader generate_assignment`` runs for the course: nbgrader's own preprocessors,
with ``ClearOutput`` (which clears every output, figures too) replaced by
:class:`ClearExerciseOutputs`, which clears only the exercises' cells.

A released lesson then reads like the lesson: every figure and printed result is there,
and only the answer and test cells wait to be run. The ``nbgrader_config.py`` that
``classroom nbgrader`` writes imports :func:`release_preprocessors` (so this module, unlike
the rest of the package, needs nbgrader).
"""

from __future__ import annotations

from nbgrader.converters import GenerateAssignment
from nbgrader.preprocessors import ClearOutput
from nbgrader.utils import is_grade, is_solution

from vit_tutorial.classroom.cells import is_exercise_cell

__all__ = ["ClearExerciseOutputs", "release_preprocessors"]


class ClearExerciseOutputs(ClearOutput):
    """nbgrader's ``ClearOutput``, for the cells of an exercise only: nbgrader's answer and
    test cells, and the lessons' exercise cells. Other cells keep their outputs."""

    def preprocess_cell(self, cell, resources, cell_index):
        if is_solution(cell) or is_grade(cell) or is_exercise_cell(cell):
            return super().preprocess_cell(cell, resources, cell_index)
        return cell, resources


def release_preprocessors() -> list[type]:
    """nbgrader's ``GenerateAssignment.preprocessors``, ``ClearOutput`` replaced by
    :class:`ClearExerciseOutputs` (in the same place)."""
    default = GenerateAssignment.class_traits()["preprocessors"].make_dynamic_default()
    if ClearOutput not in default:  # pragma: no cover - a future nbgrader
        raise RuntimeError(f"nbgrader's GenerateAssignment no longer runs ClearOutput "
                           f"({[p.__name__ for p in default]}); update "
                           f"vit_tutorial/classroom/release.py")
    return [ClearExerciseOutputs if p is ClearOutput else p for p in default]
