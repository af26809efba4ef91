"""Lesson 04's figures (``vit_tutorial.positional_embedding_figures``): what they draw, and their
errors."""


import pytest
import torch

from vit_tutorial.positional_embedding import PositionalEmbedding


def test_plot_shuffled_patches_and_channels():
    import matplotlib.pyplot as plt

    from vit_tutorial.positional_embedding_figures import (
        plot_pos_embed_channels,
        plot_shuffled_patches,
    )

    image = torch.rand(1, 28, 28)
    permutation = torch.randperm(49, generator=torch.Generator().manual_seed(0))
    fig, axes = plot_shuffled_patches(image, 4, permutation)
    assert len(axes) == 2
    with pytest.raises(ValueError, match=r"image must have shape \(C, H, W\)"):
        plot_shuffled_patches(image[None], 4, torch.arange(49))
    table = PositionalEmbedding(49, 16).pos_embed.detach()
    fig, axes = plot_pos_embed_channels(table, 7, [0, 3], num_prefix_tokens=1)
    assert len(axes) >= 2
    with pytest.raises(ValueError, match=r"a 6x6 grid with 1 prefix token\(s\) needs 37"):
        plot_pos_embed_channels(table, 6, [0], num_prefix_tokens=1)
    with pytest.raises(ValueError, match=r"channels \[16\] are out of range for D = 16"):
        plot_pos_embed_channels(table, 7, [16], num_prefix_tokens=1)
    with pytest.raises(ValueError, match=r"got 1 titles for 2 channels"):
        plot_pos_embed_channels(table, 7, [0, 1], num_prefix_tokens=1, titles=["a"])
    plt.close("all")
