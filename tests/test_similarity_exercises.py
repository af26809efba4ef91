"""Lesson 05's exercise checkers (``vit_tutorial.exercises.similarity``): right answers pass,
the student stub is "not implemented yet", and each known mistake gets its own hint."""

import torch
import torch.nn.functional as F
from checker_cases import with_answers


def similarity_solution(pos_embed, grid_size):
    gh, gw = grid_size
    x = F.normalize(pos_embed[0, 1:], dim=-1)  # (N, D)
    return (x @ x.T).reshape(gh, gw, gh, gw)


def _steps(gh, gw, metric="steps", width=None):
    n = torch.arange(gh * gw)
    width = width or gw
    rows, cols = n // width, n % width
    dr = (rows[:, None] - rows[None]).abs()
    dc = (cols[:, None] - cols[None]).abs()
    return {"steps": dr + dc, "max": torch.maximum(dr, dc)}[metric]


def locality_with(near="4", far_metric="steps", far_op=torch.ge, sign=1, width=None):
    def fn(similarity):
        gh, gw = similarity.shape[:2]
        steps = _steps(gh, gw, width=width and gh)
        near_mask = {"4": steps == 1, "8": _steps(gh, gw, "max") == 1, "self": steps <= 1}[near]
        far_mask = far_op(_steps(gh, gw, far_metric, width=width and gh), 4)
        sim = similarity.reshape(gh * gw, gh * gw)
        return sign * (sim[near_mask].mean() - sim[far_mask].mean()).item()
    return fn


locality_solution = locality_with()


ANSWERS = {
    "check_similarity_answers": {"self_similarity": 1, "lowest_possible_similarity": -1,
                                 "sim_shape_L32_224": (7, 7, 7, 7), "tiles_L32_384": 144},
}
SOLUTIONS = {
    "check_position_similarity": similarity_solution,
    "check_locality_score": locality_solution,
    **ANSWERS,
}

WRONG = [  # (checker, wrong answer, text the feedback must contain)
    ("check_position_similarity",
     lambda pos, grid: (pos[0, 1:] @ pos[0, 1:].T).reshape(*grid, *grid),
     "these are dot products, not cosine similarities"),
    ("check_position_similarity",  # the class token taken to be the last row
     lambda pos, grid: similarity_solution(torch.cat([pos[:, -1:], pos[:, :-1]], 1), grid),
     "you dropped the last patch's row instead of the class token's"),
    ("check_position_similarity",
     lambda pos, grid: similarity_solution(pos, grid[::-1]),
     "rows and columns swapped: the grid is (H/P, W/P) = (3, 4)"),
    ("check_position_similarity",
     lambda pos, grid: (F.normalize(pos[0], dim=-1) @ F.normalize(pos[0], dim=-1).T)
     .reshape(*grid, *grid),
     "(N + 1)² values: the class token's row is still in"),
    ("check_locality_score", locality_with(near="8"), "you counted 8 neighbours"),
    ("check_locality_score", locality_with(near="self"),
     "with itself (always 1) among the neighbours"),
    ("check_locality_score", locality_with(far_metric="max"), "max(|Δrow|, |Δcol|)"),
    ("check_locality_score", locality_with(far_op=torch.gt), "not more than 4"),
    ("check_locality_score", locality_with(sign=-1), "the sign is flipped"),
    ("check_locality_score", locality_with(width=True), "the wrong grid width"),
    ("check_similarity_answers",
     with_answers(ANSWERS, "check_similarity_answers", lowest_possible_similarity=0),
     "two opposite vectors"),
    ("check_similarity_answers",
     with_answers(ANSWERS, "check_similarity_answers", sim_shape_L32_224=(49, 49)),
     "that is the (N, N) matrix")
]
