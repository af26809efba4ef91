"""Lesson 05's explorer (vit_tutorial.explorers.similarity): the pure functions, then the
widget driven from code. ViT-B/16's pretrained weights are never read: the "pretrained"
source is faked (``fake_pretrained``) or missing (``pretrained_unavailable``), see conftest."""

import io

import numpy as np
import pytest
import torch

from vit_tutorial.explorers.similarity import (
    clear_caches,
    similarity_explorer,
    similarity_source,
    similarity_view,
)
from vit_tutorial.weights import WeightsUnavailable


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


# --- the sources of E_pos ----------------------------------------------------------------


def test_similarity_sources_match_lesson_05():
    from vit_tutorial.model import TinyViT, load_tiny_vit
    from vit_tutorial.positional_embedding import sincos_2d_pos_embed
    from vit_tutorial.similarity import pos_embed_of, position_similarity

    trained, _ = similarity_source("trained")
    torch.testing.assert_close(trained, position_similarity(*pos_embed_of(load_tiny_vit())))
    state = torch.random.get_rng_state()
    init, _ = similarity_source("init")
    torch.manual_seed(0)  # lesson 05: torch.manual_seed(0); TinyViT()
    torch.testing.assert_close(init, position_similarity(*pos_embed_of(TinyViT())))
    torch.random.set_rng_state(state)
    sincos, label = similarity_source("sincos")
    torch.testing.assert_close(sincos, position_similarity(sincos_2d_pos_embed(7, 64), 7, 0))
    assert "sine" in label


def test_similarity_source_leaves_the_global_rng_alone():
    clear_caches()  # so that "init" builds its TinyViT again, here
    state = torch.random.get_rng_state()
    similarity_source("init")
    assert torch.equal(torch.random.get_rng_state(), state)


def test_similarity_source_unknown():
    with pytest.raises(ValueError, match="source must be one of 'init', 'trained'"):
        similarity_source("learned")
    with pytest.raises(TypeError, match=r"source must be one of .* \(a string\), got "
                                        r"\['trained'\] of type list"):
        similarity_view(["trained"], 2, 3)


def test_pretrained_without_weights_says_why(pretrained_unavailable):
    with pytest.raises(WeightsUnavailable, match=r"no connection .*\(offline\?\)"):
        similarity_view("pretrained", 0, 0)


@pytest.mark.slow  # draws Figure 7 for a 14×14 grid: 196 small Axes
def test_pretrained_source_is_vit_b16s_14x14_grid(fake_pretrained):
    from vit_tutorial.similarity import position_similarity

    view = similarity_view("pretrained", 13, 0)
    assert view.grid == (14, 14) and view.tile.shape == (14, 14)
    expected = position_similarity(fake_pretrained, 14, num_prefix_tokens=1)[13, 0]
    torch.testing.assert_close(view.tile, expected)
    assert "14×14 grid" in view.text


# --- the pictures ----------------------------------------------------------------------


def test_similarity_view_tile_and_pictures():
    sim, _ = similarity_source("trained")
    view = similarity_view("trained", 2, 5)
    torch.testing.assert_close(view.tile, sim[2, 5])
    assert view.grid == (7, 7)
    assert "patch (2, 5) of the 7×7 grid" in view.text  # counted from 0, as the figure is
    other = similarity_view("trained", 2, 6)
    assert view.map_png != other.map_png and view.grid_png != other.grid_png
    assert similarity_view("trained", 2, 5).grid_png == view.grid_png  # repaint is exact


@pytest.mark.parametrize("source", ["sincos", "trained"])
def test_similarity_grid_shows_figure_7_tile_by_tile(source):
    # Lesson 05 draws Figure 7 with one Axes per tile; the explorer composes the tiles in one
    # Axes. Every cell of every tile must show its similarity in the lesson's colours, and
    # the frame must go round the picked tile.
    from matplotlib import colormaps

    from vit_tutorial.explorers.similarity import _pictures

    sim, _ = similarity_source(source)
    view = similarity_view(source, 4, 1)
    shown = pixels(view.grid_png).astype(int)
    picture = _pictures(source)[1]
    ax = picture.fig.axes[0]
    to_pixels = ax.transData.transform
    height = shown.shape[0]
    colours = colormaps["RdBu_r"]((sim.numpy() + 1) / 2)[..., :3] * 255  # vmin -1, vmax 1
    gh, gw = sim.shape[:2]
    for (i, j), (x, y) in picture.corners.items():
        tile_w, tile_h = picture.frame.get_width(), picture.frame.get_height()
        for k in range(gh):
            for m in range(gw):
                cx, cy = to_pixels((x + (m + 0.5) * tile_w / gw, y + (k + 0.5) * tile_h / gh))
                pixel = shown[int(height - cy), int(cx)]
                assert np.abs(pixel - colours[i, j, k, m]).max() <= 2, (i, j, k, m)
    assert picture.frame.get_xy() == picture.corners[4, 1]
    fx, fy = to_pixels(picture.corners[4, 1])
    assert (shown[int(height - fy), int(fx)] < 60).all()  # the frame's corner is black


@pytest.mark.parametrize("row, column, error, message", [
    (7, 0, ValueError, "row must be from 0 to 6 for the 7×7 grid"),
    (0, -1, ValueError, "column must be from 0 to 6 for the 7×7 grid"),
    (1.0, 2, TypeError, "row must be an int from 0 to 6 for the 7×7 grid"),
])
def test_similarity_view_patch_outside_the_grid(row, column, error, message):
    with pytest.raises(error, match=message):
        similarity_view("trained", row, column)


# --- the widget ------------------------------------------------------------------------


def test_similarity_explorer_pick_a_patch():
    explorer = similarity_explorer()
    assert (explorer.row.max, explorer.column.max) == (6, 6)
    map_before, grid_before = explorer.map_image.value, explorer.grid_image.value
    explorer.row.value = 0
    assert (explorer.view.row, explorer.view.column) == (0, 3)
    assert explorer.map_image.value != map_before and explorer.grid_image.value != grid_before
    assert "patch (0, 3) of the 7×7 grid" in explorer.readout_text
    sim, _ = similarity_source("trained")
    torch.testing.assert_close(explorer.view.tile, sim[0, 3])


@pytest.mark.slow  # draws Figure 7 for two more sources
def test_similarity_explorer_change_source():
    explorer = similarity_explorer()
    grid_before = explorer.grid_image.value
    explorer.source.value = "sincos"
    assert explorer.view.source == "sincos" and explorer.grid_image.value != grid_before
    assert "2-D sine–cosine (fixed)" in explorer.readout_text
    explorer.source.value = "init"
    assert "initialisation" in explorer.readout_text and explorer.error is None


def test_similarity_explorer_pretrained_unavailable_keeps_the_view_and_says_why(
        pretrained_unavailable):
    explorer = similarity_explorer(download=False)
    shown = explorer.grid_image.value
    explorer.source.value = "pretrained"
    assert explorer.source.value == "trained"  # back to what is still shown
    assert explorer.grid_image.value == shown
    assert "pretrained weights are not available here (no connection" in explorer.error
    assert "similarity_explorer(download=True)" in explorer.error
    assert "Traceback" not in explorer.message.value


@pytest.mark.slow  # draws Figure 7 for a 14×14 grid
def test_similarity_explorer_pretrained_grid_resizes_the_sliders(fake_pretrained):
    explorer = similarity_explorer()
    explorer.source.value = "pretrained"
    assert (explorer.row.max, explorer.column.max) == (13, 13) and explorer.error is None
    explorer.row.value = 13
    assert explorer.view.grid == (14, 14) and explorer.view.row == 13
    explorer.source.value = "trained"  # back to 7×7: the picked patch moves inside
    assert (explorer.row.max, explorer.row.value) == (6, 6)
    assert explorer.view.row == 6 and explorer.error is None


@pytest.mark.parametrize("kwargs, message", [
    (dict(source="nope"), "source must be one of 'init', 'trained', 'sincos', 'pretrained', "
                          "got 'nope'"),
    (dict(row=7), "row must be from 0 to 6, got 7"),
    (dict(column=-1), "column must be from 0 to 6, got -1"),
    (dict(source="pretrained", row=14), "row must be from 0 to 13, got 14"),  # ViT-B/16: 14×14
])
def test_similarity_explorer_rejects_unknown_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):  # said, not clamped or ignored
        similarity_explorer(**kwargs)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(row=10), ValueError, "row must be from 0 to 6, got 10"),
    (dict(source="x"), ValueError, "source must be one of 'init', 'trained', 'sincos', "
                                   "'pretrained', got 'x'"),
    (dict(row=(1,)), TypeError, r"row must be an int from 0 to 6, got \(1,\) of type tuple; "
                                r"pass one int, not a tuple"),
])
def test_similarity_explorer_class_checks_its_settings(kwargs, error, message):
    from vit_tutorial.explorers.similarity import SimilarityExplorer

    with pytest.raises(error, match=message):  # not clamped, not a TraitError
        SimilarityExplorer(**kwargs)


def test_similarity_explorer_rejects_a_non_int_patch():
    with pytest.raises(TypeError, match="row must be an int from 0 to 6, got 3.0 of type float"):
        similarity_explorer(row=3.0)
