"""Lesson 05's figure (``vit_tutorial.similarity_figures``): Figure 7 (centre), its layout, and
its errors."""

import pytest
import torch

from vit_tutorial.positional_embedding import sincos_2d_pos_embed
from vit_tutorial.similarity import position_similarity
from vit_tutorial.similarity_figures import plot_position_similarity


@pytest.mark.parametrize("grid", [(7, 7), (4, 6)])
def test_plot_layout(grid):
    import matplotlib.pyplot as plt

    gh, gw = grid
    sim = position_similarity(sincos_2d_pos_embed(grid, 32), grid, num_prefix_tokens=0)
    fig, axes = plot_position_similarity(sim, title="sin-cos")
    assert axes.shape == (gh, gw)
    assert len(fig.axes) == gh * gw + 1  # the tiles and one colour bar
    colorbar_ax = fig.axes[-1]
    assert colorbar_ax.get_ylabel() == "cosine similarity"
    images = [ax.images[0] for ax in axes.ravel()]
    assert all(im.get_clim() == (-1.0, 1.0) for im in images)  # one shared scale
    assert all(im.cmap.name == "RdBu_r" for im in images)
    assert images[gw + 2].get_array().shape == (gh, gw)
    assert (images[gw + 2].get_array() == sim[1, 2].numpy()).all()  # tile (1, 2) is sim[1, 2]
    assert [axes[i, 0].get_ylabel() for i in range(gh)] == [str(i) for i in range(gh)]
    assert [axes[-1, j].get_xlabel() for j in range(gw)] == [str(j) for j in range(gw)]
    assert all(ax.get_xticks().size == 0 and ax.get_yticks().size == 0 for ax in axes.ravel())
    assert fig.get_suptitle() == "sin-cos"
    assert fig.get_supylabel() == "input patch row (from 0)"
    assert fig.get_supxlabel() == "input patch column (from 0)"
    assert not any(ax.patches for ax in axes.ravel())  # no highlight asked for
    plt.close(fig)


def test_plot_highlight_and_given_figure():
    import matplotlib.pyplot as plt

    sim = position_similarity(sincos_2d_pos_embed((4, 6), 32), (4, 6), num_prefix_tokens=0)
    fig = plt.figure(figsize=(6, 4))
    out, axes = plot_position_similarity(sim, highlight=(2, 5), fig=fig)
    assert out is fig
    frames = [(i, j) for i in range(4) for j in range(6) if axes[i, j].patches]
    assert frames == [(2, 5)]
    assert axes[2, 5].patches[0].get_gid() == "highlight"
    fig.canvas.draw()
    plt.close(fig)


def test_plot_fits_a_small_given_figure():
    import matplotlib.pyplot as plt

    sim = torch.ones(7, 7, 7, 7)
    fig = plt.figure(figsize=(4, 3))
    _, axes = plot_position_similarity(sim, fig=fig)
    right_edge = max(ax.get_position().x1 for ax in fig.axes)  # colour bar included
    top_edge = max(ax.get_position().y1 for ax in fig.axes)
    assert right_edge <= 1 and top_edge <= 1
    plt.close(fig)
    with pytest.raises(ValueError, match=r"the figure \(2\.0x1\.0 in\) is too small"):
        plot_position_similarity(sim, fig=plt.figure(figsize=(2, 1)))
    plt.close("all")


@pytest.mark.parametrize("highlight", [(4, 0), (0, 6), (-1, 0), (1,), (1.0, 2), "a1"])
def test_plot_highlight_errors(highlight):
    sim = torch.ones(4, 6, 4, 6)
    with pytest.raises(ValueError, match=r"highlight must be a \(row, column\) pair of ints"):
        plot_position_similarity(sim, highlight=highlight)


def test_plot_rejects_a_pos_embed():
    with pytest.raises(ValueError, match=r"similarity must have shape.*got \(1, 50, 8\)"):
        plot_position_similarity(torch.zeros(1, 50, 8))


def test_plot_14x14_draws():
    """196 tiles (ViT-B/16's grid); its speed is measured by the benchmark command."""
    import matplotlib.pyplot as plt

    sim = position_similarity(sincos_2d_pos_embed(14, 768), 14, num_prefix_tokens=0)
    fig, axes = plot_position_similarity(sim, highlight=(13, 13))
    fig.canvas.draw()
    plt.close(fig)
    assert axes.shape == (14, 14)


def test_plot_colour_range():
    import matplotlib.pyplot as plt

    sim = position_similarity(sincos_2d_pos_embed(4, 32), 4, num_prefix_tokens=0)
    fig, axes = plot_position_similarity(sim)
    assert axes[0, 0].images[0].get_cmap().name == "RdBu_r"  # centred on 0: diverging
    fig, axes = plot_position_similarity(sim, vmin=0.7, vmax=1.0)
    image = axes[0, 0].images[0]
    assert image.get_cmap().name == "viridis" and image.get_clim() == (0.7, 1.0)
    with pytest.raises(ValueError, match=r"vmin must be smaller than vmax, got vmin=1.0, vmax=0.5"):
        plot_position_similarity(sim, vmin=1.0, vmax=0.5)
    plt.close("all")
