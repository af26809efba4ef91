r"""Lesson 11's figures: images on their own grids under a token budget, the masks of a padded
and a packed batch, and accuracy by canvas shape (``notebooks/11_native_resolution.ipynb``;
the ideas themselves are in :mod:`vit_tutorial.native_resolution`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vit_tutorial.checks import check_positive_int, check_tensor, to_pair
from vit_tutorial.figures import OKABE_ITO, draw_patch_grid, to_hwc
from vit_tutorial.native_resolution import fit_to_budget

__all__ = ["plot_budget_grids", "plot_masks", "plot_accuracy_by_shape"]

#: One colour per model, from Okabe & Ito's palette (no sky blue or yellow: pale on white).
COLOURS = tuple(OKABE_ITO[i] for i in (0, 1, 2, 3, 5))


def plot_budget_grids(images, titles, patch_size: int, max_tokens: int):
    r"""Each image twice: resized to one square of ``max_tokens`` patches (the paper's way,
    top) and to its own grid under the same budget, its aspect ratio kept (NaFlex, bottom),
    with the patch grid drawn over both.

    Args:
        images: ``(C, H, W)`` images in [0, 1] of any shapes.
        titles: one title per image.
        patch_size: $P$.
        max_tokens: the token budget; the square is the largest one within it.

    Returns:
        ``(fig, axes)``, ``axes`` of shape ``(2, len(images))``.
    """
    import matplotlib.pyplot as plt

    images, titles = list(images), list(titles)
    if not images or len(titles) != len(images):
        raise ValueError(f"pass one title per image, got {len(images)} images and "
                         f"{len(titles)} titles (at least one image)")
    P = check_positive_int(patch_size, "patch_size")
    side = int(check_positive_int(max_tokens, "max_tokens") ** 0.5)  # the square grid
    resized = []
    for i, image in enumerate(images):
        check_tensor(image, f"images[{i}]")
        if image.ndim != 3:
            raise ValueError(f"images[{i}] must be one image (C, H, W), got "
                             f"{tuple(image.shape)}")
        size = fit_to_budget(tuple(image.shape[-2:]), P, max_tokens)
        resized.append([F.interpolate(image[None].float(), size=s, mode="bicubic",
                                      antialias=True)[0] for s in ((side * P,) * 2, size)])
    widths = [max(1.0, r[1].shape[-1] / r[1].shape[-2]) for r in resized]  # W'/H', at least 1
    fig, axes = plt.subplots(2, len(images), squeeze=False, layout="constrained",
                             figsize=(1.6 * sum(widths) + 0.6, 4.6),
                             gridspec_kw={"width_ratios": widths})
    for col, (pair, title, image) in enumerate(zip(resized, titles, images)):
        heads = (f"{title}, {image.shape[-2]}×{image.shape[-1]}\nsquashed",
                 "aspect kept (NaFlex)\n")
        for row, (picture, head) in enumerate(zip(pair, heads)):
            ax = axes[row, col]
            gh, gw = picture.shape[-2] // P, picture.shape[-1] // P
            ax.imshow(to_hwc(picture), cmap="gray" if picture.shape[0] == 1 else None)
            draw_patch_grid(ax, (gh, gw), (P, P), linewidth=0.4)
            ax.set_title(f"{head}{'' if row else ': '}{gh}×{gw} = {gh * gw} tokens",
                         fontsize=7.5)
            ax.set_xticks([])
            ax.set_yticks([])
    return fig, axes


def plot_masks(masks, titles, boundaries=None):
    r"""Attention masks as pictures: query token down, key token across, allowed pairs in
    colour, masked ones white (an additive mask is allowed where it is 0).

    Args:
        masks: 2-D masks ``(T, T)``, boolean (True = allowed) or additive (0 = allowed).
        titles: one title per mask.
        boundaries: for each mask, the token indices where a new image (or the padding)
            starts, drawn as lines; ``None`` draws none.

    Returns:
        ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    masks, titles = list(masks), list(titles)
    boundaries = [()] * len(masks) if boundaries is None else list(boundaries)
    if not masks or not len(titles) == len(masks) == len(boundaries):
        raise ValueError(f"pass one title (and one list of boundaries) per mask, got "
                         f"{len(masks)} masks, {len(titles)} titles, {len(boundaries)} "
                         f"boundary lists")
    fig, axes = plt.subplots(1, len(masks), squeeze=False, layout="constrained",
                             figsize=(3.4 * len(masks), 3.6))
    for ax, mask, title, lines in zip(axes[0], masks, titles, boundaries):
        check_tensor(mask, "mask")
        if mask.ndim != 2 or mask.shape[0] != mask.shape[1]:
            raise ValueError(f"each mask must be (T, T), got {tuple(mask.shape)}; pick one "
                             f"with mask[b, 0]")
        allowed = mask if mask.dtype == torch.bool else mask == 0
        ax.imshow(allowed.cpu().numpy(), cmap=ListedColormap(["white", COLOURS[0]]),
                  vmin=0, vmax=1, interpolation="nearest")
        for b in lines:
            ax.axhline(b - 0.5, color="#555555", linewidth=0.8)
            ax.axvline(b - 0.5, color="#555555", linewidth=0.8)
        ax.set_title(f"{title}\n{int(allowed.sum())} of {allowed.numel()} pairs attend",
                     fontsize=9)
        ax.set_xlabel("key token")
        ax.set_ylabel("query token")
    return fig, axes[0]


def plot_accuracy_by_shape(accuracy: dict, labels: dict, shapes, *, single: dict | None = None,
                           chance: float | None = None, ax=None):
    """Test accuracy per canvas shape, one series per model: the mean over seeds as a
    marker, a bar from the lowest to the highest seed.

    Args:
        accuracy: ``{model: {"HxW": {"mean", "min", "max"}}}`` as stored by
            ``python -m vit_tutorial.experiments native``.
        labels: ``{model: its label}``, in the order to draw.
        shapes: the canvases ``(H, W)``, in the order of the x axis.
        single: ``{label: {"HxW": accuracy}}`` for models without seeds (drawn hollow).
        chance: draw the chance level as a dotted line.
        ax: an ``Axes``; a new figure if ``None``.

    Returns:
        ``(fig, ax)``.
    """
    import matplotlib.pyplot as plt

    keys = [f"{h}x{w}" for h, w in (to_pair(s, "shape") for s in shapes)]
    missing = [m for m in labels if m not in accuracy or any(k not in accuracy[m] for k in keys)]
    if missing:
        raise ValueError(f"no accuracy for {missing} at every shape {keys}")
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.8), layout="constrained")
    series = len(labels) + len(single or {})
    x = torch.arange(len(keys), dtype=torch.float64)
    for i, (label, values) in enumerate((single or {}).items()):
        shift = (i - (series - 1) / 2) * 0.12
        ax.plot((x + shift).numpy(), [100 * values[k] for k in keys], "o", mfc="none",
                color="#555555", label=label)
    for i, (model, label) in enumerate(labels.items(), start=len(single or {})):
        shift = (i - (series - 1) / 2) * 0.12
        rows = [accuracy[model][k] for k in keys]
        mean = [100 * r["mean"] for r in rows]
        low = [100 * (r["mean"] - r["min"]) for r in rows]
        high = [100 * (r["max"] - r["mean"]) for r in rows]
        ax.errorbar((x + shift).numpy(), mean, yerr=[low, high], fmt="o", capsize=2,
                    color=COLOURS[i % len(COLOURS)], label=label)
    if chance is not None:
        ax.axhline(100 * chance, color="#999999", linestyle=":", linewidth=1, label="chance")
    ax.set_xticks(x.numpy(), [k.replace("x", "×") for k in keys])
    ax.set_xlabel("test canvas H × W (pixels); the digit is as large as the short side")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))  # beside the points
    return ax.figure, ax
