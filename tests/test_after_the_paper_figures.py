"""Lesson 10's figures (``vit_tutorial.after_the_paper_figures``): what they draw, and their
errors."""

import matplotlib.pyplot as plt  # the root conftest.py selects the Agg backend
import pytest
import torch

from vit_tutorial.after_the_paper_figures import (
    plot_accuracy_by_size,
    plot_filters,
    plot_norm_histograms,
)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_filters_side_by_side_on_one_colour_scale():
    small, large = torch.randn(4, 4), 4 * torch.randn(8, 8)
    fig, axes = plot_filters([small, large, torch.randn(6, 10)], ["4", "8", "6x10"])
    assert len(axes) == 3 and len(fig.axes) == 4  # three maps, one colour bar
    assert axes[2].get_title() == "6x10\n6×10"
    limit = large.abs().max().item()  # the largest weight of all sets the scale
    for ax in axes:
        image = ax.images[0]
        assert image.get_clim() == pytest.approx((-limit, limit))  # centred on 0, shared
        assert image.get_cmap().name == "RdBu_r"
    assert fig.axes[3].get_ylabel() == "filter weight"


def test_accuracy_curves_with_seed_ranges():
    row = {"20": {"mean": 0.8, "min": 0.7, "max": 0.9}, "28": {"mean": 0.9, "min": 0.85,
                                                              "max": 0.95}}
    fig, ax = plot_accuracy_by_size({"a": row, "b": row}, {"a": "first"}, trained_at=28,
                                    chance=0.1)
    assert [line.get_ydata()[0] for line in ax.lines if line.get_linestyle() == "--"] == [10]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["first", "b"]
    assert [int(t) for t in ax.get_xticks()] == [20, 28]
    assert "accuracy" in ax.get_ylabel() and "image size" in ax.get_xlabel()
    means = ax.containers[0].lines[0].get_ydata()
    assert list(means) == pytest.approx([80.0, 90.0])


def test_norm_histograms_on_a_log_axis():
    bins = torch.linspace(0, 3, 31).tolist()
    fig, ax = plot_norm_histograms(bins, {"0 registers": [1] * 30, "4 registers": [2] * 30},
                                   threshold=2.0)
    assert ax.get_yscale() == "log" and ax.get_xlim() == (0.0, 3.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0 registers", "4 registers"]


@pytest.mark.parametrize("call, message", [
    (lambda: plot_filters([torch.zeros(4, 4)], []), r"one title per filter, got 1 filters"),
    (lambda: plot_filters([torch.zeros(1, 4, 4)], ["x"]),
     r"filters\[0\] must be one filter \(P_h, P_w\), got shape \(1, 4, 4\)"),
    (lambda: plot_accuracy_by_size({}), r"accuracy must be a non-empty dict"),
    (lambda: plot_norm_histograms([0, 1, 2], {"a": [1, 2, 3]}),
     r"histogram 'a' has 3 counts for 2"),
    (lambda: plot_norm_histograms([0, 1], {}), r"non-empty dict"),
])
def test_plot_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()
