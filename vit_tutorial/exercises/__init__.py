"""The lessons' exercises: one checker per exercise, one module per lesson.

``vit_tutorial.exercises.patches`` holds lesson 01's checkers, ``...exercises.model``
lesson 08's, and so on (the module is named after the lesson's module);
:mod:`vit_tutorial.exercises.checking` is the machinery they share. Each lesson declares
its checkers, in order, and their points in a graded class in the lesson registry
(:attr:`vit_tutorial.lessons.Lesson.exercises`). A lesson imports its own checkers (``from
vit_tutorial.exercises.patches import check_image_to_patches``); ``from vit_tutorial.exercises
import check_image_to_patches`` works too, and imports only that lesson's module.
"""

from __future__ import annotations

from vit_tutorial.lessons import LESSONS
from vit_tutorial.names import lazy_exports

#: Lesson notebook -> (exercise module, {checker: points in a graded class}), the checkers in
#: the order the exercises appear: read from the registry. Points: 1 for each "check your
#: understanding" exercise (``check_..._answers``), 2-4 for each "implement it" one, by how
#: much it asks.
CHECKERS = {lesson.name: (lesson.module, lesson.points) for lesson in LESSONS}

_SHARED = ("CheckResult", "NOT_IMPLEMENTED")
_WHERE = {name: module for module, names in CHECKERS.values() for name in names}
_WHERE.update(dict.fromkeys(_SHARED, "checking"))

__all__ = ["CHECKERS", *_WHERE]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
