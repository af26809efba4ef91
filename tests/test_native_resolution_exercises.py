"""Lesson 11's exercise checkers (``vit_tutorial.exercises.native_resolution``): right answers
pass, the student stub is "not implemented yet", and each known mistake gets its own hint."""

import torch
import torch.nn.functional as F
from checker_cases import assert_passes, with_answers
from timm.models.naflexvit import create_attention_mask

from vit_tutorial.exercises import native_resolution as ex


def resample(table, n, **kw):
    return F.interpolate(table.transpose(1, 2), size=n, **kw).transpose(1, 2)  # (1, n, D)


def factorized_with(mode="linear", align_corners=False, column_major=False, concat=False,
                    swap=False, skip_resize=False):
    def fn(e_y, e_x, grid):
        gh, gw = grid
        if swap:
            e_y, e_x = e_x, e_y
        kw = {} if mode == "nearest" else {"align_corners": align_corners}
        y = e_y if skip_resize else resample(e_y, gh, mode=mode, **kw)  # (1, H', D)
        x = e_x if skip_resize else resample(e_x, gw, mode=mode, **kw)  # (1, W', D)
        if concat:
            both = torch.cat([y[:, :, None].expand(-1, -1, x.shape[1], -1),
                              x[:, None].expand(-1, y.shape[1], -1, -1)], dim=-1)
            return both.reshape(1, -1, 2 * y.shape[-1])
        grid = x[:, :, None] + y[:, None] if column_major else y[:, :, None] + x[:, None]
        return grid.reshape(1, -1, y.shape[-1])
    return fn


def mask_with(low=None, keys_only=False, no_prefix=False, no_head=False, booleans=False,
              inverted=False, prefix_last=False):
    def fn(valid, k):
        B = valid.shape[0]
        if not no_prefix:
            ones = valid.new_ones(B, k)
            valid = torch.cat([valid, ones] if prefix_last else [ones, valid], dim=1)
        allowed = (valid[:, None, :].expand(-1, valid.shape[1], -1) if keys_only
                   else valid[:, :, None] & valid[:, None, :])
        if inverted:
            allowed = ~allowed
        if booleans:
            return allowed[:, None]
        mask = torch.zeros(allowed.shape).masked_fill(
            ~allowed, torch.finfo(torch.float32).min if low is None else low)
        return mask if no_head else mask[:, None]
    return fn


ANSWERS = {
    "check_native_resolution_answers": {"tokens_frame_1080x1920": 252,
                                        "mask_pairs_20_patches": 441,
                                        "factorized_parameters_B16": 24_576,
                                        "packed_rows": 3},
}
SOLUTIONS = {
    "check_factorized_pos_embed": factorized_with(),
    "check_attention_mask": mask_with(),
    **ANSWERS,
}

WRONG = [  # (checker, wrong answer, text the feedback must contain)
    ("check_factorized_pos_embed", factorized_with(column_major=True),
     "your positions come column by column"),
    ("check_factorized_pos_embed", factorized_with(concat=True), "you concatenated"),
    ("check_factorized_pos_embed", factorized_with(mode="nearest"), "resized with 'nearest'"),
    ("check_factorized_pos_embed", factorized_with(align_corners=True), "align_corners=True"),
    ("check_factorized_pos_embed", factorized_with(swap=True), "E_y and E_x are swapped"),
    ("check_factorized_pos_embed", factorized_with(skip_resize=True),
     "expected (1, H'·W', D) = (1, 35, 6)"),
    ("check_attention_mask", mask_with(keys_only=True), "that masks the keys only"),
    ("check_attention_mask", mask_with(inverted=True), "are swapped"),
    ("check_attention_mask", mask_with(no_head=True), "add the head axis"),
    ("check_attention_mask", mask_with(no_prefix=True), "prefix tokens) are missing"),
    ("check_attention_mask", mask_with(prefix_last=True), "prefix tokens went to the end"),
    ("check_attention_mask", mask_with(low=-1e9), "the masked value is -1e9"),
    ("check_attention_mask", mask_with(low=float("-inf")), "softmax 0/0 = NaN"),
    ("check_attention_mask", mask_with(booleans=True), "you returned booleans"),
    ("check_attention_mask", lambda valid, k: create_attention_mask(valid, k)[:, 0],
     "add the head axis"),
    ("check_native_resolution_answers",
     with_answers(ANSWERS, "check_native_resolution_answers", tokens_frame_1080x1920=256),
     "that is the budget itself"),
    ("check_native_resolution_answers",
     with_answers(ANSWERS, "check_native_resolution_answers", tokens_frame_1080x1920=264),
     "12×22 = 264 is over the budget"),
    ("check_native_resolution_answers",
     with_answers(ANSWERS, "check_native_resolution_answers", tokens_frame_1080x1920=231),
     "a larger grid with the same aspect fits too"),
    ("check_native_resolution_answers",
     with_answers(ANSWERS, "check_native_resolution_answers", tokens_frame_1080x1920=144),
     "keeps the aspect exactly"),
    ("check_native_resolution_answers",
     with_answers(ANSWERS, "check_native_resolution_answers", mask_pairs_20_patches=2500),
     "take no part, as queries or as keys"),
    ("check_native_resolution_answers",
     with_answers(ANSWERS, "check_native_resolution_answers", mask_pairs_20_patches=400),
     "the class token is a real token too"),
    ("check_native_resolution_answers",
     with_answers(ANSWERS, "check_native_resolution_answers", mask_pairs_20_patches=1050),
     "that masks the keys only"),
    ("check_native_resolution_answers",
     with_answers(ANSWERS, "check_native_resolution_answers",
                  factorized_parameters_B16=196_608),
     "one vector per row and one per column"),
    ("check_native_resolution_answers",
     with_answers(ANSWERS, "check_native_resolution_answers", packed_rows=5),
     "one row per image is padding"),
    ("check_native_resolution_answers",
     with_answers(ANSWERS, "check_native_resolution_answers", packed_rows=2),
     "don't fit in 2 × 256"),
]


def test_timms_own_mask_and_other_right_answers_pass(capsys):
    assert_passes(ex.check_attention_mask, lambda v, k: create_attention_mask(v, k), capsys)
    assert_passes(ex.check_native_resolution_answers,
                  {**ANSWERS["check_native_resolution_answers"], "tokens_frame_1080x1920": 12 * 21,
                   "factorized_parameters_B16": (16 + 16) * 768}, capsys)
