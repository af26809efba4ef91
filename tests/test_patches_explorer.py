"""Lesson 01's explorer (vit_tutorial.explorers.patches): the pure functions, then the
widget driven from code as a reader's sliders would drive it."""

import pytest
import torch

from vit_tutorial.explorers.patches import (
    IMAGE_SIZES,
    PATCH_SIZES,
    draw_patch_explorer,
    patch_explorer,
    patch_explorer_png,
    patch_summary,
)
from vit_tutorial.figures import render_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- patch_summary ---------------------------------------------------------------------


def test_patch_summary_vit_b16():
    s = patch_summary(224, 16)
    assert s.ok and s.error is None
    assert s.grid == (14, 14) and s.num_patches == 196 and s.patch_dim == 768
    assert s.sequence_shape == (196, 768)
    assert "N = 224·224/16² = 196" in s.text and "(196, 768)" in s.text


@pytest.mark.parametrize("image_size, patch_size, grid", [(224, 32, 7), (384, 16, 24), (32, 1, 32)])
def test_patch_summary_agrees_with_image_to_patches(image_size, patch_size, grid):
    from vit_tutorial.patches import image_to_patches

    s = patch_summary(image_size, patch_size)
    assert s.grid == (grid, grid)
    image = torch.zeros(3, image_size, image_size)
    assert image_to_patches(image, patch_size).shape == s.sequence_shape


def test_patch_summary_not_divisible_gives_the_packages_message():
    s = patch_summary(224, 15)
    assert not s.ok and s.grid is None and s.num_patches is None and s.sequence_shape is None
    assert s.error == ("image height 224 is not divisible by patch_size 15; resize or crop the "
                       "image to a multiple of 15 (e.g. 210)")
    assert s.error in s.text


@pytest.mark.parametrize("bad, error", [((0, 16), ValueError), ((224, 0), ValueError),
                                        ((224.0, 16), TypeError), ((224, True), TypeError)])
def test_patch_summary_rejects_non_sizes(bad, error):
    with pytest.raises(error, match="must be a positive int"):
        patch_summary(*bad)


# --- the picture -----------------------------------------------------------------------


def test_patch_picture_changes_with_the_patch_size_and_is_deterministic():
    p16, p8 = patch_explorer_png(224, 16), patch_explorer_png(224, 8)
    assert p16.startswith(PNG_SIGNATURE)
    assert p16 != p8
    assert patch_explorer_png(224, 16) == p16  # same settings, same bytes
    assert patch_explorer_png(448, 16) != p16


def test_patch_picture_for_a_bad_size_draws_the_leftover_instead_of_raising():
    fig = draw_patch_explorer(224, 15)
    photo, right = fig.axes[:2]
    assert "14 pixel(s) left over" in photo.get_title()
    texts = [" ".join(t.get_text().split()) for t in right.texts]  # the message, unwrapped
    assert any("not divisible by patch_size 15" in text for text in texts)
    assert render_png(fig) != patch_explorer_png(224, 16)


def test_patch_picture_one_pixel_patches():
    fig = draw_patch_explorer(32, 1)  # N = 1024: drawn as one line collection
    assert "1024 patches" in fig.axes[0].get_title()
    assert len(fig.axes[0].collections) == 1
    assert len(fig.axes[0].collections[0].get_segments()) == 2 * 31


def test_patch_picture_numbers_every_patch_up_to_64_at_its_top_left_corner():
    from vit_tutorial.explorers.patches import PatchPicture

    picture = PatchPicture().update(224, 28)  # 8×8 = 64 patches
    items = picture.numbers.items
    assert [text for _, _, text, _ in items] == [str(n) for n in range(64)]
    assert items[9][:2] == pytest.approx((28 + 0.04 * 28, 28 + 0.04 * 28))  # row 1, column 1
    picture.update(224, 16)  # 196: the first and last of two rows, and the very last
    assert [text for _, _, text, _ in picture.numbers.items] == ["0", "1", "13", "14", "27",
                                                                 "195"]
    picture.update(224, 15)  # no whole grid: no numbers
    assert picture.numbers.items == []


def test_patch_numbers_look_like_label_patch_texts():
    # The numbers are pasted as small pictures of label_patch's boxed texts: the same
    # pixels as the texts drawn where the pictures go, to within anti-aliasing.
    import numpy as np

    from vit_tutorial.explorers.patches import PatchPicture
    from vit_tutorial.figures import figure_pixels, label_patch

    picture = PatchPicture().update(224, 56)  # 4×4: large patches, numbers 0 … 15
    pasted = figure_pixels(picture.fig)
    picture.numbers.set_visible(False)
    bare = figure_pixels(picture.fig)
    for x, y, text, size in picture.numbers.items:
        label_patch(picture.ax, x, y, text, size)
    drawn = figure_pixels(picture.fig)

    def changed(a, b, by=0):
        return np.abs(a.astype(int) - b).max(axis=-1) > by

    labelled = changed(drawn, bare)  # where the texts are
    assert changed(pasted, bare)[labelled].mean() > 0.9  # the pictures are there too
    assert changed(pasted, drawn, by=64).sum() < 0.1 * labelled.sum()


@pytest.mark.parametrize("kwargs, message", [
    (dict(image_size=100000), "image_size must be from 32 to 448, got 100000"),
    (dict(image_size=16), "image_size must be from 32 to 448, got 16"),
    (dict(patch_size=1000), "patch_size must be from 1 to 64, got 1000"),
])
def test_patch_picture_refuses_a_size_off_the_sliders_before_drawing(kwargs, message):
    # 100000 would try to allocate a 35 GB photo; 1000 would draw a picture of nothing.
    with pytest.raises(ValueError, match=message):
        draw_patch_explorer(**kwargs)
    with pytest.raises(ValueError, match=message):
        patch_explorer_png(**kwargs)


@pytest.mark.parametrize("bad, kind", [((224,), "tuple"), ([], "list")])
def test_patch_picture_refuses_a_sequence_for_a_size(bad, kind):
    with pytest.raises(TypeError, match=f"must be an int from 32 to 448, .* of type {kind}"):
        draw_patch_explorer(bad)


def test_patch_picture_takes_numpy_integers():
    import numpy as np

    assert patch_explorer_png(np.int64(224), np.int32(16)) == patch_explorer_png(224, 16)


# --- the widget ------------------------------------------------------------------------


def test_patch_explorer_sliders_cover_the_documented_ranges():
    explorer = patch_explorer()
    assert (explorer.image_size.min, explorer.image_size.max) == IMAGE_SIZES
    assert (explorer.patch_size.min, explorer.patch_size.max) == PATCH_SIZES


def test_patch_explorer_slider_redraws():
    explorer = patch_explorer()
    assert "N = 224·224/16² = 196 patches" in explorer.readout_text
    assert explorer.summary.sequence_shape == (196, 768)
    before = explorer.image.value
    explorer.patch_size.value = 8
    assert "N = 224·224/8² = 784 patches" in explorer.readout_text
    assert "(784, 192) = (N, P²·C)" in explorer.readout_text
    assert explorer.image.value != before
    assert explorer.image.value == patch_explorer_png(224, 8)
    explorer.image_size.value = 384
    assert explorer.summary.grid == (48, 48)


def test_patch_explorer_bad_size_shows_a_clear_message_and_recovers():
    explorer = patch_explorer()
    good = explorer.image.value
    explorer.patch_size.value = 15
    assert explorer.error == ("ValueError: image height 224 is not divisible by patch_size 15; "
                              "resize or crop the image to a multiple of 15 (e.g. 210)")
    assert "not divisible by patch_size 15" in explorer.message.value
    assert "Traceback" not in explorer.message.value
    assert "no grid of whole patches" in explorer.readout_text
    assert explorer.image.value not in (b"", good)  # the leftover strip is drawn
    explorer.patch_size.value = 14
    assert explorer.error is None and explorer.message.value == ""
    assert "N = 224·224/14² = 256 patches" in explorer.readout_text


@pytest.mark.parametrize("kwargs, message", [
    (dict(patch_size=0), "patch_size must be from 1 to 64, got 0"),
    (dict(patch_size=65), "patch_size must be from 1 to 64, got 65"),
    (dict(image_size=31), "image_size must be from 32 to 448, got 31"),
    (dict(image_size=449), "image_size must be from 32 to 448, got 449"),
])
def test_patch_explorer_rejects_sizes_outside_the_sliders(kwargs, message):
    with pytest.raises(ValueError, match=message):  # said, not clamped to the slider's end
        patch_explorer(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(patch_size=16.0), dict(image_size=True)])
def test_patch_explorer_rejects_non_int_sizes(kwargs):
    with pytest.raises(TypeError, match=r"must be an int from \d+ to \d+, got"):
        patch_explorer(**kwargs)


@pytest.mark.parametrize("kwargs, message", [
    (dict(image_size=1000), "image_size must be from 32 to 448, got 1000"),
    (dict(patch_size=100), "patch_size must be from 1 to 64, got 100"),
])
def test_patch_explorer_class_rejects_sizes_outside_the_sliders(kwargs, message):
    from vit_tutorial.explorers.patches import PatchExplorer

    with pytest.raises(ValueError, match=message):  # an IntSlider would clamp 1000 to 448
        PatchExplorer(**kwargs)
