"""The pure functions behind the interactive explorers (vit_tutorial.explorers), no widgets."""

import io
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vit_tutorial import explorers
from vit_tutorial.explorers import (
    Picture,
    draw_patch_explorer,
    held_out_digits,
    interpolation_view,
    patch_embedding_view,
    patch_explorer_png,
    patch_summary,
    preview_png,
    render_png,
    resolution_accuracy,
    similarity_source,
    similarity_view,
    static_preview,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


# --- the module's place in the package -------------------------------------------------


def test_explorers_never_import_ipywidgets():
    code = ("import sys, vit_tutorial.explorers as e; e.patch_summary(224, 16); "
            "assert 'ipywidgets' not in sys.modules, 'explorers imported ipywidgets'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_only_the_widgets_module_imports_ipywidgets():
    package = Path(explorers.__file__).parent
    importers = sorted(p.name for p in package.glob("*.py")
                       if "import ipywidgets" in p.read_text(encoding="utf-8"))
    assert importers == ["widgets.py"]


def test_figures_stay_out_of_pyplot():
    # A widget callback runs outside any cell: a pyplot figure made there would pop up
    # under the next cell the reader runs.
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    draw_patch_explorer(224, 16)
    similarity_view("sincos", 1, 2)
    interpolation_view(5, 6)
    patch_embedding_view(3)
    assert plt.get_fignums() == before


# --- 01 ---------------------------------------------------------------------------------


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


def test_render_png_keeps_the_figure_size():
    fig = draw_patch_explorer(224, 16)
    height, width, _ = pixels(render_png(fig)).shape
    assert (width, height) == tuple(round(v) for v in fig.get_size_inches() * fig.dpi)


# --- 02 ---------------------------------------------------------------------------------


def test_patch_embedding_view_is_lesson_02s_embedding():
    from vit_tutorial.data import grace_hopper
    from vit_tutorial.patch_embedding import PatchEmbedding
    from vit_tutorial.patches import image_to_patches

    state = torch.random.get_rng_state()
    view = patch_embedding_view(78)
    assert torch.equal(torch.random.get_rng_state(), state)  # the reader's RNG untouched
    image = grace_hopper(224)
    torch.manual_seed(0)
    embed = PatchEmbedding(224, 16, 3, 768)
    with torch.no_grad():
        expected = embed(image.unsqueeze(0))[0, 78]  # (1, N, D) -> (D,)
    torch.testing.assert_close(view.embedding, expected)
    torch.testing.assert_close(view.patch_vector, image_to_patches(image, 16)[78])
    assert (view.row, view.column) == (5, 8)
    assert view.png.startswith(PNG_SIGNATURE) and view.png != patch_embedding_view(0).png


def test_patch_embedding_view_bad_index():
    with pytest.raises(ValueError, match=r"index must be in 0 … 195"):
        patch_embedding_view(196)


# --- 05 ---------------------------------------------------------------------------------


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
    explorers._similarity_table.cache_clear()
    state = torch.random.get_rng_state()
    similarity_source("init")
    assert torch.equal(torch.random.get_rng_state(), state)


def test_similarity_source_unknown():
    with pytest.raises(ValueError, match="source must be one of 'init', 'trained'"):
        similarity_source("learned")


def test_pretrained_without_weights_says_why(monkeypatch):
    from vit_tutorial import weights

    def unavailable(*args, **kwargs):
        raise weights.WeightsUnavailable("not in torch's cache, and download=False")

    monkeypatch.setattr(weights, "torchvision_pretrained_state_dict", unavailable)
    monkeypatch.setattr(explorers, "_PRETRAINED", {})
    with pytest.raises(weights.WeightsUnavailable, match="download=False"):
        similarity_view("pretrained", 0, 0)


def test_pretrained_source_uses_a_14x14_grid(monkeypatch):
    from vit_tutorial import weights

    torch.manual_seed(0)
    fake = {"encoder.pos_embedding": torch.randn(1, 197, 768)}
    monkeypatch.setattr(weights, "torchvision_pretrained_state_dict", lambda *a, **k: fake)
    monkeypatch.setattr(explorers, "_PRETRAINED", {})
    try:
        view = similarity_view("pretrained", 13, 0)
        assert view.grid == (14, 14) and view.tile.shape == (14, 14)
        assert "14×14 grid" in view.text
    finally:
        explorers._renderers.cache_clear()  # drop the fake's pictures
        explorers._locality.cache_clear()


def test_similarity_view_tile_and_pictures():
    sim, _ = similarity_source("trained")
    view = similarity_view("trained", 2, 5)
    torch.testing.assert_close(view.tile, sim[2, 5])
    assert view.grid == (7, 7)
    assert "patch (2, 5)" in view.text and "row 3, column 6" in view.text
    other = similarity_view("trained", 2, 6)
    assert view.map_png != other.map_png and view.grid_png != other.grid_png
    assert similarity_view("trained", 2, 5).grid_png == view.grid_png  # repaint is exact


def test_similarity_grid_repaint_equals_a_full_redraw():
    # The explorer repaints only the frame over a cached Figure 7; it must look exactly like
    # plot_position_similarity(..., highlight=(i, j)) drawn from scratch at the same size.
    from vit_tutorial.similarity import plot_position_similarity

    sim, label = similarity_source("sincos")
    fast = pixels(similarity_view("sincos", 4, 1).grid_png)
    grid_renderer = explorers._renderers("sincos")[1]
    fig = explorers._new_figure(*grid_renderer.fig.get_size_inches())
    plot_position_similarity(sim, title=f"Figure 7 (centre): {label}", highlight=(4, 1), fig=fig)
    full = pixels(render_png(fig))
    assert fast.shape == full.shape
    differing = np.abs(fast.astype(int) - full.astype(int)).max(axis=-1) > 8
    assert differing.mean() < 1e-3  # at most a few anti-aliased pixels


@pytest.mark.parametrize("row, column", [(7, 0), (0, -1), (1.0, 2)])
def test_similarity_view_patch_outside_the_grid(row, column):
    with pytest.raises(ValueError, match=r"must be an int from 0 to 6 for the 7×7 grid"):
        similarity_view("trained", row, column)


# --- 06 ---------------------------------------------------------------------------------


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


def test_interpolation_view_defaults_to_the_centre_and_changes_with_the_mode():
    bicubic = interpolation_view(14, 14)
    assert bicubic.position == (7, 7)
    assert bicubic.png != interpolation_view(14, 14, "nearest").png


@pytest.mark.parametrize("kwargs, message", [
    (dict(mode="cubic"), "mode must be one of 'bicubic'"),
    (dict(rows=0), "rows must be a positive int"),
    (dict(rows=4, columns=4, position=(4, 0)), r"0 <= row < 4 and 0 <= column < 4"),
])
def test_interpolation_view_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        interpolation_view(**kwargs)


def test_held_out_digits_at_a_square_size_are_the_lessons_digits():
    from vit_tutorial.data import digits

    images, labels = held_out_digits(56, 56)
    expected_images, expected_labels = digits("test", 56)
    assert torch.equal(images, expected_images) and torch.equal(labels, expected_labels)
    assert held_out_digits(20, 48)[0].shape == (360, 1, 20, 48)


def test_resolution_accuracy_at_the_training_size_is_the_models_accuracy():
    from vit_tutorial.data import digits
    from vit_tutorial.model import load_tiny_vit
    from vit_tutorial.train import evaluate

    expected = evaluate(load_tiny_vit(), *digits("test"))
    assert resolution_accuracy(7, 7, "bilinear") == pytest.approx(expected)  # same size: no change


def test_resolution_accuracy_is_cached_per_setting():
    first = resolution_accuracy(8, 8, "nearest")
    hits = resolution_accuracy.cache_info().hits
    assert resolution_accuracy(8, 8, "nearest") == first
    assert resolution_accuracy.cache_info().hits == hits + 1
    assert 0.0 <= first <= 1.0


def test_accuracy_text():
    text = explorers.accuracy_text(7, 7, "bicubic")
    assert text.startswith("TinyViT at 28×28 (7×7 grid, bicubic E_pos, no fine-tuning): ")
    assert "%" in text


# --- previews and timings -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["patch", "patch_embedding", "similarity", "interpolation"])
def test_static_preview(name):
    picture = static_preview(name)
    assert isinstance(picture, Picture)
    assert repr(picture) == f"static preview: {name.replace('_', ' ')} explorer"
    assert picture._repr_png_().startswith(PNG_SIGNATURE)
    without_caption = pixels(preview_png(name, caption=None))
    assert pixels(picture.png).shape[0] > without_caption.shape[0]  # the caption line


def test_similarity_preview_puts_both_pictures_side_by_side():
    view = similarity_view()
    width = pixels(preview_png("similarity", caption=None)).shape[1]
    assert width == pixels(view.map_png).shape[1] + pixels(view.grid_png).shape[1]


def test_preview_unknown_name():
    with pytest.raises(ValueError, match="name must be 'patch'"):
        preview_png("patches")


def test_explorer_timings_reports_every_redraw():
    timings = explorers.explorer_timings(repeats=1)
    expected = {"patch: new P", "similarity: new patch", "interpolation: new grid (figure)"}
    assert expected <= set(timings)
    assert all(isinstance(v, float) and v >= 0 for v in timings.values())
