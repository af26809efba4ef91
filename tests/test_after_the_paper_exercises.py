"""Lesson 10's exercise checkers (``vit_tutorial.exercises.after_the_paper``): right answers
pass, the student stub is "not implemented yet", and each known mistake gets its own hint."""

import torch
import torch.nn.functional as F
from checker_cases import assert_passes, with_answers

from vit_tutorial.after_the_paper import patch_resize_matrix
from vit_tutorial.exercises import after_the_paper as ex


def pi_resize_with(antialias=True, interpolation="bicubic", swap=False, transpose=False,
                   inverse=True):
    def fn(weight, new_size):
        D, C, ph, pw = weight.shape
        B = patch_resize_matrix((ph, pw), new_size, antialias=antialias,
                          interpolation=interpolation)  # (P'², P²)
        flat = weight.reshape(D, C, ph * pw)  # (D, C, P²)
        resized = flat @ (torch.linalg.pinv(B) if inverse else B.T)  # (D, C, P'²)
        nh, nw = new_size
        out = resized.reshape(D, C, *((nw, nh) if swap else (nh, nw)))
        return out.transpose(-2, -1) if transpose else out
    return fn


def pi_resize_lstsq(weight, new_size):
    """Another right answer: the minimum-norm least-squares solution of B^T w' = w. (The
    driver matters: with torch 2.11's default, "gelsy", an upsampling's underdetermined
    system comes back with another, not minimum-norm, solution; "gelsd" uses the SVD.)"""
    D, C, ph, pw = weight.shape
    B = patch_resize_matrix((ph, pw), new_size)
    solution = torch.linalg.lstsq(B.T, weight.reshape(D * C, ph * pw).T,
                                  driver="gelsd").solution  # (P'², D·C)
    return solution.T.reshape(D, C, *new_size)


def plain_resize(weight, new_size):
    return F.interpolate(weight, size=new_size, mode="bicubic", antialias=True)


ANSWERS = {
    "check_after_the_paper_answers": {"resize_matrix_8_to_6": (36, 64),
                                      "tokens_B16_4_registers": 201,
                                      "rope_axial_parameters_B16": 0,
                                      "column_pairs_per_head_B16": 16},
}
SOLUTIONS = {
    "check_pi_resize": pi_resize_with(),
    **ANSWERS,
}

WRONG = [  # (checker, wrong answer, text the feedback must contain)
    ("check_pi_resize", plain_resize, "that is the plain resize"),
    ("check_pi_resize", lambda w, new: plain_resize(w, new) * w[0, 0].numel() / (new[0] * new[1]),
     "scaled by (P/P')² (area-normalised)"),
    ("check_pi_resize", pi_resize_with(inverse=False), "that is the plain resize"),
    ("check_pi_resize", pi_resize_with(swap=True), "your filters came out (P'_w, P'_h)"),
    ("check_pi_resize", pi_resize_with(transpose=True),
     "rows and columns of the new filters are swapped"),
    ("check_pi_resize", pi_resize_with(antialias=False), "built without antialias"),
    ("check_pi_resize", pi_resize_with(interpolation="bilinear"), "of a bilinear patch resize"),
    ("check_pi_resize",  # pinv(B) on the wrong side: a matrix-product error
     lambda w, new: w.reshape(*w.shape[:2], -1) @ torch.linalg.pinv(
         patch_resize_matrix(tuple(w.shape[-2:]), new)).T,
     "on which side of the flattened filters does torch.linalg.pinv(B) go"),
    ("check_after_the_paper_answers",
     with_answers(ANSWERS, "check_after_the_paper_answers", resize_matrix_8_to_6=(64, 36)),
     "that is B^T"),
    ("check_after_the_paper_answers",  # the shape the lesson printed, for another resize
     with_answers(ANSWERS, "check_after_the_paper_answers", resize_matrix_8_to_6=(64, 16)),
     "that is step 1's B"),
    ("check_after_the_paper_answers",
     with_answers(ANSWERS, "check_after_the_paper_answers", tokens_B16_4_registers=200),
     "the class token is still there"),
    ("check_after_the_paper_answers",
     with_answers(ANSWERS, "check_after_the_paper_answers", tokens_B16_4_registers=197),
     "that is without the registers"),
    ("check_after_the_paper_answers",
     with_answers(ANSWERS, "check_after_the_paper_answers", rope_axial_parameters_B16=151_296),
     "that is the learned E_pos of ViT-B/16"),
    ("check_after_the_paper_answers",
     with_answers(ANSWERS, "check_after_the_paper_answers", column_pairs_per_head_B16=32),
     "half of them turn by the column"),
    ("check_after_the_paper_answers",
     with_answers(ANSWERS, "check_after_the_paper_answers", column_pairs_per_head_B16=7),
     "axial RoPE shares the pairs between the two axes"),
    ("check_after_the_paper_answers",
     with_answers(ANSWERS, "check_after_the_paper_answers", column_pairs_per_head_B16=64),
     "that counts channels"),
]


def test_least_squares_is_right_too(capsys):
    assert_passes(ex.check_pi_resize, pi_resize_lstsq, capsys)


def test_the_catch_all_points_without_the_formula():
    result = ex.check_pi_resize(lambda w, new: torch.ones(*w.shape[:2], *new))
    assert not result and "solve B^T w' = w" in result.message
    assert "pinv(B)" not in result.message and "@" not in result.message
