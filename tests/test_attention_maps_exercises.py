"""Lesson 09's exercise checkers (``vit_tutorial.exercises.attention_maps``): right answers
pass, the student stub is "not implemented yet", and each known mistake gets its own hint."""

import torch
from checker_cases import assert_passes, with_answers

from vit_tutorial.attention_maps import mean_attention_distance
from vit_tutorial.exercises import attention_maps as ex


def _pixel_distances(grid, P, metric="euclidean"):
    gh, gw = grid
    n = torch.arange(gh * gw)
    dr = (n[:, None] // gw - n[None] // gw).abs().double() * P
    dc = (n[:, None] % gw - n[None] % gw).abs().double() * P
    return {"euclidean": (dr ** 2 + dc ** 2).sqrt(), "steps": dr + dc}[metric]


def distance_with(drop_cls=True, renormalise=True, unit=1.0, metric="euclidean",
                  grid_swap=False, keep_batch=False):
    def fn(attention, grid_size, patch_size):
        grid = grid_size[::-1] if grid_swap else grid_size
        A = attention[..., 1:, 1:] if drop_cls else attention
        if renormalise:
            A = A / A.sum(-1, keepdim=True)
        distance = _pixel_distances(grid, patch_size, metric) / unit
        per_query = (A * distance.to(A.dtype)).sum(-1)  # (B, h, N)
        return per_query.mean(dim=2) if keep_batch else per_query.mean(dim=(0, 2))
    return fn


distance_solution = distance_with()


def keep_cls_as_a_far_patch(attention, grid_size, patch_size):
    """The class token's column kept (at distance 0), the class token's row dropped."""
    N = grid_size[0] * grid_size[1]
    padded = torch.zeros(N + 1, N + 1, dtype=torch.float64)
    padded[1:, 1:] = _pixel_distances(grid_size, patch_size)
    return (attention.double() * padded).sum(-1)[..., 1:].mean(dim=(0, 2))


ANSWERS = {
    "check_attention_map_answers": {"attention_shape_course_model": (1, 4, 50, 50),
                                    "rollout_row_sum_no_renorm": 16, "self_only_distance_px": 0,
                                    "uniform_distance_1x2_P16": 8},
}
SOLUTIONS = {
    "check_mean_attention_distance": distance_solution,
    **ANSWERS,
}

WRONG = [  # (checker, wrong answer, text the feedback must contain)
    ("check_mean_attention_distance",  # float32 in, float64 out
     lambda A, grid, P: mean_attention_distance(A.double(), grid, P),
     "the dtype is torch.float64; expected torch.float32"),
    ("check_mean_attention_distance",  # float64 in, float32 out
     lambda A, grid, P: mean_attention_distance(A.float(), grid, P),
     "the dtype is torch.float32; expected torch.float64"),
    ("check_mean_attention_distance", distance_with(renormalise=False),
     "the rows were not renormalised"),
    ("check_mean_attention_distance", keep_cls_as_a_far_patch,
     "or with it counted at distance 0"),
    ("check_mean_attention_distance", distance_with(drop_cls=False),
     "drop the class token's row and column first"),
    ("check_mean_attention_distance", distance_with(unit=4.0), "these are patches, not pixels"),
    ("check_mean_attention_distance", distance_with(metric="steps"),
     "not |Δrow| + |Δcol| steps"),
    ("check_mean_attention_distance", distance_with(grid_swap=True),
     "rows and columns of the grid swapped"),
    ("check_mean_attention_distance", distance_with(keep_batch=True),
     "average over the images too"),
    ("check_attention_map_answers",
     with_answers(ANSWERS, "check_attention_map_answers",
                  attention_shape_course_model=(1, 4, 49, 49)),
     "the class token takes part in attention too"),
    ("check_attention_map_answers",
     with_answers(ANSWERS, "check_attention_map_answers", rollout_row_sum_no_renorm=1),
     "that is R as step 2 of the rollout builds it"),
    ("check_attention_map_answers",
     with_answers(ANSWERS, "check_attention_map_answers", rollout_row_sum_no_renorm=2),
     "that is one factor's row sum"),
    ("check_attention_map_answers",
     with_answers(ANSWERS, "check_attention_map_answers", rollout_row_sum_no_renorm=8),
     "row sums multiply"),
    ("check_attention_map_answers",
     with_answers(ANSWERS, "check_attention_map_answers", uniform_distance_1x2_P16=16),
     "each query also attends to itself"),
    ("check_attention_map_answers",
     with_answers(ANSWERS, "check_attention_map_answers", uniform_distance_1x2_P16=0.5),
     "in pixels, not patches"),
]


def test_the_package_functions_pass_their_own_checkers(capsys):
    from vit_tutorial.attention_maps import mean_attention_distance

    assert_passes(ex.check_mean_attention_distance, mean_attention_distance, capsys)
