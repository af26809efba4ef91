"""Lesson 06's figures (``vit_tutorial.interpolation_figures``): what they draw, and their
errors."""

import pytest
import torch

from vit_tutorial.interpolation import resize_pos_embed
from vit_tutorial.interpolation_figures import plot_resized_channels

D = 16  # a small embedding width keeps the tests fast


def make_pos_embed(grid, prefix, dim=D, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(1, prefix + grid[0] * grid[1], dim, generator=generator)


def test_figure_draws():
    import matplotlib.pyplot as plt

    pos_embed = make_pos_embed((7, 7), 1)
    versions = [pos_embed, resize_pos_embed(pos_embed, 14), resize_pos_embed(pos_embed, (5, 9))]
    fig, axes = plot_resized_channels(versions, ["7×7", "bicubic", "non-square"],
                                      [7, 14, (5, 9)], channels=(0, 3))
    assert axes.shape == (2, 3)
    assert axes[0, 2].get_title() == "non-square\n5×9 grid, channel 0"
    assert axes[1, 0].get_xlabel() == "patch column" and axes[1, 0].get_ylabel() == "patch row"
    colorbar_labels = [ax.get_ylabel() for ax in fig.axes[axes.size:]]
    assert colorbar_labels == ["$E_{pos}$ value, channel 0", "$E_{pos}$ value, channel 3"]
    # one colour scale per channel row, shared by all versions
    assert len({im.get_clim() for im in (ax.images[0] for ax in axes[0])}) == 1
    with pytest.raises(ValueError, match=r"one title and one grid size per position embedding"):
        plot_resized_channels(versions, ["only one"])
    with pytest.raises(ValueError, match=r"channel 16 is out of range for D = 16"):
        plot_resized_channels(versions[:1], ["7×7"], channels=(16,))
    with pytest.raises(ValueError, match=r"pos_embeds\[0\] has 50 tokens.*old_grid_size \(5, 9\)"):
        plot_resized_channels(versions[:1], ["7×7"], [(5, 9)])
    plt.close("all")


def test_plot_align_corners():
    import matplotlib.pyplot as plt

    from vit_tutorial.interpolation_figures import plot_align_corners

    fig, ax = plot_align_corners(torch.arange(7.0), 14, ylabel="E_pos value")
    assert ax.get_ylabel() == "E_pos value"
    with pytest.raises(ValueError, match=r"values must be a 1-D tensor of at least 2 samples, "
                                         r"got shape \(1, 7\)"):
        plot_align_corners(torch.zeros(1, 7), 14)
    with pytest.raises(TypeError, match=r"floating-point tensor, got dtype torch.int64"):
        plot_align_corners(torch.arange(7), 14)
    with pytest.raises(ValueError, match=r"mode must be 'bilinear' or 'bicubic'.*got 'nearest'"):
        plot_align_corners(torch.arange(7.0), 14, mode="nearest")
    plt.close("all")


def test_plot_resized_similarity():
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from vit_tutorial.interpolation_figures import plot_resized_similarity
    from vit_tutorial.similarity import position_similarity

    torch.manual_seed(0)
    old = torch.randn(1, 1 + 7 * 7, D)
    new = resize_pos_embed(old, 14)
    fig, axes = plot_resized_similarity(old, new, [(3, 3), (0, 6)])
    assert axes.shape == (2, 2)
    assert axes[0, 1].get_title() == "old patch (0, 6), 7×7 grid"
    assert axes[1, 1].get_title() == "new patch (0, 12), 14×14 grid"  # (2i, 2j) when doubled
    assert axes[1, 0].get_xlabel() == "patch column" and axes[1, 0].get_ylabel() == "patch row"
    # the tiles are position_similarity's, on one colour scale from -1 to 1
    torch.testing.assert_close(torch.as_tensor(axes[0, 0].images[0].get_array().data),
                               position_similarity(old, 7)[3, 3])
    torch.testing.assert_close(torch.as_tensor(axes[1, 0].images[0].get_array().data),
                               position_similarity(new, 14)[6, 6])
    assert {ax.images[0].get_clim() for ax in axes.flat} == {(-1.0, 1.0)}
    assert fig.axes[-1].get_ylabel() == "cosine similarity"
    # the old patch's place: one old cell above, the 2×2 new cells that cover it below
    frames = [[p for p in ax.patches if isinstance(p, Rectangle) and p.get_gid() == "old patch"]
              for ax in axes[:, 0]]
    assert [(f[0].get_xy(), f[0].get_width()) for f in frames] == [((2.5, 2.5), 1.0),
                                                                   ((5.5, 5.5), 2.0)]
    # a non-square resize, named grids
    fig, axes = plot_resized_similarity(old, resize_pos_embed(old, (7, 10)), [(6, 6)],
                                        new_grid_size=(7, 10))
    assert axes[1, 0].get_title() == "new patch (6, 8), 7×10 grid"  # ⌊6·10/7⌋ = 8
    with pytest.raises(ValueError, match=r"list of \(row, column\) pairs"):
        plot_resized_similarity(old, new, [(7, 0)])
    with pytest.raises(ValueError, match=r"patches must be a non-empty list"):
        plot_resized_similarity(old, new, [])
    with pytest.raises(ValueError, match=r"must have the same D, got 16 and 8"):
        plot_resized_similarity(old, new[..., :8], [(0, 0)])
    with pytest.raises(ValueError, match="resized has 71 tokens = 1 prefix"):
        plot_resized_similarity(old, resize_pos_embed(old, (7, 10)), [(0, 0)])
    plt.close("all")
