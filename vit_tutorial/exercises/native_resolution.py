r"""Exercises of lesson 11, any shape, any size (``notebooks/11_native_resolution.ipynb``):
their checkers."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vit_tutorial.exercises.checking import checker, fail_check, run_answer, tensor_problem
from vit_tutorial.exercises.questions import Question, check_answers
from vit_tutorial.native_resolution import (
    FactorizedPositionalEmbedding,
    attention_mask,
    fit_to_budget,
    pack_lengths,
)

__all__ = ["check_native_resolution_answers", "check_factorized_pos_embed",
           "check_attention_mask"]

PACKED_LENGTHS = (200, 100, 150, 50, 60)  # tokens of five images, packed in rows of 256


def _native_resolution_questions() -> list[Question]:
    gh, gw = (s // 16 for s in fit_to_budget((1080, 1920), 16, 256))  # 12 × 21
    n = 20  # patches of one image in a batch padded to 50 tokens
    rows = len(pack_lengths(PACKED_LENGTHS, 256))
    return [
        Question("tokens_frame_1080x1920", "patches NaFlex gives a 1080×1920 video frame "
                  "(H×W) with P = 16 and a budget of 256 tokens", gh * gw,
                  ((256, "that is the budget itself, a 16×16 square; NaFlex keeps the 9:16 "
                         "aspect, and its grid need not use every token"),
                   (gh * (gw + 1), f"{gh}×{gw + 1} = {gh * (gw + 1)} is over the budget: round "
                                   f"each side up to whole patches, then check the product"),
                   ((gh - 1) * gw, f"{gh - 1}×{gw} fits the budget, but a larger grid with the "
                                   f"same aspect fits too"),
                   (9 * 16, "9×16 keeps the aspect exactly but uses only 144 of the 256 "
                            "tokens; scale further")),
                  "scale the frame until one more patch on a side would pass the budget; each "
                  "side is rounded up to whole patches"),
        Question("mask_pairs_20_patches", "(query, key) pairs allowed in the attention mask "
                  f"of an image with {n} patches and a class token, padded to 50 tokens",
                  (n + 1) ** 2,
                  ((50 ** 2, "that counts every pair of the padded row; the 29 padding tokens "
                             "take no part, as queries or as keys"),
                   (n ** 2, "the class token is a real token too: it attends and is attended "
                            "to"),
                   ((n + 1) * 50, "that masks the keys only; timm's mask needs the query to "
                                  "be real too")),
                  "which tokens of the padded row are real?"),
        Question("factorized_parameters_B16", "trainable numbers in NaViT's factorized E_pos "
                  "on a 16×16 base grid with D = 768", (16 + 16) * 768,
                  ((16 * 16 * 768, "that is the learned table with one row per position; "
                                   "factorized keeps one vector per row and one per column"),
                   (16 * 768, "that is one of the two tables; there is one for the rows and "
                              "one for the columns")),
                  "one D-vector per row of the grid and one per column"),
        Question("packed_rows", "rows of 256 tokens that first fit needs for five images "
                  f"of {', '.join(map(str, PACKED_LENGTHS))} tokens, in that order", rows,
                  ((len(PACKED_LENGTHS), "one row per image is padding, not packing; an "
                                         "image goes into the first row with room for it"),
                   (2, f"{sum(PACKED_LENGTHS)} tokens don't fit in 2 × 256")),
                  "put each image into the first row that still has room for it"),
    ]


@checker("native resolution answers")
def check_native_resolution_answers(answers) -> str:
    """Lesson 11, check your understanding: budgets, masks, factorized E_pos and packing.

    Args:
        answers: a dict (or a function returning one) with the keys
            ``tokens_frame_1080x1920``,
            ``mask_pairs_20_patches``, ``factorized_parameters_B16`` and ``packed_rows``.
    """
    return check_answers(answers, _native_resolution_questions())


def _factorized_variants(e_y, e_x, grid) -> list:
    gh, gw = grid
    D = e_y.shape[-1]

    def resample(table, n, **kw):
        x = F.interpolate(table.transpose(1, 2), size=n, **kw)  # (1, D, n)
        return x.transpose(1, 2)  # (1, n, D)

    y, x = resample(e_y, gh, mode="linear"), resample(e_x, gw, mode="linear")
    return [
        ((x[:, :, None] + y[:, None, :]).reshape(1, -1, D),
         "your positions come column by column; number them row by row (row-major), as the "
         "patches: row r, column c is position r·W' + c"),
        (torch.cat([y[:, :, None].expand(-1, -1, gw, -1), x[:, None].expand(-1, gh, -1, -1)],
                   dim=-1).reshape(1, -1, 2 * D),
         "you concatenated the two vectors; NaViT adds them: E_y[r] + E_x[c]"),
        ((resample(e_y, gh, mode="nearest")[:, :, None]
          + resample(e_x, gw, mode="nearest")[:, None]).reshape(1, -1, D),
         "the tables were resized with 'nearest'; timm interpolates each linearly "
         "(mode='linear', align_corners=False)"),
        ((resample(e_y, gh, mode="linear", align_corners=True)[:, :, None]
          + resample(e_x, gw, mode="linear", align_corners=True)[:, None]).reshape(1, -1, D),
         "the tables were resized with align_corners=True; timm uses align_corners=False"),
        ((resample(e_x, gh, mode="linear")[:, :, None]
          + resample(e_y, gw, mode="linear")[:, None]).reshape(1, -1, D),
         "E_y and E_x are swapped: the rows' table E_y goes with the grid's rows (H'), the "
         "columns' table E_x with its columns (W')"),
    ]


@checker("factorized_pos_embed")
def check_factorized_pos_embed(fn) -> str:
    """Lesson 11, implement it: ``fn(pos_embed_y, pos_embed_x, grid_size) -> (1, H'·W', D)``.

    ``pos_embed_y`` is ``(1, h, D)`` (one vector per row), ``pos_embed_x`` ``(1, w, D)``
    (one per column), ``grid_size`` the image's grid ``(H', W')``. Interpolate each table
    linearly (``align_corners=False``) to ``H'`` and ``W'`` entries, then give the patch
    at (r, c) the sum of row r's and column c's vectors, positions row-major — what
    :class:`~vit_tutorial.native_resolution.FactorizedPositionalEmbedding`'s ``table``
    returns.
    """
    cases = (((3, 4), (3, 4), "the base grid itself (3×4)"),
             ((3, 4), (5, 7), "a 3×4 base grid stretched to 5×7"),
             ((4, 4), (2, 6), "a 4×4 base grid to a 2×6 grid (down and up)"))
    for base, grid, what in cases:
        table = FactorizedPositionalEmbedding(base, 6)
        e_y, e_x = table.pos_embed_y.detach(), table.pos_embed_x.detach()
        got = run_answer(fn, e_y.clone(), e_x.clone(), grid, case=f"on {what}: ",
                         fallback="resize each table with F.interpolate on (1, D, n), "
                                  "mode='linear', then add E_y[:, :, None] + E_x[:, None]")
        with torch.no_grad():
            expected = table.table(grid)
        problem = tensor_problem(
            got, expected, _factorized_variants(e_y, e_x, grid),
            wrong_values="wrong values: each table interpolated linearly to the grid's length "
                         "(align_corners=False), then E_y[r] + E_x[c] at row r, column c",
            shape_hint=f"expected (1, H'·W', D) = (1, {grid[0] * grid[1]}, 6): one vector per "
                       f"patch, rows first")
        if problem:
            fail_check(f"on {what}: {problem[0]}", *problem[1:])
    return ("correct on the base grid, a larger one and a non-square one: each table "
            "interpolated linearly, E_y[r] + E_x[c], row-major — NaViT's factorized E_pos.")


def _mask_variants(valid: torch.Tensor, k: int) -> list:
    B, N = valid.shape
    big = torch.finfo(torch.float32).min
    full = torch.cat([valid.new_ones(B, k), valid], dim=1)  # (B, T)
    both = full[:, :, None] & full[:, None, :]  # (B, T, T)
    keys = full[:, None, :].expand(-1, full.shape[1], -1)  # (B, T, T): key real only
    additive = lambda allowed, low=big: torch.zeros(allowed.shape).masked_fill(  # noqa: E731
        ~allowed, low)
    at_end = torch.cat([valid, valid.new_ones(B, k)], dim=1)
    return [
        (additive(keys)[:, None], "that masks the keys only: a padding token may still attend "
                                  "to the real ones. timm's mask needs both the query and the "
                                  "key to be real: valid[:, :, None] & valid[:, None, :]"),
        (additive(~both)[:, None], "0 and the large negative number are swapped: 0 where "
                                   "both tokens are real, the minimum where one is padding"),
        (additive(both), "add the head axis: the mask is (B, 1, T, T), one for every head"),
        ((B, 1, N, N), "the class token (and other prefix tokens) are missing: put "
                       "num_prefix_tokens True entries in front of patch_valid first"),
        (additive(at_end[:, :, None] & at_end[:, None, :])[:, None],
         "the prefix tokens went to the end; they come first, in front of the patches"),
        (additive(both, -1e9)[:, None], "the masked value is -1e9; timm uses the most "
                                        "negative float32, torch.finfo(torch.float32).min"),
        (additive(both, -1e4)[:, None], "the masked value is -1e4; timm uses the most "
                                        "negative float32, torch.finfo(torch.float32).min"),
    ]


@checker("attention_mask")
def check_attention_mask(fn) -> str:
    """Lesson 11, implement it: ``fn(patch_valid, num_prefix_tokens) -> (B, 1, T, T)``.

    ``patch_valid`` is ``(B, N)`` bool. The prefix tokens are always real; a pair
    (query i, key j) is allowed when both tokens are real. Return an additive float32 mask:
    0 where allowed, ``torch.finfo(torch.float32).min`` where not — what
    :func:`~vit_tutorial.native_resolution.attention_mask` and timm's
    ``create_attention_mask`` return.
    """
    cases = (([[1, 1, 1, 0], [1, 1, 1, 1]], 1, "two images of 3 and 4 patches, a class token"),
             ([[1, 0, 0], [1, 1, 0], [1, 1, 1]], 0, "three images, no prefix token"),
             ([[1, 1, 0, 0, 0]], 2, "one image of 2 patches, a class token and a register"))
    for rows, k, what in cases:
        valid = torch.tensor(rows, dtype=torch.bool)
        got = run_answer(fn, valid.clone(), k, case=f"on {what}: ",
                         fallback="prepend the prefix tokens' True entries, then "
                                  "valid[:, :, None] & valid[:, None, :]")
        expected = attention_mask(valid, k)
        if isinstance(got, torch.Tensor) and got.dtype == torch.bool:
            fail_check(f"on {what}: you returned booleans; timm's mask is additive floats: 0 where "
                       f"allowed, torch.finfo(torch.float32).min where not (masked_fill on zeros)")
        if isinstance(got, torch.Tensor) and got.is_floating_point() \
                and torch.isinf(got.detach()).any():
            fail_check(f"on {what}: your mask holds -inf. A padding token may attend to "
                       f"nothing, so its row would be all -inf and its softmax 0/0 = NaN, which "
                       f"spreads; use the most negative finite number, "
                       f"torch.finfo(torch.float32).min")
        problem = tensor_problem(got, expected, _mask_variants(valid, k),
                                 wrong_values="wrong values: 0 where the query and the key "
                                              "are both real, the minimum elsewhere",
                                 shape_hint=f"expected (B, 1, T, T) with T = {k} prefix + "
                                            f"{valid.shape[1]} patches")
        if problem:
            fail_check(f"on {what}: {problem[0]}", *problem[1:])
    return ("correct with and without prefix tokens: both tokens real -> 0, otherwise the "
            "most negative float32, shaped (B, 1, T, T) — timm's padding mask.")
