"""The machinery every checker shares (``vit_tutorial.exercises.checking``) and the
``vit_tutorial.exercises`` package itself."""

import importlib
import re

import pytest
import torch

from vit_tutorial import exercises
from vit_tutorial.exercises import checking
from vit_tutorial.exercises.class_token import check_prepend_class_token
from vit_tutorial.exercises.patches import check_image_to_patches
from vit_tutorial.exercises.positional_embedding import (
    check_permutation_invariance,
    check_shuffle_patches,
)
from vit_tutorial.patches import image_to_patches


def test_every_lesson_has_at_least_two_checkers_and_they_exist():
    for lesson, (module, names) in exercises.CHECKERS.items():
        assert len(names) >= 2, lesson
        lesson_module = importlib.import_module(f"vit_tutorial.exercises.{module}")
        assert sorted(names) == sorted(lesson_module.__all__), lesson


def test_the_package_hands_out_each_lessons_checkers():
    assert exercises.check_image_to_patches is check_image_to_patches
    assert exercises.CheckResult is checking.CheckResult
    with pytest.raises(AttributeError, match="no attribute 'check_nothing'"):
        exercises.check_nothing  # noqa: B018


def test_feedback_is_deterministic_and_leaves_the_random_numbers_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = check_permutation_invariance(lambda layer, tokens, perm: True).message
    assert torch.equal(torch.rand(3), expected)
    assert check_permutation_invariance(lambda layer, tokens, perm: True).message == first


def test_check_result_shows_nothing_in_jupyter():
    result = check_shuffle_patches(
        lambda tokens, perm: torch.cat([tokens[:, :1], tokens[:, 1:][:, perm]], dim=1))
    assert hasattr(result, "_ipython_display_") and result._ipython_display_() is None
    assert repr(result) == "CheckResult(exercise='shuffle_patches', status='passed')"


def test_an_exception_is_one_line_with_a_hint_and_no_address():
    def buggy(images, patch_size):
        raise ValueError(f"bad thing at {object()!r}")

    message = check_image_to_patches(buggy).message
    assert "your function raised ValueError: bad thing at <object object at 0x…>" in message
    assert "hint: " in message and "Traceback" not in message
    assert len(message.splitlines()) == 2


def test_passing_the_result_instead_of_the_function_is_explained():
    assert "pass the function itself" in check_image_to_patches(torch.zeros(3)).message


def test_a_function_that_never_returns_is_stopped(monkeypatch):
    monkeypatch.setattr(checking, "TIME_LIMIT", 0.3)

    def forever(images, patch_size):
        while True:
            pass

    result = check_image_to_patches(forever)
    assert not result and "did not finish within 0.3 s" in result.message


def test_a_function_that_changes_its_input_fails():
    def in_place(images, patch_size):
        patches = image_to_patches(images, patch_size).clone()
        images.mul_(0)  # the caller's images are gone
        return patches

    result = check_image_to_patches(in_place)
    assert not result and "changed its input in place" in result.message


def test_a_class_token_changed_in_place_fails():
    def writes_cls(tokens, cls_token):
        with torch.no_grad():
            cls_token.zero_()
        return torch.cat([cls_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)

    result = check_prepend_class_token(writes_cls)
    assert not result and "changed its input in place" in result.message


def test_a_meta_tensor_is_one_line_not_a_traceback():
    result = check_image_to_patches(lambda images, P: image_to_patches(images, P).to("meta"))
    assert not result and "meta device" in result.message
    assert len(result.message.splitlines()) == 1


def test_an_answer_that_breaks_the_check_is_one_line(capsys):
    @checking.checker("demo")
    def check_demo(answer):
        return f"got {answer.shape}"  # an answer without .shape breaks this check

    result = check_demo(object())
    assert not result and result.status == "failed"
    assert "the checker could not read your answer (AttributeError" in result.message
    assert len(result.message.splitlines()) == 1 and "Traceback" not in capsys.readouterr().out


def _question_banks():
    """Every "check your understanding" question of every lesson: ``(lesson, Question)``."""
    for lesson, (module, _) in exercises.CHECKERS.items():
        lesson_module = importlib.import_module(f"vit_tutorial.exercises.{module}")
        for name in vars(lesson_module):
            if name.startswith("_") and name.endswith("_questions"):
                yield from ((lesson, q) for q in getattr(lesson_module, name)())


def _numbers(text: str) -> set[str]:
    return set(re.findall(r"\d+", text)) - {"0", "1"}  # 0 and 1 also name symbols (z_L^0)


def test_feedback_points_without_handing_over_the_answer():
    """No hint for an unlisted wrong answer plugs in the question's own numbers (it names
    the rule instead), and no feedback at all states the right answer."""
    questions = list(_question_banks())
    assert len(questions) >= 40
    for lesson, q in questions:
        shared = _numbers(q.key + " " + q.text) & _numbers(q.hint)
        assert not shared, f"{lesson} {q.key}: the hint {q.hint!r} plugs in {shared}"
        if isinstance(q.expected, tuple):
            forms = [str(q.expected)]
        elif abs(q.expected) >= 10:
            forms = [str(q.expected), f"{q.expected:,}"]
        else:
            continue
        for text in [q.hint, *(why for _, why in q.mistakes)]:
            for form in forms:
                assert not re.search(rf"(?<![\d,]){re.escape(form)}(?![\d,])", text), \
                    f"{lesson} {q.key}: {text!r} states the answer {form}"


def test_a_shape_hint_follows_only_an_unexplained_wrong_shape():
    expected = torch.zeros(1, 5, 3)
    hint = "expected 1 + 2·2 tokens"
    odd = checking.tensor_problem(torch.zeros(1, 7, 3), expected, shape_hint=hint)
    assert odd[0].startswith("wrong shape") and odd[-1] == hint
    known = checking.tensor_problem(torch.zeros(1, 4, 3), expected,
                                    [((1, 4, 3), "the class token is missing")], shape_hint=hint)
    assert known == ["the class token is missing"]
    assert hint not in checking.tensor_problem(torch.ones(1, 5, 3), expected, shape_hint=hint)


def test_a_resize_that_drops_tokens_hears_what_the_shape_is_made_of():
    from vit_tutorial.exercises.interpolation import check_resize_pos_embed
    from vit_tutorial.interpolation import resize_pos_embed

    def two_tokens_too_many(pos_embed, new_grid, *args, **kwargs):
        resized = resize_pos_embed(pos_embed, new_grid, *args, **kwargs)
        return torch.cat([resized, resized[:, :2]], dim=1)

    result = check_resize_pos_embed(two_tokens_too_many)
    assert not result and "the class token and the new grid's positions" in result.message
