"""What every exercise checker must do, for every checker of the lesson registry.

Each lesson's ``tests/test_<module>_exercises.py`` declares its cases — ``SOLUTIONS`` (a
right answer per checker), ``WRONG`` (``(checker, wrong answer, words the feedback must
contain)``), ``ANSWERS`` (the right dict of each "check your understanding" checker) — and
tests what is its own; the checks all checkers share run here, over the registry: a right
answer gets a one-line confirmation, the student's stub "not implemented yet", each wrong
answer its hint, and every checker of the lesson has a right answer and wrong ones.
"""

import importlib

import pytest
from checker_cases import assert_hint, assert_not_implemented, assert_passes

from vit_tutorial.lessons import LESSONS


def _cases(lesson):
    """The lesson's exercise module and its test module (``tests/test_<module>_exercises.py``)."""
    checkers = importlib.import_module(f"vit_tutorial.exercises.{lesson.module}")
    return checkers, importlib.import_module(f"test_{lesson.module}_exercises")


CHECKERS = [(lesson, name) for lesson in LESSONS for name in lesson.points]


def _id(case) -> str:
    lesson, name = case[:2]
    return f"{lesson.number:02d}-{name.removeprefix('check_')}"


def _wrong():
    found = []
    for lesson in LESSONS:
        for i, (name, answer, hint) in enumerate(_cases(lesson)[1].WRONG):
            found.append(pytest.param(lesson, name, answer, hint,
                                      id=f"{lesson.number:02d}-{name[6:]}-{i}"))
    return found


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.name)
def test_every_checker_of_the_lesson_has_a_right_answer_and_wrong_ones(lesson):
    checkers, cases = _cases(lesson)
    assert list(checkers.__all__) == list(lesson.points), (
        f"exercises/{lesson.module}.py's __all__ must list the registry's checkers, in order")
    assert set(cases.SOLUTIONS) == set(lesson.points) == {name for name, _, _ in cases.WRONG}


@pytest.mark.parametrize("lesson, name", CHECKERS, ids=[_id(c) for c in CHECKERS])
def test_a_right_answer_gets_a_short_confirmation(lesson, name, capsys):
    checkers, cases = _cases(lesson)
    assert_passes(getattr(checkers, name), cases.SOLUTIONS[name], capsys)


@pytest.mark.parametrize("lesson, name", CHECKERS, ids=[_id(c) for c in CHECKERS])
def test_the_student_stub_is_not_implemented_yet(lesson, name):
    checkers, cases = _cases(lesson)
    assert_not_implemented(getattr(checkers, name), getattr(cases, "ANSWERS", {}).get(name))


@pytest.mark.parametrize("lesson, name, answer, hint", _wrong())
def test_a_wrong_answer_gets_its_specific_hint(lesson, name, answer, hint):
    assert_hint(getattr(_cases(lesson)[0], name), answer, hint)
