r"""Exercises of lesson 05, what the position embeddings learn
(``notebooks/05_position_similarity.ipynb``): their checkers."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vit_tutorial.exercises.checking import (
    as_number,
    checker,
    fail_check,
    run_answer,
    tensor_problem,
    type_name,
)
from vit_tutorial.exercises.questions import Question, check_answers
from vit_tutorial.model import CONFIGS
from vit_tutorial.patch_embedding import PatchEmbedding
from vit_tutorial.patches import num_patches
from vit_tutorial.positional_embedding import PositionalEmbedding, sincos_2d_pos_embed
from vit_tutorial.similarity import locality_score, position_similarity

__all__ = ['check_similarity_answers', 'check_position_similarity', 'check_locality_score']

def _similarity_questions() -> list[Question]:
    config = CONFIGS["vit_l_32"]
    grid = PatchEmbedding(224, config.patch_size, 3, 1).grid_size  # Figure 7: ViT-L/32 at 224
    table = PositionalEmbedding(grid[0] * grid[1], 4).pos_embed.detach()
    sim = position_similarity(table, grid)
    shape = tuple(sim.shape)
    itself = round(float(sim[0, 0, 0, 0]))
    lowest = round(float(position_similarity(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), (1, 2),
                                             num_prefix_tokens=0).min()))
    tiles = num_patches(384, config.patch_size)
    return [
        Question("self_similarity", "cosine similarity of an embedding with itself", itself,
                  ((0, "a vector points exactly in its own direction: cos 0° = 1"),),
                  "x·x / (‖x‖‖x‖)"),
        Question("lowest_possible_similarity", "the lowest value a cosine similarity can take",
                  lowest, ((0, "cosine similarities go below 0: two opposite vectors give "
                               "cos 180°"),),
                  "think of two vectors pointing in opposite directions"),
        Question("sim_shape_L32_224", "shape of position_similarity's table for ViT-L/32 at "
                                       "224 (Figure 7)", shape,
                  (((grid[0] * grid[1],) * 2, "that is the (N, N) matrix; the table is "
                                              "(H/P, W/P, H/P, W/P), one tile per patch"),
                   ((grid[0] * grid[1] + 1,) * 2, "the class token takes no part; and the "
                                                  "table is (H/P, W/P, H/P, W/P)"),
                   (grid, "one tile per patch, and each tile is itself a map over the grid: "
                          "(H/P, W/P, H/P, W/P)"),
                   ((14,) * 4, "that is for 16×16 patches; ViT-L/32 cuts 32×32 patches")),
                  "one tile per patch of the grid, and one value per patch in each tile"),
        Question("tiles_L32_384", "tiles in Figure 7's layout for ViT-L/32 at 384×384", tiles,
                  ((tiles + 1, "no tile for the class token: the figure shows patches only"),
                   (num_patches(384, 16), "that is for 16×16 patches; ViT-L/32 cuts 32×32 "
                                          "patches")),
                  "one tile per patch: N = (H/P)·(W/P)"),
    ]


@checker("similarity answers")
def check_similarity_answers(answers) -> str:
    """Lesson 05, check your understanding: cosine similarity and Figure 7's layout.

    Args:
        answers: a dict (or a function returning one) with the keys ``self_similarity``,
            ``lowest_possible_similarity``, ``sim_shape_L32_224`` (a tuple) and
            ``tiles_L32_384``.
    """
    return check_answers(answers, _similarity_questions())


@checker("position_similarity")
def check_position_similarity(fn) -> str:
    r"""Lesson 05, implement it: ``fn(pos_embed, grid_size) -> sim``.

    ``pos_embed`` is $E_\text{pos}$, ``(1, 1 + N, D)`` with the class token's row first;
    ``grid_size`` is ``(H/P, W/P)``. Return the ``(H/P, W/P, H/P, W/P)`` table of cosine
    similarities between the patches' embeddings (the class token left out). Like
    :func:`vit_tutorial.similarity.position_similarity`.
    """
    for grid, D in (((3, 3), 5), ((3, 4), 6)):
        gh, gw = grid
        N = gh * gw
        what = f"a {gh}×{gw} grid" + (" (non-square)" if gh != gw else "") + f", D = {D}"
        pos_embed = torch.randn(1, 1 + N, D) * 2 + 0.5
        whole = f"input of size {(N + 1) ** 2}"  # the error when row 0 (x_class) is left in
        got = run_answer(fn, pos_embed.clone(), grid, case=f"on {what}: ",
                   hint=lambda error, whole=whole: (
                       "(N + 1)² values: the class token's row is still in — "
                       "drop row 0 (pos_embed[0, 1:]) before comparing"
                       if whole in str(error) else None))
        expected = position_similarity(pos_embed, grid)
        x = pos_embed[0, 1:]  # (N, D)
        head = F.normalize(pos_embed[0, :-1], dim=-1)
        variants = [
            ((x @ x.T).reshape(gh, gw, gh, gw),
             "these are dot products, not cosine similarities: normalise each embedding to "
             "length 1 first (F.normalize(x, dim=-1)); a patch's similarity with itself must "
             "be 1"),
            ((F.normalize(x, dim=0) @ F.normalize(x, dim=0).T).reshape(gh, gw, gh, gw),
             "you normalised each channel (dim=0) instead of each position's embedding "
             "(dim=-1)"),
            ((head @ head.T).reshape(gh, gw, gh, gw),
             "you dropped the last patch's row instead of the class token's: row 0 of "
             "pos_embed is the class token, so compare pos_embed[0, 1:]"),
            ((gw, gh, gw, gh), f"rows and columns swapped: the grid is (H/P, W/P) = "
                               f"({gh}, {gw}), so the table is ({gh}, {gw}, {gh}, {gw})"),
            ((N, N), "that is the (N, N) matrix: reshape it to (H/P, W/P, H/P, W/P), so that "
                     "sim[i, j] is patch (i, j)'s tile"),
            ((N + 1, N + 1), "the class token is still in, and the table is not reshaped: "
                             "drop row 0 (pos_embed[0, 1:]), then reshape to "
                             "(H/P, W/P, H/P, W/P)"),
            ((1, gh, gw, gh, gw), "drop the batch axis of 1: pos_embed[0] is the (1 + N, D) "
                                  "table"),
        ]
        wrong = ("wrong values: a cosine-similarity table is symmetric, with 1 on its "
                 "diagonal (sim[i, j, i, j] = 1)")
        problem = tensor_problem(got, expected, variants, wrong_values=wrong)
        if problem:
            fail_check(f"on {what}: {problem[0]}", *problem[1:])
    return ("correct on a square and a non-square grid: cosine similarities of the patches' "
            "embeddings, class token left out, laid out (H/P, W/P, H/P, W/P).")


def _locality(sim: torch.Tensor, *, near: str = "4", far_metric: str = "steps",
              strict: bool = False, swapped: bool = False, far: int = 4) -> float:
    """The locality score and its common misreadings (for the diagnoses)."""
    gh, gw = sim.shape[:2]
    n = torch.arange(gh * gw)
    width = gh if swapped else gw
    rows, cols = n // width, n % width
    dr = (rows[:, None] - rows[None, :]).abs().double()  # (N, N)
    dc = (cols[:, None] - cols[None, :]).abs().double()
    steps = dr + dc
    distance = {"steps": steps, "max": torch.maximum(dr, dc),
                "euclid": (dr ** 2 + dc ** 2).sqrt()}[far_metric]
    near_mask = {"4": steps == 1, "8": torch.maximum(dr, dc) == 1, "self": steps <= 1}[near]
    far_mask = distance > far if strict else distance >= far
    flat = sim.reshape(gh * gw, gh * gw).double()
    return float(flat[near_mask].mean() - flat[far_mask].mean())


@checker("locality_score")
def check_locality_score(fn) -> str:
    """Lesson 05, implement it: ``fn(similarity) -> float``.

    ``similarity`` is the ``(H/P, W/P, H/P, W/P)`` table of
    :func:`~vit_tutorial.similarity.position_similarity`. Return the mean similarity of
    4-neighbours (``|Δrow| + |Δcol| = 1``) minus the mean over pairs 4 or more steps apart
    (``|Δrow| + |Δcol| >= 4``), as a number. Like
    :func:`vit_tutorial.similarity.locality_score` with ``far=4``.
    """
    smooth = sincos_2d_pos_embed((4, 6), 16)  # (24, 16), locality built in
    cases = [
        ("a 5×5 grid of sine–cosine embeddings",
         position_similarity(sincos_2d_pos_embed((5, 5), 16), (5, 5), num_prefix_tokens=0)),
        ("a non-square 4×6 grid (H/P×W/P) of noisy sine–cosine embeddings",
         position_similarity(smooth + 0.3 * torch.randn(smooth.shape), (4, 6),
                             num_prefix_tokens=0)),
    ]
    for what, sim in cases:
        answer = run_answer(fn, sim.clone(), case=f"on {what}: ")
        score = as_number(answer)
        if score is None:
            fail_check(f"on {what}: return a number, got {type_name(answer)} (a one-element "
                        f"tensor's .item() is one)")
        expected = locality_score(sim)
        if abs(score - expected) <= 1e-4:
            continue
        variants = [
            (_locality(sim, near="8"), "you counted 8 neighbours (diagonals too); a neighbour "
                                       "here is one of the 4 patches one step away, "
                                       "|Δrow| + |Δcol| = 1"),
            (_locality(sim, near="self"), "you counted each patch's similarity with itself "
                                          "(always 1) among the neighbours: use distance "
                                          "exactly 1"),
            (_locality(sim, far_metric="max"), "distance counted as max(|Δrow|, |Δcol|); "
                                               "this course counts steps, |Δrow| + |Δcol|"),
            (_locality(sim, far_metric="euclid"), "distance measured as a straight line; this "
                                                  "course counts steps, |Δrow| + |Δcol|"),
            (_locality(sim, strict=True), "'distant' means 4 or more steps (>= 4), not more "
                                          "than 4"),
            (-expected, "the sign is flipped: it is the neighbours' mean minus the distant "
                        "pairs' mean"),
            (_locality(sim, swapped=True), "each patch's (row, column) is computed with the "
                                           "wrong grid width: patch n sits at row n // (W/P), "
                                           "column n % (W/P)"),
        ]
        reason = next((m for v, m in variants if abs(score - v) <= 1e-4
                       and abs(v - expected) > 1e-4), None)
        fail_check(f"on {what}: you returned {score:.4f}, expected {expected:.4f}",
                    reason or "the score is the mean similarity of 4-neighbours minus the mean "
                        "over pairs 4 or more steps apart (steps = |Δrow| + |Δcol|)")
    return ("correct on a square and a non-square grid: 4-neighbours' mean minus the mean "
            "over pairs 4 or more steps apart.")
