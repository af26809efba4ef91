"""The explorers as widgets, without a browser: build each one, set its controls from code
(as a reader's slider would), and check what it shows."""

import sys

import pytest
import torch

widgets = pytest.importorskip("ipywidgets")

from vit_tutorial import explorers  # noqa: E402
from vit_tutorial.widgets import (  # noqa: E402
    Explorer,
    interpolation_explorer,
    patch_embedding_explorer,
    patch_explorer,
    similarity_explorer,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def displayed(explorer, monkeypatch):
    """The display data an explorer publishes when a notebook shows it."""
    import IPython.display

    published = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda data, raw=False: published.append((data, raw)))
    explorer._ipython_display_()
    assert len(published) == 1 and published[0][1] is True
    return published[0][0]


# --- every explorer ---------------------------------------------------------------------

BUILDERS = [patch_explorer, patch_embedding_explorer, similarity_explorer, interpolation_explorer]


@pytest.mark.parametrize("build", BUILDERS)
def test_an_explorer_is_a_vbox_that_starts_without_a_message(build):
    explorer = build()
    assert isinstance(explorer, (Explorer, widgets.VBox))
    assert explorer.error is None and explorer.message.value == ""
    assert explorer.readout.value
    assert all(png.startswith(PNG_SIGNATURE) for png in explorer._pngs())
    for control in explorer.controls:
        if isinstance(control, widgets.IntSlider):
            assert control.continuous_update is False  # redraw on release, never a backlog


@pytest.mark.parametrize("build", BUILDERS)
def test_display_data_has_the_widget_a_static_png_and_fixed_text(build, monkeypatch):
    explorer = build()
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    data = displayed(explorer, monkeypatch)
    assert data[WIDGET_VIEW]["model_id"] == explorer.model_id
    assert data[WIDGET_VIEW]["version_major"] == 2
    assert data["image/png"].startswith(PNG_SIGNATURE)
    text = data["text/plain"]
    assert text.startswith(f"{type(explorer).__name__}(")
    assert text.endswith("): interactive in JupyterLab or Colab; elsewhere a static picture")
    assert "0x" not in text and "\n" not in text
    assert displayed(build(), monkeypatch)["text/plain"] == text  # same settings, same text


def test_on_colab_the_display_data_leaves_the_png_out(monkeypatch):
    explorer = patch_explorer()
    monkeypatch.setitem(sys.modules, "google.colab", type(sys)("google.colab"))
    data = displayed(explorer, monkeypatch)
    assert set(data) == {"text/plain", WIDGET_VIEW}


def test_a_closed_explorer_displays_without_the_widget_view(monkeypatch):
    explorer = patch_explorer()
    explorer.close()
    if explorer._ipython_display_ is None:  # ipywidgets 7's close() switches display off itself
        return
    assert WIDGET_VIEW not in displayed(explorer, monkeypatch)


# --- 01 ---------------------------------------------------------------------------------


def test_patch_explorer_slider_redraws():
    explorer = patch_explorer()
    assert "N = 224·224/16² = 196 patches" in explorer.readout_text
    assert explorer.summary.sequence_shape == (196, 768)
    before = explorer.image.value
    explorer.patch_size.value = 8
    assert "N = 224·224/8² = 784 patches" in explorer.readout_text
    assert "(784, 192) = (N, P²·C)" in explorer.readout_text
    assert explorer.image.value != before
    assert explorer.image.value == explorers.patch_explorer_png(224, 8)
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


def test_text_forms_name_the_settings(monkeypatch):
    assert displayed(patch_explorer(patch_size=15), monkeypatch)["text/plain"] == (
        "PatchExplorer(image_size=224, patch_size=15): interactive in JupyterLab or Colab; "
        "elsewhere a static picture")
    assert displayed(similarity_explorer(), monkeypatch)["text/plain"].startswith(
        "SimilarityExplorer(source='trained', row=3, column=3): ")
    assert displayed(interpolation_explorer(), monkeypatch)["text/plain"].startswith(
        "InterpolationExplorer(grid_rows=14, grid_columns=14, mode='bicubic', position_row=7, "
        "position_column=7): ")


# --- 02 ---------------------------------------------------------------------------------


def test_patch_embedding_explorer():
    explorer = patch_embedding_explorer()
    assert explorer.view.index == 78 and explorer.index.max == 195
    before = explorer.image.value
    explorer.index.value = 0
    assert explorer.view.index == 0 and explorer.image.value != before
    assert explorer.readout_text.startswith("patch n = 0 of N = 196: grid row 0, column 0")


# --- 05 ---------------------------------------------------------------------------------


def test_similarity_explorer_pick_a_patch():
    explorer = similarity_explorer()
    assert (explorer.row.max, explorer.column.max) == (6, 6)
    map_before, grid_before = explorer.map_image.value, explorer.grid_image.value
    explorer.row.value = 0
    assert (explorer.view.row, explorer.view.column) == (0, 3)
    assert explorer.map_image.value != map_before and explorer.grid_image.value != grid_before
    assert "patch (0, 3) of the 7×7 grid" in explorer.readout_text
    sim, _ = explorers.similarity_source("trained")
    torch.testing.assert_close(explorer.view.tile, sim[0, 3])


def test_similarity_explorer_change_source():
    explorer = similarity_explorer()
    grid_before = explorer.grid_image.value
    explorer.source.value = "sincos"
    assert explorer.view.source == "sincos" and explorer.grid_image.value != grid_before
    assert "2-D sine–cosine (fixed)" in explorer.readout_text
    explorer.source.value = "init"
    assert "initialisation" in explorer.readout_text and explorer.error is None


def test_similarity_explorer_pretrained_unavailable_keeps_the_view_and_says_why(monkeypatch):
    from vit_tutorial import weights

    def unavailable(*args, **kwargs):
        raise weights.WeightsUnavailable("no connection to download.pytorch.org (offline?)")

    monkeypatch.setattr(weights, "torchvision_pretrained_state_dict", unavailable)
    monkeypatch.setattr(explorers, "_PRETRAINED", {})
    explorer = similarity_explorer(download=False)
    shown = explorer.grid_image.value
    explorer.source.value = "pretrained"
    assert explorer.source.value == "trained"  # back to what is still shown
    assert explorer.grid_image.value == shown
    assert "pretrained weights are not available here (no connection" in explorer.error
    assert "similarity_explorer(download=True)" in explorer.error
    assert "Traceback" not in explorer.message.value


def test_similarity_explorer_pretrained_grid_resizes_the_sliders(monkeypatch):
    from vit_tutorial import weights

    torch.manual_seed(0)
    fake = {"encoder.pos_embedding": torch.randn(1, 197, 768)}
    monkeypatch.setattr(weights, "torchvision_pretrained_state_dict", lambda *a, **k: fake)
    monkeypatch.setattr(explorers, "_PRETRAINED", {})
    try:
        explorer = similarity_explorer()
        explorer.source.value = "pretrained"
        assert (explorer.row.max, explorer.column.max) == (13, 13) and explorer.error is None
        explorer.row.value = 13
        assert explorer.view.grid == (14, 14) and explorer.view.row == 13
        explorer.source.value = "trained"  # back to 7×7: the picked patch moves inside
        assert (explorer.row.max, explorer.row.value) == (6, 6)
        assert explorer.view.row == 6 and explorer.error is None
    finally:
        explorers._renderers.cache_clear()
        explorers._locality.cache_clear()


# --- 06 ---------------------------------------------------------------------------------


def test_interpolation_explorer_grid_and_accuracy():
    explorer = interpolation_explorer()
    assert explorer.view.pos_embed.shape == (1, 197, 64)
    assert explorer.accuracy == explorers.resolution_accuracy(14, 14, "bicubic")
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
    assert explorer.accuracy == explorers.resolution_accuracy(5, 14, "nearest")


def test_interpolation_explorer_position():
    explorer = interpolation_explorer(rows=6, columns=6)
    before = explorer.image.value
    explorer.position_column.value = 0
    assert explorer.view.position == (3, 0) and explorer.image.value != before
    assert explorer.error is None
