r"""Lesson 10's figures: resized filters, accuracy across image sizes, token-norm histograms
(the ideas themselves are :mod:`vit_tutorial.after_the_paper`)."""

from __future__ import annotations

import torch

from vit_tutorial.checks import check_tensor
from vit_tutorial.figures import MARKERS, OKABE_ITO

__all__ = ["plot_filters", "plot_accuracy_by_size", "plot_norm_histograms"]


def plot_filters(filters, titles):
    r"""Draw patch-embedding filters (one channel each) side by side on one diverging colour
    scale centred on 0 (weights have both signs), with one colour bar: equal colours are equal
    weights in every panel, so a filter with smaller weights looks paler.

    Args:
        filters: 2-D tensors ``(P_h, P_w)``, e.g. ``weight[d, 0]`` of a ``Conv2d`` weight
            ``(D, C, P, P)``; sizes may differ (a 4×4 filter and its 8×8 resizes).
        titles: one title per filter.

    Returns:
        ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt

    filters, titles = list(filters), list(titles)
    if not filters or len(titles) != len(filters):
        raise ValueError(f"pass one title per filter, got {len(filters)} filters and "
                         f"{len(titles)} titles (at least one filter)")
    for i, f in enumerate(filters):
        check_tensor(f, f"filters[{i}]")
        if f.ndim != 2:
            raise ValueError(f"filters[{i}] must be one filter (P_h, P_w), got shape "
                             f"{tuple(f.shape)}; pick one with weight[d, c]")
    fig, axes = plt.subplots(1, len(filters), layout="constrained",
                             figsize=(2.9 * len(filters), 2.9), squeeze=False)
    values = [f.detach().cpu().float() for f in filters]
    limit = max(max(float(v.abs().max()) for v in values), 1e-12)  # one scale for all
    for ax, v, title in zip(axes[0], values, titles):
        im = ax.imshow(v.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax.set_title(f"{title}\n{v.shape[0]}×{v.shape[1]}", fontsize=9)
        ax.set_xlabel("column (pixel)")
        ax.set_ylabel("row (pixel)")
    fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label="filter weight")
    return fig, axes[0]


def plot_accuracy_by_size(accuracy: dict, labels: dict | None = None, *,
                          trained_at: int | None = None, chance: float | None = None, ax=None):
    """Test accuracy against image size, one curve per model kind: the mean over seeds, and
    a bar from the lowest to the highest seed.

    Args:
        accuracy: ``{kind: {size: {"mean", "min", "max"}}}`` as stored by
            ``python -m vit_tutorial.experiments rope`` (sizes may be strings).
        labels: ``{kind: legend label}``; default: the kinds.
        trained_at: an image size to mark with a vertical line (the training size).
        chance: an accuracy (a fraction, e.g. 0.1 for ten classes) to mark as chance level.
        ax: draw into this Axes; default: a new figure.

    Returns:
        ``(fig, ax)``.
    """
    import matplotlib.pyplot as plt

    if not isinstance(accuracy, dict) or not accuracy:
        raise ValueError("accuracy must be a non-empty dict {kind: {size: {'mean', 'min', "
                         "'max'}}}, e.g. load_results('rope')['test_accuracy']")
    labels = labels or {}
    fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained") if ax is None \
        else (ax.figure, ax)
    kinds = list(accuracy)
    width = 0.6  # pixels between the curves at one size, so the range bars don't overlap
    for i, kind in enumerate(kinds):
        rows = sorted(accuracy[kind].items(), key=lambda item: int(item[0]))
        sizes = [int(size) for size, _ in rows]
        mean = [100 * r["mean"] for _, r in rows]
        low = [100 * (r["mean"] - r["min"]) for _, r in rows]
        high = [100 * (r["max"] - r["mean"]) for _, r in rows]
        shift = (i - (len(kinds) - 1) / 2) * width
        ax.errorbar([s + shift for s in sizes], mean, yerr=[low, high], capsize=3,
                    color=OKABE_ITO[i % len(OKABE_ITO)], marker=MARKERS[i % len(MARKERS)],
                    label=labels.get(kind, kind))
    if trained_at is not None:
        ax.axvline(trained_at, color="0.5", linestyle=":", linewidth=1)
        ax.text(trained_at, 0.02, " trained here", transform=ax.get_xaxis_transform(),
                color="0.35", fontsize=8)
    if chance is not None:
        ax.axhline(100 * chance, color="0.5", linestyle="--", linewidth=1)
        ax.text(0.01, 100 * chance, "chance", transform=ax.get_yaxis_transform(),
                color="0.35", fontsize=8, va="bottom")
    all_sizes = sorted({int(s) for kind in kinds for s in accuracy[kind]})
    ax.set_xticks(all_sizes)
    ax.set_xlabel("test image size (pixels, H = W); patch size 4")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig, ax


def plot_norm_histograms(bins, histograms: dict, *, threshold: float | None = None, ax=None):
    """Histograms of patch-token norms relative to each image's median (Darcet et al.'s
    outlier check), one outline per model, on a log count axis so rare outliers show.

    Args:
        bins: the ``n + 1`` bin edges (norm / median).
        histograms: ``{label: n counts}``.
        threshold: draw a vertical line at this ratio (the outlier cut-off).
        ax: draw into this Axes; default: a new figure.

    Returns:
        ``(fig, ax)``.
    """
    import matplotlib.pyplot as plt

    edges = torch.as_tensor(bins, dtype=torch.float64)
    if edges.ndim != 1 or len(edges) < 2 or not isinstance(histograms, dict) or not histograms:
        raise ValueError("pass bin edges (n + 1 numbers) and a non-empty dict {label: n counts}")
    fig, ax = plt.subplots(figsize=(6.4, 3.6), layout="constrained") if ax is None \
        else (ax.figure, ax)
    for i, (label, counts) in enumerate(histograms.items()):
        counts = torch.as_tensor(counts, dtype=torch.float64)
        if counts.shape != (len(edges) - 1,):
            raise ValueError(f"histogram {label!r} has {counts.numel()} counts for "
                             f"{len(edges) - 1} bins")
        ax.stairs(counts.numpy(), edges.numpy(), color=OKABE_ITO[i % len(OKABE_ITO)],
                  linewidth=1.8, label=label)
    if threshold is not None:
        ax.axvline(threshold, color="0.3", linestyle="--", linewidth=1)
        ax.text(threshold, 0.95, f" outlier cut-off: {threshold:g} × median",
                transform=ax.get_xaxis_transform(), fontsize=8, va="top")
    ax.set_yscale("log")
    ax.set_xlim(float(edges[0]), float(edges[-1]))
    ax.set_xlabel("patch-token norm / the image's median patch-token norm")
    ax.set_ylabel("number of patch tokens (log)")
    ax.legend(fontsize=8)
    return fig, ax
