"""Lesson 01's exercise checkers (``vit_tutorial.exercises.patches``): right answers pass,
the student stub is "not implemented yet", and each known mistake gets its own hint."""

import torch
from checker_cases import with_answers

from vit_tutorial.exercises import patches as ex


def patches_solution(images, patch_size):
    single = images.ndim == 3
    x = images.unsqueeze(0) if single else images  # (C, H, W) -> (1, C, H, W)
    B, C, H, W = x.shape
    P = patch_size
    x = x.reshape(B, C, H // P, P, W // P, P)  # (B, C, H/P, P, W/P, P)
    x = x.permute(0, 2, 4, 1, 3, 5)  # (B, H/P, W/P, C, P, P)
    x = x.reshape(B, (H // P) * (W // P), C * P * P)  # (B, N, C·P·P)
    return x[0] if single else x


def patches_with(order=(0, 2, 4, 1, 3, 5), handle_single=True, same_side=False,
                 permute=True):
    def fn(images, P):
        single = images.ndim == 3
        x = images.unsqueeze(0) if single and handle_single else images
        B, C, H, W = x.shape
        if not permute:
            return x.reshape(B, -1, C * P * P)
        gw = (H if same_side else W) // P
        x = x.reshape(B, C, H // P, P, gw, P).permute(*order).reshape(B, -1, C * P * P)
        return x[0] if single and handle_single else x
    return fn


ANSWERS = {
    "check_num_patches_answers": {"N_B16_224": 196, "tokens_B16_224": 197, "N_L32_384": 144,
                                  "tokens_L32_384": 145, "N_B16_224x320": 280,
                                  "values_per_patch_H14": 588},
}
SOLUTIONS = {
    "check_image_to_patches": patches_solution,
    **ANSWERS,
}

WRONG = [  # (checker, wrong answer, text the feedback must contain)
    ("check_image_to_patches", patches_with(order=(0, 2, 4, 3, 5, 1)),
     "your patch vectors are ordered (P, P, C), channels last; this course uses (C, P, P)"),
    ("check_image_to_patches", patches_with(order=(0, 4, 2, 1, 3, 5)),
     "numbered column by column (a transposed patch grid)"),
    ("check_image_to_patches", patches_with(permute=False), "a reshape alone doesn't cut patches"),
    ("check_image_to_patches", patches_with(order=(0, 1, 2, 4, 3, 5)),
     "the channel axis is still in front of the grid"),
    ("check_image_to_patches", patches_with(handle_single=False),
     "for a single image (C, H, W) add a batch axis with images.unsqueeze(0)"),
    ("check_image_to_patches", patches_with(same_side=True),
     "not one side twice"),
    ("check_image_to_patches", lambda images, P: patches_solution(images, P).tolist(),
     "your function returned a list; return a torch.Tensor of shape (2, 4, 48)"),
    ("check_image_to_patches", lambda images, P: patches_solution(images, P).float(),
     "the dtype is torch.float32; expected torch.float64"),
    ("check_num_patches_answers",
     with_answers(ANSWERS, "check_num_patches_answers", tokens_L32_384=144),
     "tokens_L32_384: 144 is not right — that is N; the sequence the Transformer reads also "
     "holds the class token"),
    ("check_num_patches_answers",
     with_answers(ANSWERS, "check_num_patches_answers", N_L32_384=4608),
     "divide by P twice"),
    ("check_num_patches_answers",  # a typo in a key: that answer is missing
     {**{k: v for k, v in ANSWERS["check_num_patches_answers"].items() if k != "N_B16_224"},
      "n_b16_244": 196},
     "unknown key 'n_b16_244' — did you mean 'N_B16_224'?"),
    ("check_num_patches_answers",
     with_answers(ANSWERS, "check_num_patches_answers", N_B16_224="196"),
     "N_B16_224: expected a number, got a str")
]


def test_numbers_may_be_floats_or_tensors():
    assert ex.check_num_patches_answers(with_answers(ANSWERS, "check_num_patches_answers",
                                                     N_B16_224=196.0,
                                                     tokens_B16_224=torch.tensor(197)))


def test_an_answer_in_another_dtype_is_explained():
    result = ex.check_image_to_patches(lambda images, P: patches_solution(images, P).long())
    assert not result and "dtype is torch.int64; expected torch.float32" in result.message
