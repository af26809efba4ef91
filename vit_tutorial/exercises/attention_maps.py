r"""Exercises of lesson 09, what a trained ViT learns (``notebooks/09_attention_maps.ipynb``):
their checkers."""

from __future__ import annotations

import torch

from vit_tutorial.attention_maps import (
    mean_attention_distance,
    uniform_attention_distance,
)
from vit_tutorial.exercises.checking import checker, fail_check, run_answer, tensor_problem
from vit_tutorial.exercises.questions import Question, check_answers
from vit_tutorial.grid import grid_distances
from vit_tutorial.model import TINY_VIT_CONFIG

__all__ = ["check_attention_map_answers", "check_mean_attention_distance"]


def _attention_map_questions() -> list[Question]:
    config = TINY_VIT_CONFIG
    grid = config.image_size // config.patch_size  # 7
    T = grid * grid + 1
    shape = (1, config.num_heads, T, T)
    pair = uniform_attention_distance((1, 2), 16)  # 1×2 grid of 16-pixel patches: 8 px
    one_layer = torch.full((1, 1, 2, 2), 0.5)  # a layer's attention: every row sums to 1
    factor = one_layer.mean(dim=1) + torch.eye(2)  # Ā + I, rows not renormalised: (1, T, T)
    product = torch.linalg.matrix_power(factor, config.depth)  # one factor per layer
    row_sum = round(product[0, 0].sum().item())  # 2 ** depth
    return [
        Question("attention_shape_course_model", "shape of one layer's attention weights for "
                                                 "one 28×28 image, the course model", shape,
                 (((1, config.num_heads, T - 1, T - 1), "the class token takes part in "
                                                        "attention too: T = N + 1"),
                  ((1, T, T), "one map per head: (B, h, T, T)"),
                  ((config.num_heads, T, T), "keep the batch axis: (B, h, T, T)"),
                  ((config.depth, config.num_heads, T, T), "that is every layer at once; "
                                                           "one layer's is (B, h, T, T)")),
                 "(B, h, T, T) with T = N + 1; the course model has TinyViT's sizes"),
        Question("rollout_row_sum_no_renorm", "what each row of the course model's rollout R "
                                              "sums to if each layer's factor is Ā + I, the "
                                              "rows not renormalised", row_sum,
                 ((1, "that is R as step 2 of the rollout builds it, each row renormalised; "
                      "here the rows of Ā + I are left as they are"),
                  (2, "that is one factor's row sum; R multiplies one factor per layer"),
                  (2 * config.depth, "row sums multiply in a matrix product; they don't add"),
                  (1 + config.depth, "row sums multiply in a matrix product; they don't add"),
                  (0, "every entry of R is a share of a token's input, none negative")),
                 "what does each row of Ā + I sum to, and what happens to constant row sums "
                 "when such matrices are multiplied?"),
        Question("self_only_distance_px", "mean attention distance (pixels) of a head in which "
                                          "every patch attends only to itself", 0,
                 ((1, "that is the attention weight; the distance from a patch to itself, in "
                      "pixels, is what it multiplies"),),
                 "each query's distances are weighted by its attention: where does all of it "
                 "go?"),
        Question("uniform_distance_1x2_P16", "mean attention distance (pixels) of a head that "
                                             "attends equally to both patches of a 1×2 grid of "
                                             "16×16-pixel patches", round(pair),
                 ((16, "that is the distance to the other patch alone; each query also "
                       "attends to itself"),
                  (1, "in pixels, not patches: patch centres are P = 16 pixels apart"),
                  (0.5, "in pixels, not patches: patch centres are P = 16 pixels apart")),
                 "each query splits its attention evenly between the two patches; weight each "
                 "patch's distance, in pixels, by its share"),
    ]


@checker("attention map answers")
def check_attention_map_answers(answers) -> str:
    """Lesson 09, check your understanding: attention weights, rollout and attention distance.

    Args:
        answers: a dict (or a function returning one) with the keys
            ``attention_shape_course_model`` (a tuple), ``rollout_row_sum_no_renorm``,
            ``self_only_distance_px`` and ``uniform_distance_1x2_P16``.
    """
    return check_answers(answers, _attention_map_questions())


# --- implement it: the mean attention distance of one layer ---------------------------------

def _random_attention(B: int, h: int, T: int) -> torch.Tensor:
    """Attention weights whose rows sum to 1, far from symmetric, and a class token that
    takes a good share (so that keeping it, or not renormalising, shows)."""
    scores = torch.randn(B, h, T, T) * 1.5
    scores[..., 0] += 1.0  # every query looks at the class token a fair bit
    return scores.softmax(dim=-1)


def _distance_variants(attention: torch.Tensor, grid: tuple[int, int], P: int) -> list:
    """The usual mistakes, each computed in float64 (compared by value, whatever the dtype)."""
    A = attention.double()
    N = grid[0] * grid[1]
    patches = A[..., 1:, 1:]  # (B, h, N, N)
    rows = patches / patches.sum(-1, keepdim=True)
    pixels = grid_distances(grid, "euclidean", patch_size=P)  # (N, N)
    swapped = grid_distances(grid[::-1], "euclidean", patch_size=P)

    def weighted(weights, distance):
        return (weights * distance).sum(-1).mean(dim=(0, 2))  # (B, h, N, N) -> (h,)

    padded = torch.zeros(N + 1, N + 1, dtype=torch.float64)
    padded[1:, 1:] = pixels  # the class token placed at distance 0 from everything
    with_cls = (A * padded).sum(-1)  # (B, h, T)
    return [
        (weighted(patches, pixels),
         "the rows were not renormalised: without the class token's column (or with it "
         "counted at distance 0), each query's weights over the N patches sum to less than "
         "1; drop it and divide each row by its sum"),
        (with_cls.mean(dim=(0, 2)),
         "the class token is still in: drop its row and column (attention[..., 1:, 1:]), "
         "then renormalise each row over the N patches — it has no place in the image"),
        (weighted(rows, pixels / P),
         f"these are patches, not pixels: patch centres are P = {P} pixels apart"),
        (weighted(rows, grid_distances(grid, "steps", patch_size=P)),
         "the distance is a straight line between patch centres, "
         "sqrt(Δrow² + Δcol²)·P, not |Δrow| + |Δcol| steps"),
        (weighted(rows, grid_distances(grid, "chebyshev", patch_size=P)),
         "the distance is a straight line between patch centres, "
         "sqrt(Δrow² + Δcol²)·P, not max(|Δrow|, |Δcol|)"),
        (weighted(rows, swapped) if grid[0] != grid[1] else None,
         f"rows and columns of the grid swapped: patch n sits in row n // (W/P) and column "
         f"n % (W/P), with (H/P, W/P) = {grid}"),
        ((rows * pixels).sum(-1).mean(dim=2), "average over the images too: one value per "
                                              "head, (h,)"),
        ((rows * pixels).sum(-1).mean(dim=(1, 2)), "one value per head, (h,): average over "
                                                   "the images and query patches, not over "
                                                   "the heads"),
        ((rows * pixels).sum(-1).mean(), "one value per head, (h,): average over the images "
                                         "and query patches, not over the heads"),
    ]


@checker("mean_attention_distance")
def check_mean_attention_distance(fn) -> str:
    r"""Lesson 09, implement it: ``fn(attention, grid_size, patch_size) -> (h,)``.

    ``attention`` is one layer's weights ``(B, h, T, T)``, the class token first
    (``T = 1 + N``); ``grid_size`` is ``(H/P, W/P)`` and ``patch_size`` $P$ in pixels. Return
    each head's mean attention distance in pixels, over all query patches and images, with
    the class token's row and column dropped and the rows renormalised — like
    :func:`vit_tutorial.attention_maps.mean_attention_distance`.
    """
    for grid, P, B, h, dtype in (((3, 3), 4, 2, 3, torch.float32),
                                 ((2, 4), 5, 3, 2, torch.float32),
                                 ((2, 3), 4, 2, 2, torch.float64)):
        gh, gw = grid
        T = 1 + gh * gw
        what = (f"a {gh}×{gw} grid" + (" (non-square)" if gh != gw else "")
                + f", P = {P}, attention of shape {(B, h, T, T)}"
                + (", float64" if dtype == torch.float64 else ""))
        attention = _random_attention(B, h, T).to(dtype)
        got = run_answer(fn, attention.clone(), grid, P, case=f"on {what}: ",
                         hint=lambda error, T=T, N=gh * gw: (
                             f"T = {T} tokens met an (N, N) = ({N}, {N}) distance table: drop "
                             f"the class token's row and column first (attention[..., 1:, 1:])"
                             if f"({T})" in str(error) and f"({N})" in str(error) else None))
        expected = mean_attention_distance(attention, grid, P)  # (h,), the input's dtype
        variants = [(v, m) for v, m in _distance_variants(attention, grid, P) if v is not None]
        variants += [((B, h), "average over the images too: one value per head, (h,)"),
                     ((), "one value per head, (h,): average over the images and query "
                          "patches, not over the heads"),
                     ((B,), "one value per head, (h,): average over the images and query "
                            "patches, not over the heads")]
        problem = tensor_problem(got, expected, variants,
                                 wrong_values="wrong values: for each query patch, sum the "
                                              "attention-weighted pixel distances to the key "
                                              "patches, then average over queries and images")
        if problem:
            fail_check(f"on {what}: {problem[0]}", *problem[1:])
    return ("correct on a square and a non-square grid, in float32 and float64: the class "
            "token dropped, rows renormalised, pixel distances between patch centres weighted "
            "per query, averaged over queries and images.")
