"""Lesson 09's figures (``vit_tutorial.attention_maps_figures``): what they draw, and their
errors."""

import pytest
import torch

from vit_tutorial.attention_maps_figures import (
    plot_attention_distance,
    plot_rollout,
)


def test_plot_attention_distance():
    import matplotlib.pyplot as plt

    fig, ax = plot_attention_distance(torch.rand(4, 3) * 10, 5.0, title="t")
    assert len(ax.collections) == 3  # one scatter per head
    paths = [c.get_paths()[0].vertices.round(decimals=3).tolist() for c in ax.collections]
    assert paths[0] != paths[1] != paths[2] != paths[0]  # each head its own marker shape
    assert ax.get_xlabel() == "network depth (layer, from 0)" and "pixels" in ax.get_ylabel()
    assert len(ax.lines) == 1  # the uniform line
    plt.close(fig)
    fig, ax = plot_attention_distance(torch.rand(2, 12))  # many heads: no legend
    assert ax.get_legend() is None
    plt.close(fig)
    with pytest.raises(ValueError, match=r"distances must have shape \(L, h\)"):
        plot_attention_distance(torch.rand(4))
    with pytest.raises(TypeError, match="uniform must be a number"):
        plot_attention_distance(torch.rand(2, 2), uniform="14")
    with pytest.raises(ValueError, match=r"spread must be a number in \[0, 1\)"):
        plot_attention_distance(torch.rand(2, 2), spread=1.5)


def test_plot_rollout():
    import matplotlib.pyplot as plt

    fig, axes = plot_rollout(torch.rand(2, 1, 8, 8), torch.rand(2, 2, 2), labels=["a", "b"])
    assert axes.shape == (2, 3) and axes[1, 0].get_title() == "b"
    plt.close(fig)
