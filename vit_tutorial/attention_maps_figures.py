r"""Lesson 09's figures: mean attention distance per head and layer (Figure 7, right)
and attention rollout over the images (Figure 6); the measures themselves are
:mod:`vit_tutorial.attention_maps`."""

from __future__ import annotations

import torch

from vit_tutorial.checks import check_tensor

__all__ = ["HEAD_MARKERS", "plot_attention_distance", "plot_rollout"]

#: The marker of each head in :func:`plot_attention_distance` (repeated past eight heads).
HEAD_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def plot_attention_distance(distances: torch.Tensor, uniform: float | None = None, *,
                            ax=None, title: str | None = None, spread: float = 0.3):
    r"""Draw Figure 7 (right): each head's mean attention distance against network depth.

    One dot per head and layer, as in the paper: the x-axis is the layer (counted from 0, as
    the code counts), the y-axis the distance in pixels from :func:`mean_attention_distance`.
    The heads of a layer are spread a little sideways so that equal values stay visible;
    each head keeps its colour (sampled from viridis) and its marker shape in every layer, so
    heads whose colours are close still differ.

    Args:
        distances: ``(L, h)`` distances in pixels, one row per layer.
        uniform: if given, a dashed horizontal line at this distance, labelled as the value
            of a head that attends to every patch equally (:func:`uniform_attention_distance`).
        ax: a matplotlib ``Axes`` to draw into; a new figure is made if ``None``.
        title: the axes' title; ``None`` for none.
        spread: the total sideways width, in layers, over which a layer's heads are spread
            (0 puts them on one vertical line); in [0, 1).

    Returns:
        ``(fig, ax)``.

    Shapes:
        ``(L, h)`` -> ``L`` columns of ``h`` dots
    """
    import matplotlib.pyplot as plt

    values = _check_distances(distances, uniform, spread)  # (L, h)
    L, h = values.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 3.6), layout="constrained")
    colours = plt.get_cmap("viridis")(torch.linspace(0, 0.9, h).tolist())  # one per head
    offsets = torch.linspace(-spread / 2, spread / 2, h) if h > 1 else torch.zeros(1)
    layers = torch.arange(L, dtype=torch.float64)
    for head in range(h):
        ax.scatter((layers + offsets[head]).tolist(), values[:, head].tolist(), s=34,
                   color=colours[head], marker=HEAD_MARKERS[head % len(HEAD_MARKERS)],
                   edgecolor="black", linewidth=0.4, zorder=3,
                   label=f"head {head}" if h <= 8 else None)  # a legend of 8 at most
    if uniform is not None:
        ax.axhline(float(uniform), color="0.35", linestyle="--", linewidth=1.2, zorder=2,
                   label=f"uniform attention ({float(uniform):.1f} px)")
    top = max(values.max().item(), float(uniform) if uniform is not None else 0.0)
    ax.set_ylim(0, 1.25 * top if top > 0 else 1.0)
    ax.set_xlim(-0.5, L - 0.5)
    ax.set_xticks(range(L))
    ax.set_xlabel("network depth (layer, from 0)")
    ax.set_ylabel("mean attention distance (pixels)")
    if title:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    if h <= 8 or uniform is not None:
        ax.legend(fontsize=8, loc="lower right", ncol=2 if h > 3 else 1, framealpha=0.9)
    return ax.figure, ax


def _check_distances(distances: object, uniform: object, spread: object) -> torch.Tensor:
    import numbers

    check_tensor(distances, "distances")
    if distances.ndim != 2 or distances.numel() == 0:
        raise ValueError(f"distances must have shape (L, h), one row per layer and one column "
                         f"per head, got {tuple(distances.shape)}; compute it with "
                         f"mean_attention_distance(maps, grid_size, patch_size)")
    if uniform is not None and (isinstance(uniform, bool)
                                or not isinstance(uniform, numbers.Real)):
        raise TypeError(f"uniform must be a number of pixels (e.g. "
                        f"uniform_attention_distance(grid_size, patch_size)) or None, got "
                        f"{type(uniform).__name__}")
    if (isinstance(spread, bool) or not isinstance(spread, numbers.Real)
            or not 0 <= spread < 1):
        raise ValueError(f"spread must be a number in [0, 1) (a fraction of the gap between "
                         f"layers), got {spread!r}; the default is 0.3")
    return distances.detach().cpu().double()


def plot_rollout(images: torch.Tensor, maps: torch.Tensor, *, labels=None, axes=None):
    """Figure 6 for a few images: the image, its rollout map, and the map over the image.

    Args:
        images: ``(B, C, H, W)`` in [0, 1].
        maps: ``(B, H/P, W/P)`` from :func:`rollout_map`.
        labels: optional ``B`` strings for the rows' titles.
        axes: a ``(B, 3)`` array of ``Axes``; a new figure if ``None``.

    Returns:
        ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt
    import torch.nn.functional as F

    check_tensor(images, "images")
    check_tensor(maps, "maps")
    B = images.shape[0]
    if axes is None:
        _, axes = plt.subplots(B, 3, figsize=(6.6, 2.2 * B), squeeze=False,
                               layout="constrained")
    H, W = images.shape[-2:]
    big = F.interpolate(maps[:, None].float(), size=(H, W), mode="nearest")[:, 0]  # (B, H, W)
    for b in range(B):
        image = images[b].detach().cpu().float().mean(0).numpy()  # (C, H, W) -> (H, W)
        weights = big[b].detach().cpu().numpy()
        row = axes[b]
        row[0].imshow(image, cmap="gray", vmin=0, vmax=1)
        shown = row[1].imshow(weights, cmap="viridis", vmin=0)
        row[2].imshow(image, cmap="gray", vmin=0, vmax=1)
        row[2].imshow(weights, cmap="viridis", alpha=0.6, vmin=0)
        titles = (labels[b] if labels is not None else "input", "rollout", "rollout over input")
        for ax, title in zip(row, titles):
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        row[1].figure.colorbar(shown, ax=row[1], shrink=0.8, label="share of the class token")
    return axes[0][0].figure, axes
