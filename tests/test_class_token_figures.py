"""Lesson 03's figure (``vit_tutorial.class_token_figures``): what it draws, and its errors."""

import pytest
import torch

from vit_tutorial.class_token import ClassToken


def test_plot_token_sequence():
    import matplotlib.pyplot as plt

    from vit_tutorial.class_token_figures import plot_token_sequence

    tokens = ClassToken(8, init="randn")(torch.randn(2, 5, 8))  # (2, 6, 8)
    fig, axes = plot_token_sequence(tokens, num_tokens=4, num_channels=6, titles=["a", "b"])
    assert len(axes) == 2 and axes[1].get_title() == "b"
    # the class token and the patch rows each have their own colour scale, and say so
    colour_bars = [ax.get_ylabel() for ax in fig.axes[2:]]
    assert colour_bars == ["x_p E value (rows 1–3)", "x_class value (row 0)"]
    cls_image, patch_image = axes[0].images
    assert cls_image.get_clim() == pytest.approx((tokens[:, 0, :6].min().item(),
                                                 tokens[:, 0, :6].max().item()))
    assert patch_image.get_clim() == pytest.approx((tokens[:, 1:4, :6].min().item(),
                                                   tokens[:, 1:4, :6].max().item()))
    zeros = ClassToken(8)(torch.randn(2, 5, 8))  # a zero token: a flat row, still a scale
    fig, axes = plot_token_sequence(zeros, num_tokens=3, num_channels=8)
    assert axes[0].images[0].get_clim() == (-0.5, 0.5)
    with pytest.raises(ValueError, match=r"num_tokens must be at least 2"):
        plot_token_sequence(tokens, num_tokens=1)
    with pytest.raises(ValueError, match=r"num_tokens 7 is more than the sequence's 6 tokens"):
        plot_token_sequence(tokens, num_tokens=7)
    with pytest.raises(ValueError, match=r"num_channels 9 is more than D = 8"):
        plot_token_sequence(tokens, num_channels=9)
    with pytest.raises(ValueError, match=r"got 1 titles for 2 images"):
        plot_token_sequence(tokens, num_tokens=4, num_channels=6, titles=["a"])
    with pytest.raises(ValueError, match=r"\(B, N \+ 1, D\) or \(N \+ 1, D\), got 1 dimensions"):
        plot_token_sequence(torch.zeros(8))
    plt.close("all")
