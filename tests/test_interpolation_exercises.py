"""Lesson 06's exercise checkers (``vit_tutorial.exercises.interpolation``): right answers pass,
the student stub is "not implemented yet", and each known mistake gets its own hint."""

import torch
import torch.nn.functional as F
from checker_cases import with_answers

from vit_tutorial.exercises import interpolation as ex


def resize_with(mode="bicubic", align_corners=False, fold_swapped=False, bad_fold=False,
                drop_cls=False):
    def fn(pos_embed, new_grid, old_grid):
        cls, grid = pos_embed[:, :1], pos_embed[:, 1:]
        D = pos_embed.shape[-1]
        old = old_grid[::-1] if fold_swapped else old_grid
        grid = grid.reshape(1, D, *old) if bad_fold else grid.transpose(1, 2).reshape(1, D, *old)
        grid = F.interpolate(grid, size=new_grid, mode=mode, align_corners=align_corners)
        grid = grid.flatten(2).transpose(1, 2)  # (1, N', D)
        return grid if drop_cls else torch.cat([cls, grid], dim=1)
    return fn


def fold_the_whole_table(pos_embed, new_grid, old_grid):
    """The class token's row folded into the grid with the patches: a reshape error."""
    grid = pos_embed.transpose(1, 2).reshape(1, pos_embed.shape[-1], *old_grid)
    return F.interpolate(grid, size=new_grid, mode="bicubic").flatten(2).transpose(1, 2)


def grid_from_the_first_rows(pos_embed, new_grid, old_grid):
    """Rows 0 … N-1 taken as the grid: the class token is interpolated as a patch."""
    return resize_solution(torch.cat([pos_embed[:, :1], pos_embed[:, :-1]], dim=1), new_grid,
                           old_grid)


resize_solution = resize_with()


ANSWERS = {
    "check_interpolation_answers": {"grid_B16_384": (24, 24), "tokens_B16_384": 577,
                                    "tokens_B16_384x512": 769, "unchanged_rows": 1},
}
SOLUTIONS = {
    "check_resize_pos_embed": resize_solution,
    **ANSWERS,
}

WRONG = [  # (checker, wrong answer, text the feedback must contain)
    ("check_resize_pos_embed", fold_the_whole_table,
     "the class token's row is still in the table you fold; keep the class token out of the "
     "interpolation"),
    ("check_resize_pos_embed", grid_from_the_first_rows,
     "your grid starts at row 0, the class token's"),
    ("check_resize_pos_embed",  # a fresh class-token row instead of the trained one
     lambda pos, new, old: torch.cat([torch.zeros_like(pos[:, :1]),
                                      resize_solution(pos, new, old)[:, 1:]], dim=1),
     "the class token's row changed: keep the class token out of the interpolation"),
    ("check_resize_pos_embed", resize_with(drop_cls=True), "the class token's row is missing"),
    ("check_resize_pos_embed", resize_with(fold_swapped=True),
     "the old grid was folded as (W/P, H/P): rows and columns swapped"),
    ("check_resize_pos_embed", resize_with(bad_fold=True), "transpose to (1, D, N) first"),
    ("check_resize_pos_embed", resize_with(align_corners=True),
     "bicubic, align_corners=True (torchvision's setting)"),
    ("check_resize_pos_embed", resize_with(mode="bilinear"), "you resized with bilinear"),
    ("check_interpolation_answers",
     with_answers(ANSWERS, "check_interpolation_answers", tokens_B16_384=576),
     "the class token's row stays in the sequence"),
    ("check_interpolation_answers",
     with_answers(ANSWERS, "check_interpolation_answers", unchanged_rows=0),
     "the class token has no place on the grid")
]


def test_the_catch_all_points_to_the_lesson_without_the_recipe():
    """Wrong values of no known kind: the feedback names what to compare, not the code."""
    result = ex.check_resize_pos_embed(
        lambda pos_embed, new_grid, old_grid: torch.zeros(
            1, 1 + new_grid[0] * new_grid[1], pos_embed.shape[-1]) + pos_embed[:, :1])
    assert not result and "compare each step with section 2" in result.message
    assert "F.interpolate(" not in result.message and "mode='bicubic'" not in result.message
