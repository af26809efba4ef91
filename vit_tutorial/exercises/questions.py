r""""Check your understanding" exercises: a dict of answers compared with the paper's (or
the package's) numbers, each known wrong answer explained (see
:mod:`vit_tutorial.exercises.checking` for the machinery)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import torch

from vit_tutorial.exercises.checking import (
    CheckStopped,
    as_number,
    fail_check,
    run_answer,
    type_name,
)

__all__ = ["Question", "check_answers"]


@dataclass(frozen=True)
class Question:
    key: str
    text: str  # what is asked (for the template)
    expected: object  # an int, or a tuple of ints (a shape)
    mistakes: tuple = ()  # ((a wrong answer, why it is wrong), ...)
    hint: str = ""  # for any other wrong answer
    also: tuple = ()  # ((another right answer, a note), ...)


def _normalise(value: object):
    if isinstance(value, (tuple, list, torch.Size)):
        items = [as_number(v) for v in value]
        return None if any(v is None for v in items) else tuple(items)
    return as_number(value)


def _show(value) -> str:
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def _template(questions: list[Question]) -> list[str]:
    lines = ["Return a dict with these keys (replace each ... with your answer):", "{"]
    lines += [f'    "{q.key}": ...,  # {q.text}' for q in questions]
    return lines + ["}"]


def check_answers(answers: object, questions: list[Question]) -> list[str]:
    if callable(answers) and not isinstance(answers, dict):
        try:
            answers = run_answer(answers, fallback="your function should just return the dict of "
                                             "answers")
        except CheckStopped as stop:
            if stop.status == "not implemented":
                stop.lines += _template(questions)
            raise
    if not isinstance(answers, dict):
        fail_check(f"expected a dict of answers (or a function that returns one), got "
              f"{type_name(answers)}", *_template(questions))
    keys = [q.key for q in questions]
    lines, notes, right = [], [], 0
    for key in answers:
        if key not in keys:
            lower = {k.lower(): k for k in keys}
            guess = lower.get(str(key).lower()) or next(
                iter(difflib.get_close_matches(str(key), keys, n=1, cutoff=0.6)), None)
            notes.append(f"unknown key {key!r}" + (f" — did you mean {guess!r}?" if guess else
                                                   f"; the keys are {', '.join(keys)}"))
    for q in questions:
        given = answers.get(q.key, ...)
        if given is ... or given is None:
            lines.append(f"{q.key}: not answered yet ({q.text})")
            continue
        value = _normalise(given)
        wants_shape = isinstance(q.expected, tuple)
        if value is None or isinstance(value, tuple) != wants_shape:
            kind = "a shape, a tuple of ints like (1, 2, 3)" if wants_shape else "a number"
            lines.append(f"{q.key}: expected {kind}, got {type_name(given)}")
            continue
        if value == q.expected:
            right += 1
            continue
        note = next((n for v, n in q.also if value == v), None)
        if note is not None:
            right += 1
            notes.append(f"{q.key}: right — {note}")
            continue
        why = next((w for v, w in q.mistakes if value == v), q.hint)
        lines.append(f"{q.key}: {_show(value)} is not right — {why}")
    total = len(questions)
    if right == total:
        return [f"all {total} answers are correct.", *notes]
    fail_check(f"{right} of {total} answers correct", *lines, *notes)
