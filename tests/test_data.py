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
    test_rows = (test_x.flatten(1) * 255).round().int().tolist()
    overlap = sum(tuple(row) in flat_train for row in test_rows)
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


def test_placed_digits_land_whole_somewhere_on_the_canvas():
    from vit_tutorial.data import place_digits

    dots = torch.zeros(200, 1, 4, 4)
    dots[:, 0, 1, 2] = 1.0  # one bright pixel, 1 px from the digit's border
    placed = place_digits(dots, 10, overhang=1, generator=torch.Generator().manual_seed(0))
    assert placed.shape == (200, 1, 10, 10)
    assert torch.all(placed.sum(dim=(1, 2, 3)) == 1)  # with overhang 1, it never falls off
    where = {tuple(torch.nonzero(p[0])[0].tolist()) for p in placed}
    assert len(where) > 30  # rows 0…8 and columns 1…9: the corner moves from -1 to 7
    assert {r for r, _ in where} == set(range(9)) and {c for _, c in where} == set(range(1, 10))
    centred = place_digits(dots[:1], 10, centred=True)
    assert torch.equal(centred[0, 0, 3:7, 3:7], dots[0, 0])


def test_placed_digits_are_reproducible_and_checked():
    from vit_tutorial.data import place_digits

    images = digits("test", 20)[0][:8]
    first = place_digits(images, 28, 3, torch.Generator().manual_seed(1))
    assert torch.equal(first, place_digits(images, 28, 3, torch.Generator().manual_seed(1)))
    with pytest.raises(ValueError, match="doesn't fit a 16-pixel canvas"):
        place_digits(images, 16)
    with pytest.raises(ValueError, match="overhang must be a whole number from 0 to 19"):
        place_digits(images, 28, overhang=20)


def test_sample_images_come_whole_and_in_rgb():
    from vit_tutorial.data import sample_image

    photo, logo = sample_image(), sample_image("logo2.png")
    assert photo.shape == (3, 600, 512) and logo.shape == (3, 130, 542)
    assert photo.dtype == torch.float32 and 0 <= logo.min() and logo.max() <= 1
    assert torch.equal(logo[:, 0, 0], torch.ones(3))  # the transparent corner became white
    crop = grace_hopper(224)  # the same photo, resized and centre-cropped
    assert abs(crop.mean() - photo.mean()) < 0.1
    with pytest.raises(ValueError, match="name must be one of 'grace_hopper.jpg'"):
        sample_image("lena.png")
