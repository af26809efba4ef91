r"""Exercises of lesson 10, after the paper (``notebooks/10_after_the_paper.ipynb``): their
checkers."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vit_tutorial.after_the_paper import (
    patch_resize_matrix,
    resample_patch_embed,
    rope_2d_axial,
)
from vit_tutorial.exercises.checking import checker, fail_check, run_answer, tensor_problem
from vit_tutorial.exercises.questions import Question, check_answers
from vit_tutorial.model import CONFIGS, ViTConfig

__all__ = ["check_after_the_paper_answers", "check_pi_resize"]


def _after_the_paper_questions() -> list[Question]:
    b16 = CONFIGS["vit_b_16"]
    P, D, h = b16.patch_size, b16.embed_dim, b16.num_heads
    N = (b16.image_size // P) ** 2  # 196
    B = patch_resize_matrix(8, 6)  # an 8×8 patch resized to 6×6
    head_dim = D // h
    column_pairs = rope_2d_axial(1, head_dim)[0].shape[-1] // 4  # D_h/4 pairs per axis
    registers = ViTConfig(num_register_tokens=4).num_prefix_tokens + N
    flattened = "B acts on flattened patches: one row per new pixel, one column per old one"
    return [
        Question("resize_matrix_8_to_6", "the shape of the resize matrix B that turns an 8×8 "
                  "patch into a 6×6 patch (x' = B x, patches flattened)", tuple(B.shape),
                  ((tuple(B.shape)[::-1], "that is B^T: B maps the old pixels to the new ones, "
                                          "so it has one row per new pixel"),
                   ((6, 8), flattened), ((8, 6), flattened),
                   (tuple(patch_resize_matrix(4, 8).shape), "that is step 1's B, from 4×4 to "
                                                            "8×8; here the patch shrinks")),
                  "x' = B x: B has one row per value of x' and one column per value of x"),
        Question("tokens_B16_4_registers", "tokens the encoder of ViT-B/16 at 224×224 reads "
                  "with 4 registers", registers,
                  ((N + 4, "the class token is still there, in front of the registers"),
                   (N + 1, "that is without the registers"),
                   (N, "the patches are not the only tokens")),
                  "count every token the encoder reads: the class token, the registers and "
                  "the patches"),
        Question("rope_axial_parameters_B16", "trainable parameters of axial 2-D RoPE in "
                  "ViT-B/16", 0,
                  (((N + 1) * D, f"that is the learned E_pos of ViT-B/16, (N + 1)·D = "
                                 f"{(N + 1) * D:,}, which RoPE replaces; the angles of axial "
                                 f"RoPE are fixed numbers, not weights"),
                   (N * D, "that is the size of a table for the patches; axial RoPE's angles "
                           "are computed from the row and column, not learned")),
                  "are the rotation angles of RoPE-Axial learned?"),
        Question("column_pairs_per_head_B16", "channel pairs of one ViT-B/16 head that axial "
                  "RoPE turns by the column (D_h = 768/12)", column_pairs,
                  ((2 * column_pairs, "that is all the pairs of a head, D_h/2; half of them "
                                      "turn by the column, half by the row"),
                   (head_dim, "that counts channels (D_h = 64); RoPE rotates pairs of them, "
                              "and half of the pairs go to the row"),
                   (head_dim // 2, "that is all the pairs of a head, D_h/2; half of them turn "
                                   "by the column, half by the row"),
                   (D // 4, "per head: D_h = D/h = 64, not D")),
                  "RoPE turns pairs of one head's channels, and axial RoPE shares the pairs "
                  "between the two axes"),
    ]


@checker("after the paper answers")
def check_after_the_paper_answers(answers) -> str:
    """Lesson 10, check your understanding: the sizes of PI-resize, registers and RoPE.

    Args:
        answers: a dict (or a function returning one) with the keys ``resize_matrix_8_to_6``
            (a tuple), ``tokens_B16_4_registers``, ``rope_axial_parameters_B16`` and
            ``column_pairs_per_head_B16``.
    """
    return check_answers(answers, _after_the_paper_questions())


def _pi_variants(weight: torch.Tensor, new: tuple[int, int]) -> list:
    """Known wrong ways to resize ``weight`` (D, C, P_h, P_w) to ``new``, with their hints."""
    D, C, ph, pw = weight.shape
    nh, nw = new
    B = patch_resize_matrix((ph, pw), new)  # (P'², P²)
    flat = weight.reshape(D, C, ph * pw)  # (D, C, P²)
    plain = F.interpolate(weight, size=new, mode="bicubic", antialias=True)
    area = (ph * pw) / (nh * nw)
    pi = flat @ torch.linalg.pinv(B)  # (D, C, P'²): the right values
    return [
        (plain, "that is the plain resize — the filters resized like images (B w): the lesson "
                "showed that it changes the tokens. PI-resize solves B^T w' = w instead"),
        (plain * area, "that is the plain resize scaled by (P/P')² (area-normalised): it keeps "
                       "the sum of each filter, but not the tokens; use w' = (B^T)^+ w"),
        (pi.reshape(D, C, nw, nh),
         "your filters came out (P'_w, P'_h): reshape the result to (D, C, P'_h, P'_w), "
         "rows first"),
        (pi.reshape(D, C, nh, nw).transpose(-2, -1),
         "rows and columns of the new filters are swapped: reshape to (D, C, P'_h, P'_w) "
         "without a transpose"),
        ((flat @ torch.linalg.pinv(patch_resize_matrix((ph, pw), new, antialias=False))
          ).reshape(D, C, nh, nw),
         "PI-resize, but with a resize matrix built without antialias; use "
         "patch_resize_matrix(old, new) with its defaults (bicubic, antialias=True, as timm)"),
        ((flat @ torch.linalg.pinv(patch_resize_matrix((ph, pw), new,
                                                 interpolation="bilinear"))
          ).reshape(D, C, nh, nw),
         "PI-resize, but of a bilinear patch resize; use patch_resize_matrix(old, new) with "
         "its defaults (bicubic, as timm)"),
    ]


def _shape_hint(error: BaseException) -> str | None:
    text = str(error)
    if "cannot be multiplied" in text or "size of tensor" in text:
        return ("the shapes don't fit a matrix product: is each filter flattened to one axis "
                "first, and on which side of the flattened filters does torch.linalg.pinv(B) "
                "go? Compare the inner sizes")
    return None


@checker("pi_resize")
def check_pi_resize(fn) -> str:
    """Lesson 10, implement it: ``fn(weight, new_size) -> resized weight`` (PI-resize).

    ``weight`` is a ``Conv2d`` weight ``(D, C, P_h, P_w)``, ``new_size`` a pair
    ``(P'_h, P'_w)``. With ``B = patch_resize_matrix((P_h, P_w), new_size)``, return the
    filters $w' = (B^\\top)^{+} w$, shape ``(D, C, P'_h, P'_w)`` — what
    :func:`vit_tutorial.after_the_paper.resample_patch_embed` returns with its defaults.
    """
    cases = (((4, 4), (8, 8), "4×4 filters resized to 8×8 (upsampling)"),
             ((4, 6), (6, 5), "4×6 filters resized to 6×5 (non-square, up and down)"),
             ((6, 6), (4, 4), "6×6 filters resized to 4×4 (downsampling)"))
    for old, new, what in cases:
        weight = torch.randn(3, 2, *old)  # (D, C, P_h, P_w)
        got = run_answer(fn, weight.clone(), new, case=f"on {what}: ", hint=_shape_hint,
                         fallback="step 3 of the lesson did it for one patch size; here "
                                  "every filter of every channel is resized")
        expected = resample_patch_embed(weight, new)
        problem = tensor_problem(
            got, expected, _pi_variants(weight, new),
            wrong_values="wrong values: the resized filters solve B^T w' = w for every filter; "
                         "check on which side of w the pseudo-inverse acts, and that each "
                         "filter is flattened and unflattened row by row")
        if problem:
            fail_check(f"on {what}: {problem[0]}", *problem[1:])
    return ("correct when upsampling, downsampling and on non-square filters: "
            "w' = (B^T)^+ w, FlexiViT's PI-resize.")
