r"""Lesson 01's figures: an image with its grid of patches, the patches in reading
order, and one patch and its vector (the cutting itself is :mod:`vit_tutorial.patches`)."""

from __future__ import annotations

import torch

from vit_tutorial.checks import check_divisible, check_positive_int, check_tensor, to_pair
from vit_tutorial.figures import draw_patch_grid, label_patch, to_hwc
from vit_tutorial.patches import image_to_patches

__all__ = ["plot_patch_grid", "plot_patch_sequence", "plot_patch_vector"]

# --- figures for lesson 01 -------------------------------------------------------------


def plot_patch_grid(image: torch.Tensor, patch_size: int | tuple[int, int], ax=None,
                    number: bool = True):
    """Draw an image with its grid of patches and (optionally) each patch's index.

    The indices are written on dark boxes (:func:`~vit_tutorial.figures.label_patch`), in a
    font sized to the patches as they appear on the page, so they read on any photo.

    Args:
        image: ``(C, H, W)``, floats in [0, 1] or uint8.
        patch_size: $P$, or ``(P_h, P_w)``; must divide the image size.
        ax: a matplotlib ``Axes`` to draw into; a new figure is made if ``None``.
        number: write each patch's position in the sequence (0 … N-1) in its corner.

    Returns:
        The ``Axes``.
    """
    import matplotlib.pyplot as plt

    picture = to_hwc(image)
    H, W = image.shape[-2:]
    ph, pw = to_pair(patch_size, "patch_size")
    gh, gw = check_divisible((H, W), (ph, pw))
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 6.5 * H / W + 0.6))
    ax.imshow(picture, cmap="gray" if picture.ndim == 2 else None)
    draw_patch_grid(ax, (gh, gw), (ph, pw))
    if number:
        fontsize = _label_fontsize(ax, (H, W), (ph, pw), len(str(gh * gw - 1)))
        for r in range(gh):
            for c in range(gw):
                label_patch(ax, c * pw + 0.5, r * ph + 0.5, str(r * gw + c), fontsize)
    ax.set_title(f"{H}×{W} image, {ph}×{pw} patches: {gh}×{gw} = {gh * gw} patches")
    ax.set_xlabel("width (pixels)")
    ax.set_ylabel("height (pixels)")
    return ax


def _label_fontsize(ax, image_size: tuple[int, int], patch: tuple[int, int],
                    digits: int) -> float:
    """The largest font (4 to 10 pt) whose ``digits``-digit label, on its box, fits inside one
    patch as the patch is drawn in ``ax`` (an image of ``image_size`` pixels)."""
    H, W = image_size
    ph, pw = patch
    ax.apply_aspect()  # the axes' final box, now that imshow fixed the aspect ratio
    box = ax.get_position()
    width_in, height_in = ax.figure.get_size_inches()
    cell_w = box.width * width_in * 72 * pw / W  # one patch, in points on the page
    cell_h = box.height * height_in * 72 * ph / H
    by_width = 0.8 * cell_w / (0.62 * digits + 0.3)  # a digit is about 0.6 em wide
    by_height = 0.6 * cell_h  # a line, and its box, are about 1.4 em high
    return max(4.0, min(10.0, by_width, by_height))


def plot_patch_sequence(image: torch.Tensor, patch_size: int | tuple[int, int],
                        count: int | None = None, ax=None):
    """Lay an image's patches out in a row, in the order the Transformer reads them.

    Args:
        image: ``(C, H, W)``, floats in [0, 1] or uint8.
        patch_size: $P$, or ``(P_h, P_w)``.
        count: show only the first ``count`` patches (default: all of them).
        ax: a matplotlib ``Axes``; a new, wide figure is made if ``None``.

    Returns:
        The ``Axes``.
    """
    import matplotlib.pyplot as plt
    from torchvision.utils import make_grid

    check_tensor(image, "image")
    ph, pw = to_pair(patch_size, "patch_size")
    patches = image_to_patches(image, (ph, pw))  # (N, C·P·P)
    n_total = patches.shape[0]
    count = n_total if count is None else min(check_positive_int(count, "count"), n_total)
    C = image.shape[0]
    tiles = patches[:count].reshape(count, C, ph, pw)  # (n, C·P·P) -> (n, C, P, P)
    if not tiles.is_floating_point():
        tiles = tiles.float() / 255
    strip = make_grid(tiles, nrow=count, padding=2, pad_value=1.0)  # (C, P+4, n·(P+2)+2)
    if ax is None:
        _, ax = plt.subplots(figsize=(min(16, 0.35 * count + 1), 1.4))
    ax.imshow(to_hwc(strip))
    step = pw + 2
    ticks = list(range(0, count, max(1, count // 14)))
    ax.set_xticks([2 + i * step + pw / 2 for i in ticks], [str(i) for i in ticks])
    ax.set_yticks([])
    ax.set_xlabel("position in the sequence")
    ax.set_title(f"the first {count} of N = {n_total} patches, in reading order")
    return ax


def plot_patch_vector(image: torch.Tensor, patch_size: int | tuple[int, int], index: int,
                      axes=None):
    r"""Show one patch three ways: where it sits, what it looks like, and its vector $x_p^n$.

    Left: the image with patch ``index`` outlined. Middle: the patch, enlarged. Right: its
    $C \cdot P \cdot P$ values in the order :func:`image_to_patches` stores them — (C, P, P):
    every pixel of channel 0 row by row, then channel 1, then channel 2 — with each
    channel's stretch shaded.

    Args:
        image: ``(C, H, W)``, floats in [0, 1] or uint8.
        patch_size: $P$, or ``(P_h, P_w)``; must divide the image size.
        index: the patch's position $n$ in the sequence, ``0 <= index < N`` (row-major).
        axes: three matplotlib ``Axes`` to draw into; a new, wide figure is made if ``None``.

    Returns:
        The three ``Axes``.
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    picture = to_hwc(image)
    C, H, W = image.shape
    ph, pw = to_pair(patch_size, "patch_size")
    gh, gw = check_divisible((H, W), (ph, pw))
    n_total = gh * gw
    if isinstance(index, bool) or not isinstance(index, int):
        raise TypeError(f"index must be an int, got {index!r} of type {type(index).__name__}; "
                        f"pass a patch number from 0 to {n_total - 1}")
    if not 0 <= index < n_total:
        raise ValueError(f"index must be in 0 … {n_total - 1} (the image has {gh}×{gw} = "
                         f"{n_total} patches), got {index}")
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(13, 3.8),
                               gridspec_kw={"width_ratios": [1, 1, 2.6]})
    ax_image, ax_patch, ax_vector = axes
    cmap = "gray" if picture.ndim == 2 else None
    row, col = divmod(index, gw)
    top, left = row * ph, col * pw

    ax_image.imshow(picture, cmap=cmap)
    ax_image.add_patch(Rectangle((left - 0.5, top - 0.5), pw, ph, fill=False,
                                 edgecolor="yellow", linewidth=2))
    ax_image.set_title(f"patch {index}: grid row {row}, column {col}")
    ax_image.set_xlabel("width (pixels)")
    ax_image.set_ylabel("height (pixels)")

    ax_patch.imshow(picture[top:top + ph, left:left + pw], cmap=cmap)  # (P, P, C) crop
    ax_patch.set_title(f"the patch, {ph}×{pw} pixels")
    ax_patch.set_xlabel("column in the patch")
    ax_patch.set_ylabel("row in the patch")

    vector = image_to_patches(image, (ph, pw))[index]  # (N, C·P·P) -> (C·P·P,)
    if not vector.is_floating_point():
        vector = vector.float() / 255
    vector = vector.detach().cpu()
    length = ph * pw
    names = ("red", "green", "blue") if C == 3 else tuple(f"channel {c}" for c in range(C))
    colours = ("tab:red", "tab:green", "tab:blue") if C == 3 else ("tab:gray",) * C
    for c in range(C):
        ax_vector.axvspan(c * length - 0.5, (c + 1) * length - 0.5, color=colours[c], alpha=0.1)
        ax_vector.plot(range(c * length, (c + 1) * length), vector[c * length:(c + 1) * length],
                       color=colours[c], linewidth=0.8, label=f"{names[c]}: {length} values")
    ax_vector.set_xlim(-0.5, C * length - 0.5)
    ax_vector.set_ylim(-0.02, 1.22)  # room above the values (at most 1) for the legend
    ax_vector.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
    ax_vector.set_title(f"its patch vector: {C}·{ph}·{pw} = {C * length} values "
                        f"in (C, P, P) order")
    ax_vector.set_xlabel("position in the patch vector")
    ax_vector.set_ylabel("pixel value")
    ax_vector.legend(loc="upper center", fontsize=8, ncol=C, frameon=False,
                     borderaxespad=0.2, handlelength=1.2, columnspacing=1.0)
    return axes
