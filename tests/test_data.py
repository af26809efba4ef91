"""Offline data: the Grace Hopper photo and the digits split."""

import pytest
import torch

from vit_tutorial.data import digits, grace_hopper


def test_grace_hopper():
    image = grace_hopper()
    assert image.shape == (3, 224, 224) and image.dtype == torch.float32
    assert 0 <= image.min() and image.max() <= 1
    assert grace_hopper((224, 320)).shape == (3, 224, 320)


def test_digits_split_is_fixed_and_disjoint():
    train_x, train_y = digits("train")
    test_x, test_y = digits("test")
    assert train_x.shape == (1437, 1, 28, 28) and test_x.shape == (360, 1, 28, 28)
    assert train_y.dtype == torch.int64 and set(test_y.tolist()) == set(range(10))
    again_x, again_y = digits("test")
    assert torch.equal(again_x, test_x) and torch.equal(again_y, test_y)
    # no test image appears in the training split
    flat_train = {tuple(row) for row in (train_x.flatten(1) * 255).round().int().tolist()}
    overlap = sum(tuple(row) in flat_train for row in (test_x.flatten(1) * 255).round().int().tolist())
    assert overlap <= 3  # a few digits in the data set are exact duplicates of others


def test_digits_other_sizes_same_split():
    x28, y28 = digits("test", 28)
    x56, y56 = digits("test", 56)
    assert x56.shape == (360, 1, 56, 56) and torch.equal(y28, y56)
    assert 0 <= x56.min() and x56.max() <= 1


@pytest.mark.parametrize("split, size, message", [
    ("validation", 28, r"split must be 'train' or 'test', got 'validation'"),
    ("train", 4, r"image_size must be at least 8 on each side \(the digits are 8×8\), got 4"),
    ("train", (28, 6), r"image_size must be at least 8 on each side"),
])
def test_digits_errors(split, size, message):
    with pytest.raises(ValueError, match=message):
        digits(split, size)


def test_digits_at_another_aspect_are_the_same_recipe():
    wide, labels = digits("test", (28, 56))
    square, same_labels = digits("test", 28)
    assert wide.shape == (360, 1, 28, 56) and torch.equal(labels, same_labels)
    assert torch.equal(digits("test", (28, 28))[0], square)
