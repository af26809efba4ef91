"""Lesson 03's exercise checkers (``vit_tutorial.exercises.class_token``): right answers pass,
the student stub is "not implemented yet", and each known mistake gets its own hint."""

import torch
from checker_cases import with_answers


def prepend_solution(tokens, cls_token):
    cls = cls_token.expand(tokens.shape[0], -1, -1)  # (1, 1, D) -> (B, 1, D)
    return torch.cat([cls, tokens], dim=1)


ANSWERS = {
    "check_class_token_answers": {"z0_shape_B16_batch8": (8, 197, 768), "cls_params_B16": 768,
                                  "cls_position": 0, "y_shape_batch8": (8, 768)},
}
SOLUTIONS = {
    "check_prepend_class_token": prepend_solution,
    **ANSWERS,
}

WRONG = [  # (checker, wrong answer, text the feedback must contain)
    ("check_prepend_class_token",
     lambda tokens, cls: torch.cat([tokens, cls.expand(tokens.shape[0], -1, -1)], dim=1),
     "the class token was appended; it is prepended"),
    ("check_prepend_class_token", lambda tokens, cls: torch.cat([cls, tokens], dim=1),
     "must be expanded to (B, 1, D) — cls_token.expand(B, -1, -1)"),
    ("check_prepend_class_token", lambda tokens, cls: prepend_solution(tokens, cls.detach()),
     "no gradient reaches cls_token"),
    ("check_prepend_class_token",
     lambda tokens, cls: torch.cat([cls.expand(tokens.shape[0], -1, -1), tokens[:, 1:]], 1),
     "the class token overwrote the first patch"),
    ("check_class_token_answers",
     with_answers(ANSWERS, "check_class_token_answers", z0_shape_B16_batch8=(8, 196, 768)),
     "the class token is missing"),
    ("check_class_token_answers",
     with_answers(ANSWERS, "check_class_token_answers", cls_params_B16=6144),
     "one class token is shared by every image"),
    ("check_class_token_answers",
     with_answers(ANSWERS, "check_class_token_answers", cls_position=-1),
     "prepended, not appended")
]
