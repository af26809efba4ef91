r"""The lessons for a class: a ready nbgrader course, or student notebooks, made from the
solutions edition by one set of rules.

- :mod:`~vit_tutorial.classroom.cells` — how a lesson marks an exercise (the tagged cell, its
  solution between nbgrader's markers, its checker line);
- :mod:`~vit_tutorial.classroom.student` — student notebooks (solutions stubbed by nbgrader's
  ``ClearSolutions``), which :mod:`vit_tutorial.editions` uses for ``notebooks/``, and the check
  for leftover solutions;
- :mod:`~vit_tutorial.classroom.nbgrader_course` — an nbgrader course folder: answer cells and
  locked test cells with points, from :data:`vit_tutorial.exercises.CHECKERS`;
- :mod:`~vit_tutorial.classroom.release` — what the course's ``nbgrader_config.py`` imports, so
  that a release keeps the lesson's figures;
- :mod:`~vit_tutorial.classroom.places` — where the commands may write;
- :mod:`~vit_tutorial.classroom.cli` — ``python -m vit_tutorial.classroom``.

The README's "For teachers" section (the website's page for teachers) shows the commands.
"""

from vit_tutorial.classroom.cells import (
    EXERCISE_TAG,
    ClassroomError,
    exercise_warnings,
    is_exercise_cell,
    solution_regions,
)
from vit_tutorial.classroom.cli import main
from vit_tutorial.classroom.nbgrader_course import (
    nbgrader_source,
    points_table,
    write_nbgrader_course,
)
from vit_tutorial.classroom.places import Interrupted
from vit_tutorial.classroom.student import (
    check_student_notebooks,
    leftover_solutions,
    student_notebook,
    write_student_notebooks,
)

__all__ = ["EXERCISE_TAG", "ClassroomError", "Interrupted", "is_exercise_cell",
           "solution_regions", "exercise_warnings", "student_notebook", "leftover_solutions",
           "write_student_notebooks", "check_student_notebooks", "nbgrader_source",
           "points_table", "write_nbgrader_course", "main"]
