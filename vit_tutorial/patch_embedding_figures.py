r"""Lesson 02's figures: embedding channels and 3-channel tokens over the patch grid,
and the principal components of $E$ (Figure 7, left); the projection itself is
:mod:`vit_tutorial.patch_embedding`."""

from __future__ import annotations

import torch

from vit_tutorial.checks import check_positive_int, check_tensor, to_pair

__all__ = ["plot_embedding_channels", "plot_rgb_tokens", "plot_principal_components"]

def plot_embedding_channels(tokens: torch.Tensor, grid_size: int | tuple[int, int],
                            channels=(0, 1, 2, 3), axes=None):
    """Show a few embedding channels of one image's tokens as maps over the patch grid.

    Args:
        tokens: ``(N, D)`` patch embeddings of one image (no class token).
        grid_size: ``(H/P, W/P)``, the patch grid the tokens came from.
        channels: which of the $D$ channels to draw.
        axes: matplotlib ``Axes``, one per channel; a new figure is made if ``None``.

    Returns:
        ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt

    check_tensor(tokens, "tokens")
    gh, gw = to_pair(grid_size, "grid_size")
    if tokens.ndim != 2 or tokens.shape[0] != gh * gw:
        raise ValueError(
            f"tokens must have shape (N, D) with N = {gh}·{gw} = {gh * gw}, got "
            f"{tuple(tokens.shape)}; pass one image's tokens, e.g. tokens[0], "
            f"without the class token"
        )
    channels = list(channels)
    D = tokens.shape[1]
    for ch in channels:
        if not 0 <= ch < D:
            raise ValueError(f"channel {ch} is out of range for D = {D}; "
                             f"pick channels in 0..{D - 1}")
    maps = tokens.detach().cpu().T.reshape(D, gh, gw)  # (N, D) -> (D, N) -> (D, H/P, W/P)
    if axes is None:
        fig, axes = plt.subplots(1, len(channels), figsize=(2.6 * len(channels), 2.8),
                                 squeeze=False, layout="constrained")
        axes = axes[0]
    fig = axes[0].figure
    for ax, ch in zip(axes, channels):
        im = ax.imshow(maps[ch].numpy(), cmap="viridis")
        ax.set_title(f"channel {ch}")
        ax.set_xlabel("patch column")
        ax.set_ylabel("patch row")
        fig.colorbar(im, ax=ax, shrink=0.8, label="value")
    return fig, axes


def plot_rgb_tokens(tokens: torch.Tensor, grid_size: int | tuple[int, int], titles=None, axes=None):
    r"""Draw sequences of 3-channel tokens ($D = 3$) as small RGB pictures over the patch grid.

    Token $i$ is put back at grid position ``(i // (W/P), i % (W/P))`` (row-major, the order
    of :func:`~vit_tutorial.patches.image_to_patches`) and its three channels are shown as
    red, green and blue. If each token holds its patch's mean colour, a correctly ordered
    sequence shows a tiny copy of the image; a scrambled one shows that it is scrambled.

    Args:
        tokens: ``(K, N, 3)`` — ``K`` sequences to compare side by side — or ``(N, 3)`` for
            one. Values are shown as colours in [0, 1] (values outside are clipped).
        grid_size: ``(H/P, W/P)``, the patch grid the tokens came from.
        titles: one title per sequence; ``"sequence 0"``, … if ``None``.
        axes: matplotlib ``Axes``, one per sequence; a new figure is made if ``None``.

    Returns:
        ``(fig, axes)``.

    Shapes:
        tokens ``(K, N, 3)`` -> ``K`` panels of ``(H/P, W/P)`` RGB pixels

    Note:
        The panels are RGB pictures, so they have no colour bar: each pixel's colour *is*
        the token's three values.
    """
    import matplotlib.pyplot as plt

    check_tensor(tokens, "tokens")
    gh, gw = to_pair(grid_size, "grid_size")
    x = tokens.detach().cpu().float()
    x = x.unsqueeze(0) if x.ndim == 2 else x  # (N, 3) -> (1, N, 3)
    if x.ndim != 3 or x.shape[1] != gh * gw or x.shape[2] != 3:
        raise ValueError(
            f"tokens must have shape (K, N, 3) or (N, 3) with N = {gh}·{gw} = {gh * gw}, got "
            f"{tuple(tokens.shape)}; pass tokens with D = 3 channels (e.g. from a "
            f"PatchEmbedding(..., embed_dim=3)) and no class token"
        )
    K = x.shape[0]
    titles = [f"sequence {k}" for k in range(K)] if titles is None else list(titles)
    if len(titles) != K:
        raise ValueError(f"got {len(titles)} titles for {K} sequences; pass one title per sequence")
    if axes is None:
        fig, axes = plt.subplots(1, K, figsize=(3.4 * K, 3.6), squeeze=False, layout="constrained")
        axes = list(axes[0])
    else:
        axes = list(axes)
        if len(axes) != K:
            raise ValueError(f"got {len(axes)} axes for {K} sequences; pass one Axes per sequence")
    fig = axes[0].figure
    pictures = x.reshape(K, gh, gw, 3).clamp(0, 1)  # (K, N, 3) -> (K, H/P, W/P, 3), row-major
    for ax, picture, title in zip(axes, pictures, titles):
        ax.imshow(picture.numpy())
        ax.set_title(title)
        ax.set_xlabel("patch column")
        ax.set_ylabel("patch row")
    return fig, axes


def plot_principal_components(components: torch.Tensor, explained: torch.Tensor, *,
                              ncols: int = 8, title: str | None = None, fig=None):
    r"""Draw Figure 7 (left): the principal components of the patch-embedding filters $E$.

    Each component is a ``(C, P, P)`` filter, drawn as a small image with its number (from
    0, as the code counts) and its share of the variance. Grayscale filters (``C = 1``) share
    one colour scale, symmetric about 0 (black negative, mid-grey 0, white positive), shown
    by one colour bar. RGB filters (``C = 3``) are drawn as colour images, each rescaled to
    [0, 1] on its own, as the paper does; they get no colour bar.

    Args:
        components: ``(k, C, P, P)`` from
            :func:`~vit_tutorial.patch_embedding.principal_components`.
        explained: ``(k,)`` fractions of variance, from the same call.
        ncols: images per row.
        title: the figure's title; ``None`` for none.
        fig: an empty matplotlib ``Figure`` to draw into; a new one if ``None``.

    Returns:
        ``(fig, axes)``, ``axes`` a NumPy array of ``Axes`` of shape ``(rows, ncols)``
        (unused ones switched off).

    Shapes:
        ``(k, C, P, P)`` and ``(k,)`` -> ``k`` images of ``P × P`` pixels

    Example:
        >>> components, explained = principal_components(model.patch_embed, k=16)
        >>> fig, axes = plot_principal_components(components, explained)
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    check_tensor(components, "components")
    check_tensor(explained, "explained")
    if components.ndim != 4 or components.shape[1] not in (1, 3):
        raise ValueError(f"components must have shape (k, C, P, P) with C = 1 or 3, got "
                         f"{tuple(components.shape)}; compute them with "
                         f"principal_components(model.patch_embed, k)")
    k, C = components.shape[:2]
    if explained.shape != (k,):
        raise ValueError(f"explained must have shape ({k},), one fraction per component, got "
                         f"{tuple(explained.shape)}; pass both results of the same "
                         f"principal_components call")
    ncols = min(check_positive_int(ncols, "ncols"), k)
    nrows = -(-k // ncols)  # ceil(k / ncols)
    values = components.detach().cpu().float()  # (k, C, P, P)
    shares = explained.detach().cpu().float()
    if fig is None:
        fig = plt.figure(figsize=(1.05 * ncols + (1.0 if C == 1 else 0.3), 1.25 * nrows + 0.6),
                         layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    limit = values.abs().max().item() or 1.0
    norm = Normalize(-limit, limit)  # one symmetric scale for every grayscale component
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= k:
            ax.axis("off")
            continue
        if C == 1:
            ax.imshow(values[index, 0].numpy(), cmap="gray", norm=norm, interpolation="nearest")
        else:
            rgb = values[index].permute(1, 2, 0)  # (C, P, P) -> (P, P, C) for imshow
            rgb = (rgb - rgb.min()) / (rgb.max() - rgb.min()).clamp_min(1e-12)  # each to [0, 1]
            ax.imshow(rgb.numpy(), interpolation="nearest")
        ax.set_title(f"PC {index}\n{100 * shares[index].item():.1f} %", fontsize=8)  # from 0
    if C == 1:
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="gray"), ax=axes, shrink=0.8,
                     label="component value")
    if title:
        fig.suptitle(title)
    return fig, axes
