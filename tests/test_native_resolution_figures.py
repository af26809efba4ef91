"""Lesson 11's figures (``vit_tutorial.native_resolution_figures``): what they draw, and their
errors."""

import matplotlib.pyplot as plt  # the root conftest.py selects the Agg backend
import pytest
import torch

from vit_tutorial.native_resolution import attention_mask, fit_to_budget
from vit_tutorial.native_resolution_figures import (
    plot_accuracy_by_shape,
    plot_budget_grids,
    plot_masks,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_budget_grids_square_on_top_own_grid_below():
    images = [torch.rand(1, 28, 56), torch.rand(3, 40, 24)]
    fig, axes = plot_budget_grids(images, ["wide", "tall"], patch_size=4, max_tokens=16)
    assert axes.shape == (2, 2)
    assert axes[0, 0].get_title() == "wide, 28×56\nsquashed: 4×4 = 16 tokens"
    gh, gw = (side // 4 for side in fit_to_budget((28, 56), 4, 16))  # the aspect kept
    assert axes[1, 0].get_title() == f"aspect kept (NaFlex)\n{gh}×{gw} = {gh * gw} tokens"
    assert gh * gw <= 16 and gw > gh
    assert axes[1, 1].images[0].get_array().shape[:2] == fit_to_budget((40, 24), 4, 16)


def test_masks_show_what_attends():
    valid = torch.tensor([[True, True, False]])
    additive = attention_mask(valid, num_prefix_tokens=1)[0, 0]  # (T, T), 0 where allowed
    fig, axes = plot_masks([additive, additive == 0], ["additive", "bool"], [[1, 3], []])
    assert len(axes) == 2
    assert axes[0].get_title() == axes[1].get_title().replace("bool", "additive")
    assert axes[0].get_title().endswith("9 of 16 pairs attend")  # 3 real tokens, 3 × 3
    assert axes[0].get_xlabel() == "key token" and axes[0].get_ylabel() == "query token"
    assert len(axes[0].lines) == 4 and not axes[1].lines  # two boundaries, both ways


def test_accuracy_by_shape_one_series_per_model():
    row = {"mean": 0.9, "min": 0.85, "max": 0.95}
    accuracy = {"square": {"28x28": row, "28x56": row}, "naflex": {"28x28": row, "28x56": row}}
    fig, ax = plot_accuracy_by_shape(accuracy, {"square": "resized", "naflex": "NaFlex"},
                                     [28, (28, 56)], single={"timm": {"28x28": 1, "28x56": 0.5}},
                                     chance=0.1)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["28×28", "28×56"]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]  # lines first, then bars
    assert sorted(legend) == sorted(["timm", "resized", "NaFlex", "chance"])
    assert legend.index("resized") < legend.index("NaFlex")  # in the order of labels
    assert ax.get_ylabel() == "test accuracy (%)"


@pytest.mark.parametrize("draw, message", [
    (lambda: plot_budget_grids([torch.rand(1, 8, 8)], [], 4, 4), "one title per image"),
    (lambda: plot_budget_grids([torch.rand(8, 8)], ["x"], 4, 4), "must be one image"),
    (lambda: plot_masks([torch.zeros(3, 4)], ["x"]), "each mask must be"),
    (lambda: plot_masks([torch.zeros(3, 3)], []), "one title"),
    (lambda: plot_accuracy_by_shape({"a": {}}, {"a": "A"}, [28]), "no accuracy for"),
])
def test_errors_say_what_was_expected(draw, message):
    with pytest.raises(ValueError, match=message):
        draw()
