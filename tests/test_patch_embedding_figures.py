"""Lesson 02's figures (``vit_tutorial.patch_embedding_figures``): what they draw, and their
errors."""

import pytest
import torch

from vit_tutorial.patch_embedding import PatchEmbedding
from vit_tutorial.patch_embedding_figures import plot_embedding_channels


def test_plot_embedding_channels():
    import matplotlib.pyplot as plt

    tokens = PatchEmbedding(32, 8, 3, 6)(torch.rand(1, 3, 32, 32))[0]  # (16, 6)
    fig, axes = plot_embedding_channels(tokens, 4, channels=(0, 5))
    assert len(axes) == 2 and axes[1].get_title() == "channel 5"
    with pytest.raises(ValueError, match=r"N = 5·5 = 25, got \(16, 6\)"):
        plot_embedding_channels(tokens, 5)
    with pytest.raises(ValueError, match=r"channel 6 is out of range for D = 6"):
        plot_embedding_channels(tokens, 4, channels=(6,))
    plt.close("all")


def test_plot_rgb_tokens():
    import matplotlib.pyplot as plt

    from vit_tutorial.patch_embedding_figures import plot_rgb_tokens

    tokens = torch.rand(2, 6, 3)  # two sequences of 2x3 patches, D = 3
    fig, axes = plot_rgb_tokens(tokens, (2, 3), titles=["correct", "bug"])
    assert len(axes) == 2 and axes[0].get_title() == "correct"
    with pytest.raises(ValueError,
                       match=r"\(K, N, 3\) or \(N, 3\) with N = 2·3 = 6, got \(2, 6, 4\)"):
        plot_rgb_tokens(torch.rand(2, 6, 4), (2, 3))
    with pytest.raises(ValueError, match=r"got 1 titles for 2 sequences"):
        plot_rgb_tokens(tokens, (2, 3), titles=["x"])
    plt.close("all")


def test_plot_principal_components():
    import matplotlib.pyplot as plt

    from vit_tutorial.patch_embedding import PatchEmbedding, principal_components
    from vit_tutorial.patch_embedding_figures import plot_principal_components

    gray = PatchEmbedding(28, 4, 1, 64)
    components, explained = principal_components(gray, k=10)
    fig, axes = plot_principal_components(components, explained, ncols=4, title="t")
    assert axes.shape == (3, 4) and not axes[2, 3].axison  # 10 images, 2 unused slots
    assert len(fig.axes) == 13  # 12 panels + one colour bar
    assert axes[0, 0].get_title().startswith("PC 0\n")  # counted from 0, like the tensors
    assert fig.axes[-1].get_ylabel() == "component value"  # components, not filters
    plt.close(fig)
    rgb = PatchEmbedding(32, 8, 3, 16)
    fig, axes = plot_principal_components(*principal_components(rgb, k=4))
    assert len(fig.axes) == 4  # RGB: no colour bar
    plt.close(fig)
    with pytest.raises(ValueError, match=r"components must have shape \(k, C, P, P\)"):
        plot_principal_components(torch.rand(4, 16), torch.rand(4))
    with pytest.raises(ValueError, match=r"explained must have shape \(10,\)"):
        plot_principal_components(components, explained[:3])
    with pytest.raises(TypeError, match="ncols must be a positive int"):
        plot_principal_components(components, explained, ncols=2.5)
