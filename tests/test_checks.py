"""The input checks every lesson module shares (``vit_tutorial.checks``)."""

import numpy as np
import pytest
import torch

from vit_tutorial.checks import (
    check_bool,
    check_choice,
    check_divisible,
    check_float_dtype,
    check_heads,
    check_num_prefix_tokens,
    check_positive_int,
    check_positive_number,
    check_tensor,
    to_pair,
    work_dtype,
)


def test_numpy_numbers_are_welcome_everywhere_python_numbers_are():
    assert check_positive_int(np.int64(16), "P") == 16 and type(check_positive_int(
        np.int64(16), "P")) is int
    assert to_pair(np.int32(7), "grid") == (7, 7)
    assert check_num_prefix_tokens(np.int64(1)) == 1
    assert check_positive_number(np.float32(0.5), "lr") == 0.5
    assert check_bool(np.bool_(True), "flag") is True


@pytest.mark.parametrize("call, error, message", [
    (lambda: check_positive_int(True, "P"), TypeError, "P must be a positive int, got True"),
    (lambda: check_positive_int(16.0, "P"), TypeError, "got 16.0 of type float"),
    (lambda: check_positive_int(0, "P"), ValueError, "P must be a positive int, got 0"),
    (lambda: to_pair((1, 2, 3), "image_size"), ValueError, "an int or an \\(h, w\\) pair"),
    (lambda: to_pair("16", "patch_size"), TypeError, "an int or an \\(h, w\\) pair of ints"),
    (lambda: check_tensor(np.zeros(3), "x"), TypeError, "torch.from_numpy"),
    (lambda: check_divisible((225, 224), (16, 16)), ValueError,
     "image height 225 is not divisible by patch_size 16; .* \\(e.g. 224\\)"),
    (lambda: check_num_prefix_tokens(-1), ValueError, "num_prefix_tokens must be an int >= 0"),
    (lambda: check_heads(30, 4), ValueError, "pick num_heads from \\[1, 2, 3, 5, 6, 10, 15, 30\\]"),
    (lambda: check_choice("cubic", "mode", ("bicubic", "bilinear"), "e.g. 'bicubic'"),
     ValueError, "mode must be one of 'bicubic', 'bilinear', got 'cubic'; e.g. 'bicubic'"),
    (lambda: check_choice(["cubic"], "mode", ("bicubic", "bilinear")), TypeError,
     r"one of 'bicubic', 'bilinear' \(a string\)"),
    (lambda: check_bool(1, "flag"), TypeError, "flag must be True or False, got 1"),
    (lambda: check_positive_number(float("inf"), "lr"), ValueError, "lr must be a positive"),
    (lambda: check_positive_number(0, "lr", "e.g. 1e-3"), ValueError, "got 0; e.g. 1e-3"),
    (lambda: check_float_dtype(torch.int64), TypeError, "floating-point torch.dtype"),
])
def test_each_check_says_what_came_and_what_to_do(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_results_pass_through():
    assert check_divisible((224, 320), (16, 16)) == (14, 20)
    assert check_heads(768, 12) == (768, 12)
    assert check_choice("a", "x", ("a", "b")) == "a"
    assert work_dtype(torch.float64) == torch.float64 and work_dtype(torch.bfloat16) == \
        torch.float32


def test_size_limit_is_stated_and_checked():
    from vit_tutorial.checks import MAX_VALUES, check_size

    assert check_size(MAX_VALUES, "x", "fix") == MAX_VALUES
    with pytest.raises(ValueError, match="more than the course's limit of 268,435,456"):
        check_size(MAX_VALUES + 1, "a table", "make it smaller")


def test_device_and_dtype_checks_say_which_is_which():
    from vit_tutorial.checks import check_like_weights, check_same_device

    weight = torch.zeros(3)
    check_same_device(torch.zeros(2), "x", weight, "w")
    with pytest.raises(ValueError, match="device mismatch: x on meta, w on cpu"):
        check_same_device(torch.zeros(2, device="meta"), "x", weight, "w")
    with pytest.raises(TypeError, match=r"Block's weights are torch.float32 but the tokens are "
                                        r"torch.float64"):
        check_like_weights(torch.zeros(2, dtype=torch.float64), "tokens", weight, "Block")
