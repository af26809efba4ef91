"""What every explorer shares (vit_tutorial.explorers: base, common, __init__, __main__):
where ipywidgets may be imported, pictures made outside pyplot, the static picture, the
display data a notebook stores, and the redraw timings."""

import ast
import io
import subprocess
import sys
from pathlib import Path

import ipywidgets as widgets
import numpy as np
import pytest

import vit_tutorial
from vit_tutorial import explorers
from vit_tutorial.explorers.common import STATIC_CAPTION, compose_png
from vit_tutorial.figures import encode_png, render_png
from vit_tutorial.widgets import (
    Explorer,
    interpolation_explorer,
    patch_embedding_explorer,
    patch_explorer,
    similarity_explorer,
)

PACKAGE = Path(vit_tutorial.__file__).parent
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def pixels(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


# --- ipywidgets stays in one module ----------------------------------------------------


def imports_ipywidgets(source: str) -> bool:
    """Does this Python source import ipywidgets anywhere: at module level, in a function or
    a class, as ``import ipywidgets…``, ``from ipywidgets… import …`` or
    ``importlib.import_module("ipywidgets…")``?"""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module]
        elif (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
              and getattr(node.func, "attr", getattr(node.func, "id", None))
              in ("import_module", "__import__")):
            names = [node.args[0].value]
        else:
            continue
        if any(name == "ipywidgets" or str(name).startswith("ipywidgets.") for name in names):
            return True
    return False


@pytest.mark.parametrize("source, imports", [
    ("import ipywidgets", True),
    ("import os, ipywidgets as w", True),
    ("from ipywidgets import HTML", True),
    ("from ipywidgets.widgets import Image", True),
    ("def show():\n    import ipywidgets\n", True),
    ("class A:\n    def m(self):\n        from ipywidgets import VBox\n", True),
    ("import importlib\nw = importlib.import_module('ipywidgets')", True),
    ("from vit_tutorial.explorers.base import Explorer", False),
    ("import ipywidgets_extra\n# import ipywidgets\ntext = 'import ipywidgets'", False),
])
def test_the_ipywidgets_finder(source, imports):
    assert imports_ipywidgets(source) is imports


def test_only_the_base_widget_module_imports_ipywidgets():
    importers = sorted(path.relative_to(PACKAGE.parent).as_posix()
                       for path in PACKAGE.rglob("*.py")
                       if imports_ipywidgets(path.read_text(encoding="utf-8")))
    assert importers == ["vit_tutorial/explorers/base.py"]


@pytest.mark.slow  # a fresh interpreter imports torch and the whole package
def test_the_package_imports_ipywidgets_only_for_a_widget():
    # Everything but the widget faces works where ipywidgets doesn't; vit_tutorial.explorers
    # itself re-exports lazily, so importing it loads no explorer yet.
    code = ("import importlib, pkgutil, sys, vit_tutorial, vit_tutorial.explorers\n"
            "for m in pkgutil.iter_modules(vit_tutorial.__path__):\n"
            "    if m.name != 'widgets':\n"
            "        importlib.import_module(f'vit_tutorial.{m.name}')\n"
            "loaded = sorted(m for m in sys.modules if m.startswith('ipywidgets'))\n"
            "assert not loaded, loaded\n"
            "import vit_tutorial.widgets\n"
            "assert 'ipywidgets' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=PACKAGE.parent)


# --- the package's face ------------------------------------------------------------------


def test_every_re_exported_name_is_its_modules_own():
    import importlib

    for module, names in explorers.MODULES.items():
        owner = importlib.import_module(f"vit_tutorial.explorers.{module}")
        for name in names:
            assert getattr(explorers, name) is getattr(owner, name), name
    with pytest.raises(AttributeError, match="has no attribute 'static_preview'"):
        explorers.static_preview  # noqa: B018 - removed dead code stays removed


# --- pictures ----------------------------------------------------------------------------


@pytest.mark.slow  # draws every explorer's picture once
def test_figures_stay_out_of_pyplot():
    # A widget callback runs outside any cell: a pyplot figure made there would pop up
    # under the next cell the reader runs.
    import matplotlib.pyplot as plt

    from vit_tutorial.explorers.interpolation import interpolation_view
    from vit_tutorial.explorers.patch_embedding import patch_embedding_view
    from vit_tutorial.explorers.patches import draw_patch_explorer
    from vit_tutorial.explorers.similarity import similarity_view

    before = plt.get_fignums()
    draw_patch_explorer(224, 16)
    similarity_view("trained", 1, 2)
    interpolation_view(5, 6)
    patch_embedding_view(3)
    compose_png([encode_png(np.zeros((4, 4, 3), np.uint8))])  # its caption is a figure too
    assert plt.get_fignums() == before


def test_render_png_keeps_the_figure_size():
    from vit_tutorial.explorers.patches import draw_patch_explorer

    fig = draw_patch_explorer(224, 16)
    height, width, _ = pixels(render_png(fig)).shape
    assert (width, height) == tuple(round(v) for v in fig.get_size_inches() * fig.dpi)


def solid(height: int, width: int, colour) -> bytes:
    return encode_png(np.full((height, width, 3), colour, np.uint8))


def test_compose_png_puts_pictures_side_by_side_centred_on_white():
    red, blue = (255, 0, 0), (0, 0, 255)
    both = pixels(compose_png([solid(10, 20, red), solid(30, 5, blue)], caption=None))
    assert both.shape == (30, 25, 3)  # widths add up, the taller one sets the height
    assert (both[10:20, :20] == red).all() and (both[:, 20:] == blue).all()
    assert (both[:10, :20] == 255).all() and (both[20:, :20] == 255).all()  # padded white


def test_compose_png_caption_goes_under_the_pictures():
    one = solid(40, 300, (0, 0, 255))
    assert np.array_equal(pixels(compose_png([one], caption=None)), pixels(one))
    captioned = pixels(compose_png([one]))  # STATIC_CAPTION by default
    assert captioned.shape[1] == 300 and captioned.shape[0] > 40
    assert np.array_equal(captioned[:40], pixels(one))
    assert (captioned[40:] < 200).any()  # some text was drawn in the strip
    assert not np.array_equal(captioned, pixels(compose_png([one], "another caption")))
    assert STATIC_CAPTION.startswith("A static picture of this explorer")


# --- the widget every explorer is --------------------------------------------------------


def displayed(explorer, monkeypatch):
    """The display data an explorer publishes when a notebook shows it."""
    import IPython.display

    published = []
    monkeypatch.setattr(IPython.display, "display",
                        lambda data, raw=False: published.append((data, raw)))
    explorer._ipython_display_()
    assert len(published) == 1 and published[0][1] is True
    return published[0][0]


SLOW = pytest.mark.slow  # TinyViT's accuracy on the digits, at two grids
BUILDERS = [patch_explorer, patch_embedding_explorer, similarity_explorer,
            pytest.param(interpolation_explorer, marks=SLOW)]


@pytest.mark.parametrize("build", BUILDERS)
def test_an_explorer_is_a_vbox_that_starts_without_a_message(build):
    explorer = build()
    assert isinstance(explorer, Explorer) and isinstance(explorer, widgets.VBox)
    assert explorer.error is None and explorer.message.value == ""
    assert explorer.readout.value
    sliders = [c for c in explorer.controls if isinstance(c, widgets.IntSlider)]
    assert sliders and not any(s.continuous_update for s in sliders)  # redraw on release


@pytest.mark.parametrize("build", BUILDERS)
def test_display_data_has_the_widget_the_static_picture_and_fixed_text(build, monkeypatch):
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


def test_the_static_picture_is_the_current_view_with_the_caption(monkeypatch):
    explorer = similarity_explorer(row=0)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    shown = compose_png([bytes(explorer.map_image.value), bytes(explorer.grid_image.value)])
    assert displayed(explorer, monkeypatch)["image/png"] == shown


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
    data = displayed(explorer, monkeypatch)
    assert WIDGET_VIEW not in data and data["text/plain"].startswith("PatchExplorer(")


@pytest.mark.parametrize("build, kwargs, text", [
    (patch_explorer, dict(patch_size=15), "PatchExplorer(image_size=224, patch_size=15)"),
    (patch_embedding_explorer, dict(index=3), "PatchEmbeddingExplorer(index=3)"),
    (similarity_explorer, dict(), "SimilarityExplorer(source='trained', row=3, column=3)"),
    pytest.param(interpolation_explorer, dict(rows=7, columns=9),
                 "InterpolationExplorer(grid_rows=7, grid_columns=9, mode='bicubic', "
                 "position_row=3, position_column=4)", marks=SLOW),
])
def test_text_forms_name_the_settings(build, kwargs, text, monkeypatch):
    shown = displayed(build(**kwargs), monkeypatch)["text/plain"]
    assert shown == f"{text}: interactive in JupyterLab or Colab; elsewhere a static picture"


# --- python -m vit_tutorial.explorers ----------------------------------------------------


@pytest.mark.slow  # redraws every explorer and measures one new accuracy
def test_explorer_timings_reports_every_redraw():
    from vit_tutorial.explorers.__main__ import explorer_timings

    timings = explorer_timings(repeats=1)
    assert set(timings) == {
        "patch: new P", "patch: P does not divide", "similarity: first view of a source",
        "similarity: new patch", "interpolation: new grid (figure)",
        "interpolation: accuracy, first time at 14×14", "interpolation: accuracy, cached",
        "patch embedding: new patch"}
    for name, ms in timings.items():
        assert isinstance(ms, float) and ms > 0, (name, ms)
