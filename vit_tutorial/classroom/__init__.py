r"""The lessons for a class: a ready nbgrader course, or student notebooks, made from the
solutions edition by one set of rules.

- :mod:`~vit_tutorial.classroom.cells` — how a lesson marks an exercise (the tagged cell, its
  solution between nbgrader's markers, its checker line);
- :mod:`~vit_tutorial.classroom.student` — student notebooks (solutions stubbed by nbgrader's
  ``ClearSolutions``), which :mod:`vit_tutorial.editions` uses for ``notebooks/``, and the check
  for leftover solutions;
- :mod:`~vit_tutorial.classroom.nbgrader_course` — an nbgrader course folder: answer cells and
  locked test cells with points, from the lesson registry (:mod:`vit_tutorial.lessons`);
- :mod:`~vit_tutorial.classroom.release` — what the course's ``nbgrader_config.py`` imports, so
  that a release keeps the lesson's figures;
- :mod:`~vit_tutorial.classroom.places` — where the commands may write;
- :mod:`~vit_tutorial.classroom.cli` — ``python -m vit_tutorial.classroom``.

The README's "For teachers" section (the website's page for teachers) shows the commands.
"""

from __future__ import annotations

from vit_tutorial.names import lazy_exports

# Public name -> the module that holds it, imported on first use: `python -m
# vit_tutorial.classroom` starts at once, so a Ctrl-C while nbformat loads is one line too.
_WHERE = {
    **dict.fromkeys(["ClassroomError", "is_exercise_cell", "solution_regions",
                     "exercise_warnings"], "cells"),
    **dict.fromkeys(["student_notebook", "leftover_solutions", "write_student_notebooks",
                     "check_student_notebooks"], "student"),
    **dict.fromkeys(["nbgrader_source", "write_nbgrader_course"], "nbgrader_course"),
    "Interrupted": "places",
    "main": "cli",
}

__all__ = list(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
