r"""Lesson 04's figures: an image with its patches shuffled, and channels of
$E_\text{pos}$ as maps over the patch grid (the position embeddings themselves are
:mod:`vit_tutorial.positional_embedding`)."""

from __future__ import annotations

import torch

from vit_tutorial.checks import check_num_prefix_tokens, check_positive_int, check_tensor, to_pair
from vit_tutorial.figures import draw_patch_grid, label_patch, to_hwc
from vit_tutorial.patches import image_to_patches, patches_to_image

__all__ = ["plot_shuffled_patches", "plot_pos_embed_channels"]

# --- figures for lesson 04 -------------------------------------------------------------


def _check_permutation(permutation: object, count: int) -> torch.Tensor:
    """Return ``permutation`` as an int64 tensor if it is a permutation of ``0 … count-1``."""
    if isinstance(permutation, (list, tuple)):
        permutation = torch.tensor(permutation)
    check_tensor(permutation, "permutation")
    if (permutation.ndim != 1 or permutation.is_floating_point() or permutation.is_complex()
            or permutation.dtype == torch.bool or len(permutation) != count
            or not torch.equal(permutation.sort().values.cpu(), torch.arange(count))):
        raise ValueError(
            f"permutation must be a 1-D integer tensor holding each of 0 … {count - 1} once "
            f"(one entry per patch), got shape {tuple(permutation.shape)} and dtype "
            f"{permutation.dtype}; make one with torch.randperm({count})"
        )
    return permutation.cpu().to(torch.int64)


def plot_shuffled_patches(image: torch.Tensor, patch_size: int | tuple[int, int],
                          permutation: torch.Tensor, axes=None):
    r"""Show an image beside the same image with its patches shuffled.

    The right panel puts patch ``permutation[i]`` of the image at place ``i`` of the grid
    (row-major), i.e. it is ``patches_to_image(image_to_patches(image, P)[permutation])``.
    Each patch is labelled with its place in the original image, so the reader can see where
    it came from. Without $E_\text{pos}$ both panels are the same input to the encoder (as a
    set of patch tokens): only the position embeddings tell them apart.

    Args:
        image: ``(C, H, W)``, floats in [0, 1] or uint8 (one channel is drawn in grey).
        patch_size: $P$, or ``(P_h, P_w)``; must divide the image size.
        permutation: ``(N,)`` integer tensor, a permutation of ``0 … N-1``, e.g.
            ``torch.randperm(N)``.
        axes: two matplotlib ``Axes`` to draw into; a new figure is made if ``None``.

    Returns:
        ``(fig, axes)``.

    Shapes:
        image ``(C, H, W)`` and permutation ``(N,)`` -> two panels of ``H × W`` pixels
    """
    import matplotlib.pyplot as plt

    check_tensor(image, "image")
    if image.ndim != 3:
        raise ValueError(f"image must have shape (C, H, W), got {tuple(image.shape)}; pick one "
                         f"image from a batch with images[0]")
    H, W = image.shape[-2:]
    ph, pw = to_pair(patch_size, "patch_size")
    patches = image_to_patches(image, (ph, pw))  # (C, H, W) -> (N, C·P·P), checks divisibility
    gh, gw = H // ph, W // pw
    order = _check_permutation(permutation, gh * gw)
    shuffled = patches_to_image(patches[order], (ph, pw), (H, W))  # (N, C·P·P) -> (C, H, W)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(7.6, 4.2), layout="constrained")
    else:
        axes = list(axes)
        if len(axes) != 2:
            raise ValueError(f"got {len(axes)} axes; pass two, one for each panel")
    fig = axes[0].figure
    fontsize = max(4, min(8, 70 // max(gh, gw)))
    panels = ((image, torch.arange(gh * gw), "original: patch i at place i"),
              (shuffled, order, "shuffled: labelled with original place"))
    for ax, (picture, labels, title) in zip(axes, panels):
        ax.imshow(to_hwc(picture), cmap="gray", vmin=0, vmax=1)
        draw_patch_grid(ax, (gh, gw), (ph, pw), colour="tab:orange", linewidth=0.6)
        for place, label in enumerate(labels.tolist()):
            r, c = divmod(place, gw)
            label_patch(ax, c * pw + 0.3, r * ph + 0.3, str(label), fontsize)
        ax.set_title(title)
        ax.set_xlabel("width (pixels)")
        ax.set_ylabel("height (pixels)")
    return fig, axes


def plot_pos_embed_channels(pos_embed: torch.Tensor, grid_size: int | tuple[int, int],
                            channels, *, num_prefix_tokens: int = 0, titles=None,
                            ncols: int | None = None, fig=None):
    r"""Draw chosen channels of a position-embedding table as images on the patch grid.

    Channel $d$ of the table gives one number per patch; laid out on the
    ``(H/P, W/P)`` grid in row-major order (the order of lesson 01) it becomes a small
    image. All panels share one colour scale, a diverging map centred on 0 (``"RdBu_r"``),
    explained by one colour bar.

    Args:
        pos_embed: the table, ``(N, D)``, ``(N + prefix, D)`` or ``(1, N + prefix, D)``
            (e.g. ``PositionalEmbedding.pos_embed`` or :func:`sincos_2d_pos_embed`).
        grid_size: the patch grid ``(H/P, W/P)``, or one int for a square grid.
        channels: the channel indices $d$ to draw, a list of ints in ``0 … D-1``.
        num_prefix_tokens: leading rows that belong to no patch (1 for the class token's
            row of $E_\text{pos}$); they are dropped.
        titles: one title per channel; ``"channel d"`` if ``None``.
        ncols: panels per row; all in one row if ``None``.
        fig: an empty matplotlib ``Figure`` to draw into; a new one if ``None``.

    Returns:
        ``(fig, axes)``, ``axes`` a flat list with one ``Axes`` per channel.

    Shapes:
        ``(1, N + prefix, D)`` -> ``len(channels)`` panels of ``H/P × W/P``
    """
    import matplotlib.pyplot as plt

    check_tensor(pos_embed, "pos_embed")
    gh, gw = to_pair(grid_size, "grid_size")
    prefix = check_num_prefix_tokens(num_prefix_tokens)
    table = pos_embed.detach().cpu().float()
    if table.ndim == 3 and table.shape[0] == 1:
        table = table[0]  # (1, N + prefix, D) -> (N + prefix, D)
    if table.ndim != 2:
        raise ValueError(f"pos_embed must have shape (N, D), (N + prefix, D) or "
                         f"(1, N + prefix, D), got {tuple(pos_embed.shape)}")
    if table.shape[0] != prefix + gh * gw:
        raise ValueError(
            f"pos_embed has {table.shape[0]} rows, but a {gh}x{gw} grid with "
            f"{prefix} prefix token(s) needs {prefix + gh * gw}; check grid_size and "
            f"num_prefix_tokens (1 for a table with a class-token row)"
        )
    D = table.shape[1]
    channels = list(channels) if isinstance(channels, (list, tuple, range)) else channels
    if (not isinstance(channels, list) or not channels
            or not all(isinstance(d, int) and not isinstance(d, bool) for d in channels)):
        raise TypeError(f"channels must be a non-empty list of ints, got {channels!r}")
    bad = [d for d in channels if not 0 <= d < D]
    if bad:
        raise ValueError(f"channels {bad} are out of range for D = {D}; pick from 0 … {D - 1}")
    titles = [f"channel {d}" for d in channels] if titles is None else list(titles)
    if len(titles) != len(channels):
        raise ValueError(f"got {len(titles)} titles for {len(channels)} channels; pass one "
                         f"title per channel")
    count = len(channels)
    ncols = count if ncols is None else min(check_positive_int(ncols, "ncols"), count)
    nrows = -(-count // ncols)
    grids = table[prefix:, channels].T.reshape(count, gh, gw)  # (N, k) -> (k, N) -> (k, H/P, W/P)
    limit = max(grids.abs().max().item(), 1e-12)  # symmetric scale, centred on 0
    if fig is None:
        fig = plt.figure(figsize=(1.9 * ncols + 1.1, 2.05 * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    flat = list(axes.flat)
    for ax in flat[count:]:
        ax.set_visible(False)
    for ax, grid, title in zip(flat, grids, titles):
        im = ax.imshow(grid.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit,
                       interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(gw))
        ax.set_yticks(range(gh))
        ax.tick_params(labelsize=7)
        ax.set_xlabel("patch column", fontsize=8)
        ax.set_ylabel("patch row", fontsize=8)
    fig.colorbar(im, ax=flat[:count], shrink=0.85, label="value of the channel")
    return fig, flat[:count]
