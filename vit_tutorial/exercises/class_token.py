r"""Exercises of lesson 03, the class token (``notebooks/03_class_token.ipynb``): their checkers."""

from __future__ import annotations

import torch
from torch import nn

from vit_tutorial.class_token import ClassToken, prepend_class_token
from vit_tutorial.exercises.checking import (
    checker,
    count_parameters,
    distinct_values,
    fail_check,
    run_answer,
    tensor_problem,
    tensors_close,
)
from vit_tutorial.exercises.questions import Question, check_answers
from vit_tutorial.model import CONFIGS
from vit_tutorial.patches import num_patches

__all__ = ['check_class_token_answers', 'check_prepend_class_token']

def _class_token_questions() -> list[Question]:
    config = CONFIGS["vit_b_16"]
    D, N = config.embed_dim, num_patches(config.image_size, config.patch_size)
    token = ClassToken(D)
    z0 = tuple(prepend_class_token(torch.zeros(8, N, D), token.cls_token).shape)
    marked = prepend_class_token(torch.zeros(1, 3, 1), torch.ones(1, 1, 1))  # (1, 4, 1)
    position = int(marked[0, :, 0].argmax())
    y = (8, D)  # Eq. 4: y = LN(z_L^0), one D-vector per image
    return [
        Question("z0_shape_B16_batch8", "shape of z_0 (class token prepended, before "
                                         "E_pos) for a batch of 8 images, ViT-B/16 at 224",
                  z0, (((8, N, D), "the class token is missing: the sequence has N + 1 tokens"),
                       (z0[1:], "keep the batch axis: 8 sequences"),
                       ((1, N + 1, D), "that is one image; the batch has 8")),
                  "(B, N + 1, D)"),
        Question("cls_params_B16", "trainable parameters of the class token, ViT-B/16",
                  count_parameters(token),
                  ((8 * D, "one class token is shared by every image (expand makes a view, "
                           "not a copy per image)"),
                   ((N + 1) * D, "that is the size of E_pos (lesson 04); the class token is "
                                 "one D-vector")),
                  "x_class is one learnable D-vector"),
        Question("cls_position", "the index of the class token in the sequence", position,
                  ((-1, "the class token is prepended, not appended: z_0^0 = x_class"),
                   (N, "the class token is prepended, not appended: z_0^0 = x_class"),
                   (1, "Python counts from 0")),
                  "it is prepended: z_0^0 = x_class"),
        Question("y_shape_batch8", "shape of y = LN(z_L^0) for a batch of 8 images, ViT-B/16",
                  y, (((8, N + 1, D), "y is the class token's final state only, z_L^0: one "
                                      "D-vector per image"),
                      ((D,), "keep the batch axis: one y per image"),
                      ((8, 1, D), "z_L^0 picks position 0, so that axis goes away: (B, D)")),
                  "Eq. 4: y = LN(z_L^0), the class token's final state"),
    ]


@checker("class token answers")
def check_class_token_answers(answers) -> str:
    """Lesson 03, check your understanding: shapes and size of the class token.

    Args:
        answers: a dict (or a function returning one) with the keys
            ``z0_shape_B16_batch8``, ``cls_params_B16``, ``cls_position`` and
            ``y_shape_batch8``. Shapes are tuples of ints.
    """
    return check_answers(answers, _class_token_questions())


@checker("prepend_class_token")
def check_prepend_class_token(fn) -> str:
    """Lesson 03, implement it: ``fn(tokens, cls_token) -> tokens with x_class in front``.

    ``tokens`` is ``(B, N, D)``, ``cls_token`` the parameter ``(1, 1, D)``; the result is
    ``(B, N + 1, D)`` with the class token at position 0 of every sequence, and gradients
    must reach ``cls_token``. Like :func:`vit_tutorial.class_token.prepend_class_token`.
    """
    one_ok = False
    for B, N, D in ((1, 4, 3), (2, 6, 4), (3, 5, 8)):
        what = f"a batch of {B} with N = {N}, D = {D}"
        tokens = distinct_values(B, N, D) + 1  # positive, distinct
        cls_token = nn.Parameter(-distinct_values(1, 1, D) - 1)  # negative, distinct
        hint = None
        if B > 1 and one_ok:
            hint = ("it works for one image but not for a batch: the class token is (1, 1, D) "
                    "and must be expanded to (B, 1, D) — cls_token.expand(B, -1, -1) — "
                    "before torch.cat")
        got = run_answer(fn, tokens.clone(), cls_token, case=f"on {what}: ", hint=hint)
        cls = cls_token.detach().expand(B, -1, -1)  # (1, 1, D) -> (B, 1, D)
        expected = prepend_class_token(tokens, cls_token.detach())
        variants = [
            (torch.cat([tokens, cls], dim=1),
             "the class token was appended; it is prepended — it goes first, z_0^0 = x_class "
             "(torch.cat with the class token first)"),
            (torch.cat([cls, tokens[:, 1:]], dim=1),
             f"the class token overwrote the first patch; the sequence must grow from "
             f"N = {N} to N + 1 = {N + 1} tokens"),
            ((B, N, D), f"the sequence didn't grow: expected N + 1 = {N + 1} tokens, the class "
                        f"token in front of the N = {N} patches"),
            ((1, N + 1, D), f"one sequence came back for a batch of {B}: expand the class "
                            f"token to (B, 1, D) over the batch"),
            ((B, N + 1, 2 * D), "joined along the wrong axis: the class token is one more "
                                "token, so concatenate along the sequence axis, dim=1"),
        ]
        problem = tensor_problem(got, expected, variants)
        if problem:
            fail_check(f"on {what}: {problem[0]}", *problem[1:])
        if not got.requires_grad:
            fail_check(f"on {what}: no gradient reaches cls_token: don't detach it, use .data, or "
                        f"rebuild it with torch.tensor(...) — the class token is learned")
        got.sum().backward()
        expected_grad = torch.full((1, 1, D), float(B))  # one contribution per image
        if cls_token.grad is None or not tensors_close(cls_token.grad, expected_grad):
            fail_check(f"on {what}: the gradient reaching cls_token is wrong; it should get one "
                        f"contribution per image (use cls_token itself, expanded, not a copy of "
                        f"its values)")
        one_ok = True
    return ("correct for batches of 1, 2 and 3: the class token comes first in every "
            "sequence, and gradients reach it.")
