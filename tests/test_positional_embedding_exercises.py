"""Lesson 04's exercise checkers (``vit_tutorial.exercises.positional_embedding``): right
answers pass, the student stub is "not implemented yet", and each known mistake gets its own
hint."""

import torch
from checker_cases import with_answers

from vit_tutorial.exercises import positional_embedding as ex


def shuffle_solution(tokens, perm):
    return torch.cat([tokens[:, :1], tokens[:, 1:][:, perm]], dim=1)


def invariance_solution(layer, tokens, perm):
    shuffled = shuffle_solution(tokens, perm)
    return torch.allclose(layer(shuffled)[:, 0], layer(tokens)[:, 0], atol=1e-5)


def whole_sequence_equivariance(layer, tokens, perm):
    """Wrong: asks that the whole output move with the shuffle, patches included."""
    return torch.allclose(layer(shuffle_solution(tokens, perm)),
                          shuffle_solution(layer(tokens), perm), atol=1e-5)


def patch_equivariance(layer, tokens, perm):
    """Wrong: tests that the patch outputs move with the shuffle (equivariance), not that the
    class token's output stays (invariance)."""
    return torch.allclose(layer(shuffle_solution(tokens, perm))[:, 1:],
                          layer(tokens)[:, 1:][:, perm], atol=1e-5)


def shuffled_outputs_compared_to_unshuffled(layer, tokens, perm):
    return torch.allclose(layer(shuffle_solution(tokens, perm)), layer(tokens), atol=1e-5)


ANSWERS = {
    "check_pos_embed_answers": {"pos_embed_shape_B16": (197, 768),
                                "pos_embed_params_B16": 151_296,
                                "pos_embed_params_L32_384": 148_480,
                                "pos_embed_rows_no_cls_B16": 196},
}
SOLUTIONS = {
    "check_shuffle_patches": shuffle_solution,
    "check_permutation_invariance": invariance_solution,
    **ANSWERS,
}

WRONG = [  # (checker, wrong answer, text the feedback must contain)
    ("check_shuffle_patches", lambda tokens, perm: tokens[:, perm],
     "you indexed the whole sequence with perm"),
    ("check_shuffle_patches", lambda tokens, perm: shuffle_solution(tokens, perm.argsort()),
     "you applied the inverse permutation"),
    ("check_shuffle_patches",
     lambda tokens, perm: torch.cat([tokens[:, :1], tokens[:, perm]], dim=1), "off by one"),
    ("check_permutation_invariance", lambda layer, tokens, perm: True,
     "said True for position embeddings followed by the same encoder block"),
    ("check_permutation_invariance", shuffled_outputs_compared_to_unshuffled,
     "said False for an encoder block without position embeddings"),
    ("check_permutation_invariance", lambda layer, tokens, perm: 1.0, "return True or False"),
    ("check_permutation_invariance", patch_equivariance,
     "not whether the patch outputs move with the patches (equivariance)"),
    ("check_permutation_invariance", whole_sequence_equivariance,
     "the question is about the class token's output alone"),
    ("check_pos_embed_answers", with_answers(ANSWERS, "check_pos_embed_answers",
                                             pos_embed_params_B16=150_528),
     "E_pos has a row for the class token too"),
    ("check_pos_embed_answers", with_answers(ANSWERS, "check_pos_embed_answers",
                                             pos_embed_shape_B16=(196, 768)),
     "E_pos has a row for the class token too")
]


def test_the_catch_all_hint_points_without_handing_over_the_solution():
    result = ex.check_permutation_invariance(shuffled_outputs_compared_to_unshuffled)
    assert "which rows of the two outputs you compare" in result.message
    assert "[:, 0]" not in result.message and "allclose" not in result.message


def test_other_right_answers_are_accepted():
    pos = with_answers(ANSWERS, "check_pos_embed_answers", pos_embed_shape_B16=(1, 197, 768))
    result = ex.check_pos_embed_answers(pos)
    assert result and "stores it as (1, N + 1, D)" in result.message
