r"""Exercises of lesson 06, interpolating position embeddings
(``notebooks/06_interpolation.ipynb``): their checkers."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vit_tutorial.exercises.checking import (
    checker,
    fail_check,
    run_answer,
    tensor_problem,
    tensors_close,
)
from vit_tutorial.exercises.questions import Question, check_answers
from vit_tutorial.interpolation import resize_pos_embed
from vit_tutorial.model import CONFIGS
from vit_tutorial.patch_embedding import PatchEmbedding
from vit_tutorial.positional_embedding import PositionalEmbedding

__all__ = ['check_interpolation_answers', 'check_resize_pos_embed']

def _interpolation_questions() -> list[Question]:
    P = CONFIGS["vit_b_16"].patch_size
    old_grid = PatchEmbedding(224, P, 3, 1).grid_size
    grid = PatchEmbedding(384, P, 3, 1).grid_size  # Sec. 3.2: fine-tuning at 384
    wide = PatchEmbedding((384, 512), P, 3, 1).grid_size
    table = torch.zeros(1, 1 + old_grid[0] * old_grid[1], 1)  # E_pos with D = 1
    tokens = resize_pos_embed(table, grid, old_grid).shape[1]
    tokens_wide = resize_pos_embed(table, wide, old_grid).shape[1]
    kept = PositionalEmbedding(old_grid[0] * old_grid[1], 1).num_prefix_tokens
    forgot = "the class token's row stays in the sequence: N' + 1"
    return [
        Question("grid_B16_384", "the patch grid (H/P, W/P) of ViT-B/16 at 384×384", grid,
                  ((old_grid, "that is the grid at 224; the patch size stays 16 at 384"),
                   ((tokens - 1,), "the grid is 2-D: (H/P, W/P)")),
                  "which of P, H and W does Sec. 3.2 keep the same when the images grow?"),
        Question("tokens_B16_384", "rows of the resized E_pos, ViT-B/16 at 384×384", tokens,
                  ((tokens - 1, forgot),
                   (1 + old_grid[0] * old_grid[1], "that is the old length at 224")),
                  "one row per token: the class token and every patch of the new grid"),
        Question("tokens_B16_384x512", "rows of the resized E_pos, ViT-B/16 at 384×512 (H×W)",
                  tokens_wide, ((tokens_wide - 1, forgot),
                                (tokens, "that is 384×384; here W = 512")),
                  "one row per token, and the new grid is no longer square"),
        Question("unchanged_rows", "rows of E_pos that resizing keeps exactly as they were",
                  kept, ((0, "the class token has no place on the grid: it is split off and "
                             "kept as it is"),),
                  "which row has no place on the patch grid?"),
    ]


@checker("interpolation answers")
def check_interpolation_answers(answers) -> str:
    """Lesson 06, check your understanding: sizes when fine-tuning at a higher resolution.

    Args:
        answers: a dict (or a function returning one) with the keys ``grid_B16_384`` (a
            tuple), ``tokens_B16_384``, ``tokens_B16_384x512`` and ``unchanged_rows``.
    """
    return check_answers(answers, _interpolation_questions())


def _resize_variant(pos_embed, old, new, *, fold=None, size=None, mode="bicubic",
                    align_corners=False, antialias=False, bad_fold=False, bad_unfold=False,
                    grid_rows="last"):
    """One (possibly mistaken) way to resize E_pos, for the diagnoses."""
    D = pos_embed.shape[-1]
    cls, grid = pos_embed[:, :1], pos_embed[:, 1:]  # (1, 1, D), (1, N, D)
    if grid_rows == "first":  # the class token's row taken as the grid's first patch
        grid = pos_embed[:, :-1]
    fh, fw = fold or old
    nh, nw = size or new
    if bad_fold:
        grid = grid.reshape(1, D, fh, fw)  # no transpose: positions and channels mixed
    else:
        grid = grid.transpose(1, 2).reshape(1, D, fh, fw)  # (1, N, D) -> (1, D, H/P, W/P)
    smooth = mode in ("bilinear", "bicubic")
    grid = F.interpolate(grid, size=(nh, nw), mode=mode,
                         align_corners=align_corners if smooth else None, antialias=antialias)
    if bad_unfold:
        grid = grid.reshape(1, nh * nw, D)  # no transpose: positions and channels mixed
    else:
        grid = grid.flatten(2).transpose(1, 2)  # (1, D, H'/P, W'/P) -> (1, N', D)
    return torch.cat([cls, grid], dim=1)


def _resize_mistakes(pos_embed: torch.Tensor, old: tuple[int, int], new: tuple[int, int],
                     expected: torch.Tensor) -> list:
    """Known wrong ways to resize E_pos, ``(result or shape, why)``, for the diagnoses."""
    (gh, gw), (nh, nw), D = old, new, pos_embed.shape[-1]
    cls = pos_embed[:, :1]
    resized = expected[:, 1:]  # (1, N', D)
    mode_note = ("; this exercise asks for mode='bicubic' with align_corners=False and no "
                 "antialias — the libraries differ here (torchvision: align_corners=True; "
                 "timm: antialias=True), and so do the numbers (lesson 06)")
    return [
        (resized, "the class token's row is missing: split it off before resizing and put "
                  "it back in front afterwards (torch.cat([cls, grid], dim=1))"),
        ((1, nh * nw, D), "the class token's row is missing: put it back in front"),
        (torch.cat([resized, cls], dim=1),
         "the class token's row is at the end; put it back in front, at position 0"),
        (_resize_variant(pos_embed, old, new, grid_rows="first"),
         "your grid starts at row 0, the class token's, and misses the last patch: keep "
         "the class token out of the interpolation — the grid rows are pos_embed[:, 1:]"),
        (_resize_variant(pos_embed, old, new, fold=(gw, gh)),
         f"the old grid was folded as (W/P, H/P): rows and columns swapped. The N rows are "
         f"the patches in row-major order, so fold them into (1, D, H/P, W/P) = "
         f"(1, {D}, {gh}, {gw})"),
        (_resize_variant(pos_embed, old, new, size=(nw, nh)),
         f"the new grid came out (W'/P, H'/P): ask F.interpolate for size=(H'/P, W'/P) = "
         f"({nh}, {nw})"),
        (_resize_variant(pos_embed, old, new, fold=(gw, gh), size=(nw, nh)),
         "rows and columns are swapped throughout: grids are (H/P, W/P), rows first"),
        (_resize_variant(pos_embed, old, new, bad_fold=True),
         "you reshaped (1, N, D) straight to (1, D, H/P, W/P), which mixes positions and "
         "channels: transpose to (1, D, N) first"),
        (_resize_variant(pos_embed, old, new, bad_unfold=True),
         "you reshaped (1, D, H'/P, W'/P) straight to (1, N', D), which mixes positions "
         "and channels: flatten(2), then transpose(1, 2)"),
        (_resize_variant(pos_embed, old, new, align_corners=True),
         "you resized with bicubic, align_corners=True (torchvision's setting)" + mode_note),
        (_resize_variant(pos_embed, old, new, antialias=True),
         "you resized with bicubic, antialias=True (timm's setting)" + mode_note),
        (_resize_variant(pos_embed, old, new, mode="bilinear"),
         "you resized with bilinear" + mode_note),
        (_resize_variant(pos_embed, old, new, mode="bilinear", align_corners=True),
         "you resized with bilinear, align_corners=True (like the original JAX code)"
         + mode_note),
        (_resize_variant(pos_embed, old, new, mode="nearest"),
         "you resized with nearest" + mode_note),
        (_resize_variant(pos_embed, old, new, mode="area"),
         "you resized with area" + mode_note),
    ]


@checker("resize_pos_embed")
def check_resize_pos_embed(fn) -> str:
    """Lesson 06, implement it: ``fn(pos_embed, new_grid, old_grid) -> resized pos_embed``.

    ``pos_embed`` is ``(1, 1 + N, D)`` with the class token's row first and the N grid rows
    in row-major order; ``old_grid`` = ``(H/P, W/P)`` and ``new_grid`` = ``(H'/P, W'/P)``.
    Keep the class token's row as it is and resize the grid with
    ``F.interpolate(..., mode="bicubic", align_corners=False)``; return
    ``(1, 1 + N', D)``. Like :func:`vit_tutorial.interpolation.resize_pos_embed` with its
    defaults.
    """
    for old, new, D in (((3, 3), (5, 5), 4), ((2, 3), (4, 5), 4)):
        (gh, gw), (nh, nw) = old, new
        what = f"a {gh}×{gw} grid resized to {nh}×{nw}" + (
            " (non-square)" if (gh, nh) != (gw, nw) else "")
        pos_embed = torch.randn(1, 1 + gh * gw, D)
        whole = f"input of size {(1 + gh * gw) * D}"  # the class token's row folded in too
        got = run_answer(fn, pos_embed.clone(), new, old, case=f"on {what}: ",
                   hint=lambda error, whole=whole: (
                       "(1 + N)·D values: the class token's row is still in the table you fold; "
                       "keep the class token out of the interpolation — split it off "
                       "(pos_embed[:, :1]) and fold only the N grid rows"
                       if whole in str(error) else None),
                   fallback="section 2 of the lesson took the same steps for one grid; "
                            "here both grids are arguments")
        expected = resize_pos_embed(pos_embed, new, old)
        cls = pos_embed[:, :1]
        if (isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(expected.shape)
                and not tensors_close(got[:, :1], cls)):
            if tensors_close(got[:, -1:], cls):
                fail_check(f"on {what}: the class token's row is at the end; put it back in front, "
                            f"at position 0")
            fail_check(f"on {what}: the class token's row changed: keep the class token out of "
                        f"the interpolation — split it off (pos_embed[:, :1]), resize only the N "
                        f"grid rows, then put it back in front")
        variants = _resize_mistakes(pos_embed, old, new, expected)
        problem = tensor_problem(
            got, expected, variants,
            wrong_values="wrong values: compare each step with section 2 of the lesson; the "
                         "fold into an image and the flatten back each need their axes in "
                         "one right order, and the resize the settings the exercise names",
            shape_hint=f"expected 1 + {nh}·{nw} = {1 + nh * nw} tokens: the class token and "
                       f"the new grid's positions")
        if problem:
            fail_check(f"on {what}: {problem[0]}", *problem[1:])
    return ("correct on a square and a non-square grid: the class token kept out of the "
            "interpolation, the grid resized bicubically, rows first.")
