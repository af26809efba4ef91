"""Lesson 06's explorer (vit_tutorial.explorers.interpolation): the pure functions, then the
widget driven from code. Whatever measures TinyViT's accuracy on the digits is slow."""

import numpy as np
import pytest
import torch

from vit_tutorial.explorers.interpolation import (
    GRID_SIDES,
    accuracy_text,
    interpolation_explorer,
    interpolation_view,
    resolution_accuracy,
)

# --- the view ----------------------------------------------------------------------------


def test_interpolation_view_is_resize_pos_embed():
    from vit_tutorial.interpolation import resize_pos_embed
    from vit_tutorial.model import load_tiny_vit

    pos_embed = load_tiny_vit().positional_embedding.pos_embed.detach()
    view = interpolation_view(5, 12, "bilinear", (4, 11))
    expected = resize_pos_embed(pos_embed, (5, 12), 7, mode="bilinear")
    torch.testing.assert_close(view.pos_embed, expected)
    assert view.pos_embed.shape == (1, 61, 64)
    assert view.grid == (5, 12) and view.position == (4, 11)
    assert "(1, 50, 64) -> (1, 61, 64)" in view.text and "20×48 images" in view.text


@pytest.mark.slow  # two 14×14 views
def test_interpolation_view_defaults_to_the_centre_and_changes_with_the_mode():
    bicubic = interpolation_view(14, 14)
    assert bicubic.position == (7, 7)
    assert bicubic.png != interpolation_view(14, 14, "nearest").png


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(mode="cubic"), ValueError, "mode must be one of 'bicubic', 'bilinear', 'nearest', "
                                     "'area', got 'cubic'"),
    (dict(rows=0), ValueError, "rows must be from 2 to 16, got 0"),
    (dict(columns=17), ValueError, "columns must be from 2 to 16, got 17"),
    (dict(rows=4.0), TypeError, "rows must be an int from 2 to 16, got 4.0"),
    (dict(rows=4, columns=4, position=(4, 0)), ValueError,
     "position row must be from 0 to 3 in the 4×4 grid, got 4"),
    (dict(position=7), ValueError, r"position must be a \(row, column\) pair, got 7; pass e.g. "
                                   r"position=\(7, 7\)"),
    (dict(position=[]), ValueError, r"position must be a \(row, column\) pair, got \[\]"),
    (dict(rows=(4,)), TypeError, r"rows must be an int from 2 to 16, got \(4,\) of type tuple; "
                                 r"pass one int, not a tuple"),
    (dict(mode=["bicubic"]), TypeError, r"mode must be one of .* \(a string\), got "
                                        r"\['bicubic'\] of type list"),
])
def test_interpolation_view_bad_settings(kwargs, error, message):
    with pytest.raises(error, match=message):
        interpolation_view(**kwargs)


def test_interpolation_view_takes_numpy_integers_and_a_position_as_a_list_or_array():
    import numpy as np

    view = interpolation_view(np.int64(4), np.int32(5), "area", [np.int64(1), 2])
    assert view.grid == (4, 5) and view.position == (1, 2)
    assert all(type(v) is int for v in (*view.grid, *view.position))
    assert interpolation_view(4, 5, "area", np.array([1, 2])).png == view.png


# --- TinyViT's accuracy at a new grid --------------------------------------------------


def test_the_digits_at_an_h_w_pair_are_the_lessons_digits():
    # resolution_accuracy reads the test digits at (4·rows, 4·columns), once held_out_digits.
    from vit_tutorial.data import digits

    images, labels = digits("test", (56, 56))
    expected_images, expected_labels = digits("test", 56)
    assert torch.equal(images, expected_images) and torch.equal(labels, expected_labels)
    assert digits("test", (20, 48))[0].shape == (360, 1, 20, 48)


@pytest.mark.slow
def test_resolution_accuracy_at_the_training_size_is_the_models_accuracy():
    from vit_tutorial.data import digits
    from vit_tutorial.model import evaluate, load_tiny_vit

    expected = evaluate(load_tiny_vit(), *digits("test"))
    assert resolution_accuracy(7, 7, "bilinear") == pytest.approx(expected)  # same size: no change


@pytest.mark.slow
def test_resolution_accuracy_at_another_grid_is_the_resized_models_accuracy():
    # The model moved to 40×64 images (a 10×16 grid), evaluated on the digits at that size.
    from vit_tutorial.data import digits
    from vit_tutorial.model import evaluate, load_tiny_vit

    resized = load_tiny_vit().resized((40, 64), mode="bicubic")
    expected = evaluate(resized, *digits("test", (40, 64)))
    assert resolution_accuracy(10, 16, "bicubic") == expected


@pytest.mark.slow
def test_resolution_accuracy_is_cached_per_setting(monkeypatch):
    from vit_tutorial.explorers import interpolation

    evaluated = []
    evaluate = interpolation.evaluate
    monkeypatch.setattr(interpolation, "evaluate",
                        lambda *args, **kwargs: evaluated.append(args) or evaluate(*args, **kwargs))
    interpolation.clear_caches()
    first = resolution_accuracy(8, 8, "nearest")
    assert resolution_accuracy(8, 8, "nearest") == first
    assert resolution_accuracy(np.int64(8), 8, "nearest") == first
    assert len(evaluated) == 1 and 0.0 <= first <= 1.0


@pytest.mark.parametrize("rows, error, message", [
    ([4], TypeError, r"rows must be an int from 2 to 16, got \[4\] of type list; pass one int"),
    (40, ValueError, "rows must be from 2 to 16, got 40"),
])
def test_resolution_accuracy_checks_the_grid_before_its_cache(rows, error, message):
    with pytest.raises(error, match=message):  # not "unhashable type: 'list'"
        resolution_accuracy(rows, 4)


@pytest.mark.slow
def test_accuracy_text():
    text = accuracy_text(7, 7, "bicubic")
    assert text.startswith("TinyViT at 28×28 (7×7 grid, bicubic E_pos, no fine-tuning): ")
    assert text.count("%") == 2  # at this grid, and where it was trained


# --- the widget ------------------------------------------------------------------------


@pytest.mark.slow
def test_interpolation_explorer_grid_and_accuracy():
    explorer = interpolation_explorer()
    assert (explorer.grid_rows.min, explorer.grid_rows.max) == GRID_SIDES
    assert explorer.view.pos_embed.shape == (1, 197, 64)
    assert explorer.accuracy == resolution_accuracy(14, 14, "bicubic")
    assert "TinyViT at 56×56 (14×14 grid, bicubic E_pos" in explorer.readout_text
    before = explorer.image.value
    explorer.grid_rows.value = 5  # the picked row (7) no longer fits: it moves to 4
    assert explorer.position_row.max == 4 and explorer.position_row.value == 4
    assert explorer.view.grid == (5, 14) and explorer.view.position == (4, 7)
    assert explorer.image.value != before
    assert "(1, 50, 64) -> (1, 71, 64)" in explorer.readout_text
    assert "TinyViT at 20×56" in explorer.readout_text
    explorer.mode.value = "nearest"
    assert explorer.view.mode == "nearest"
    assert explorer.accuracy == resolution_accuracy(5, 14, "nearest")


@pytest.mark.slow
def test_interpolation_explorer_position():
    explorer = interpolation_explorer(rows=6, columns=6)
    before = explorer.image.value
    explorer.position_column.value = 0
    assert explorer.view.position == (3, 0) and explorer.image.value != before
    assert explorer.error is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(rows=1), "rows must be from 2 to 16, got 1"),
    (dict(columns=17), "columns must be from 2 to 16, got 17"),
    (dict(mode="cubic"), "mode must be one of 'bicubic', 'bilinear', 'nearest', 'area', "
                         "got 'cubic'"),
])
def test_interpolation_explorer_rejects_settings_off_its_controls(kwargs, message):
    with pytest.raises(ValueError, match=message):  # said, not clamped
        interpolation_explorer(**kwargs)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(rows=40), ValueError, "rows must be from 2 to 16, got 40"),
    (dict(position=(40, 3)), ValueError,
     "position row must be from 0 to 13 in the 14×14 grid, got 40"),
    (dict(rows=(4,)), TypeError, r"rows must be an int from 2 to 16, got \(4,\) of type tuple"),
    (dict(columns=[]), TypeError, r"columns must be an int from 2 to 16, got \[\] of type list"),
    (dict(mode="x"), ValueError, "mode must be one of 'bicubic', 'bilinear', 'nearest', "
                                 "'area', got 'x'"),
])
def test_interpolation_explorer_class_checks_its_settings(kwargs, error, message):
    from vit_tutorial.explorers.interpolation import InterpolationExplorer

    with pytest.raises(error, match=message):  # not clamped to 16, not a TraitError
        InterpolationExplorer(**kwargs)


def test_interpolation_explorer_rejects_a_non_int_grid():
    with pytest.raises(TypeError, match="rows must be an int from 2 to 16, got True of type bool"):
        interpolation_explorer(rows=True)
