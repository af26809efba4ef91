"""Lesson 01's figures (``vit_tutorial.patches_figures``): what they draw, and their errors."""

import pytest
import torch

from vit_tutorial.patches_figures import (
    plot_patch_grid,
    plot_patch_sequence,
)


def test_figures_draw():
    import matplotlib.pyplot as plt

    image = torch.rand(3, 32, 48)
    ax = plot_patch_grid(image, 16)
    assert ax.get_title() == "32×48 image, 16×16 patches: 2×3 = 6 patches"
    assert len(ax.texts) == 6  # one index per patch
    for text in ax.texts:  # on a dark box, in a font that fits the patch as drawn
        assert text.get_bbox_patch() is not None
        assert 4 <= text.get_fontsize() <= 10
    _, ax = plt.subplots(figsize=(6.5, 7.1))
    plot_patch_grid(torch.rand(3, 224, 224), 16, ax=ax)
    assert ax.texts[-1].get_text() == "195" and ax.texts[-1].get_fontsize() >= 7  # readable
    ax = plot_patch_sequence((image * 255).to(torch.uint8), 16, count=4)
    assert "first 4 of N = 6" in ax.get_title()
    with pytest.raises(ValueError, match="image height 32 is not divisible by patch_size 10"):
        plot_patch_grid(image, 10)
    with pytest.raises(ValueError, match=r"image must have shape \(C, H, W\)"):
        plot_patch_grid(image[None], 16)
    plt.close("all")


def test_plot_patch_vector():
    import matplotlib.pyplot as plt

    from vit_tutorial.patches_figures import plot_patch_vector

    image = (torch.rand(3, 32, 48) * 255).to(torch.uint8)  # uint8 works too
    axes = plot_patch_vector(image, 16, 4)
    assert len(axes) == 3
    ax_vector = axes[2]
    ax_vector.figure.canvas.draw()
    box = ax_vector.get_legend().get_window_extent()  # in pixels on the figure
    (_, bottom), (_, top) = ax_vector.transData.inverted().transform([box.p0, box.p1])
    assert 1.0 < bottom < top <= ax_vector.get_ylim()[1]  # above every pixel value, inside
    with pytest.raises(ValueError,
                       match=r"index must be in 0 … 5 \(the image has 2×3 = 6 patches\), got 6"):
        plot_patch_vector(image, 16, 6)
    with pytest.raises(TypeError, match=r"index must be an int, got 1\.0"):
        plot_patch_vector(image, 16, 1.0)
    plt.close("all")
