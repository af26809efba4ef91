r"""Lesson 01 — cut an image into a sequence of flattened patches (Sec. 3.1).

The paper reshapes an image $x \in \mathbb{R}^{H \times W \times C}$ into
$N = HW/P^2$ flattened patches $x_p \in \mathbb{R}^{N \times (P^2 \cdot C)}$.

PyTorch stores images channels-first, so this module works on $(B, C, H, W)$ tensors.
Inside each patch vector the $P^2 \cdot C$ values are ordered **(C, P, P)**: all of
channel 0 row by row, then channel 1, then channel 2. That is the order in which a
``Conv2d(C, D, kernel_size=P, stride=P)`` stores its weight, so
``conv.weight.reshape(D, -1)`` lines up value for value with these patch vectors
(lesson 02 relies on it). Patches are numbered row-major over the grid: left to right,
then top to bottom — the same order as ``conv(x).flatten(2)``.
"""

from __future__ import annotations

import math

import torch

from vit_tutorial._checks import check_divisible, check_positive_int, check_tensor, to_pair
from vit_tutorial.figures import draw_patch_grid, label_patch, to_hwc

__all__ = ["num_patches", "image_to_patches", "patches_to_image", "plot_patch_grid",
           "plot_patch_sequence", "plot_patch_vector"]


def num_patches(image_size: int | tuple[int, int], patch_size: int | tuple[int, int]) -> int:
    r"""Number of patches $N = HW / P^2$ (Sec. 3.1).

    Args:
        image_size: $H$ = $W$ as an int, or an ``(H, W)`` pair.
        patch_size: $P$ as an int, or a ``(P_h, P_w)`` pair for non-square patches.

    Returns:
        $N = (H / P_h) \cdot (W / P_w)$.

    Raises:
        ValueError: if a side of the image is not a multiple of the patch side.

    Example:
        >>> num_patches(224, 16)
        196
    """
    grid_h, grid_w = check_divisible(to_pair(image_size, "image_size"),
                                     to_pair(patch_size, "patch_size"))
    return grid_h * grid_w


def image_to_patches(images: torch.Tensor, patch_size: int | tuple[int, int]) -> torch.Tensor:
    r"""Reshape images into sequences of flattened patches, $x \mapsto x_p$ (Sec. 3.1).

    Args:
        images: a batch ``(B, C, H, W)`` or a single image ``(C, H, W)``, any dtype.
        patch_size: $P$, or ``(P_h, P_w)``; must divide $H$ and $W$.

    Returns:
        The patches $x_p$, each flattened in **(C, P, P)** order and numbered row-major.

    Shapes:
        - images: ``(B, C, H, W)`` -> ``(B, N, C·P·P)``
        - images: ``(C, H, W)`` -> ``(N, C·P·P)``

    Note:
        The paper writes a patch vector as $P^2 \cdot C$ values without fixing their order.
        We use (C, P, P) so that ``Conv2d.weight.reshape(D, -1)`` lines up with it.

    Example:
        >>> image_to_patches(torch.zeros(3, 224, 224), 16).shape
        torch.Size([196, 768])
    """
    check_tensor(images, "images")
    if images.ndim not in (3, 4):
        raise ValueError(
            f"images must have shape (B, C, H, W) or (C, H, W), got {images.ndim} dimensions "
            f"{tuple(images.shape)}; for a grayscale (H, W) image use images.unsqueeze(0)"
        )
    single = images.ndim == 3
    x = images.unsqueeze(0) if single else images  # (C, H, W) -> (1, C, H, W)
    B, C, H, W = x.shape
    ph, pw = to_pair(patch_size, "patch_size")
    if W in (1, 3, 4) and C > 4 and (H % ph or W % pw):
        raise ValueError(f"images {tuple(images.shape)} look channels-last, (H, W, C): this "
                         f"function expects channels first, (C, H, W); use "
                         f"images.permute(2, 0, 1) (or .permute(0, 3, 1, 2) for a batch)")
    gh, gw = check_divisible((H, W), (ph, pw))
    x = x.reshape(B, C, gh, ph, gw, pw)  # (B, C, H, W) -> (B, C, H/P, P, W/P, P)
    x = x.permute(0, 2, 4, 1, 3, 5)  # -> (B, H/P, W/P, C, P, P)
    x = x.reshape(B, gh * gw, C * ph * pw)  # -> (B, N, C·P·P)
    return x[0] if single else x  # (1, N, C·P·P) -> (N, C·P·P) for a single image


def patches_to_image(
    patches: torch.Tensor,
    patch_size: int | tuple[int, int],
    image_size: int | tuple[int, int],
    *,
    in_channels: int | None = None,
) -> torch.Tensor:
    r"""Put flattened patches back together into images: the exact inverse of
    :func:`image_to_patches`.

    Args:
        patches: ``(B, N, C·P·P)`` or ``(N, C·P·P)``, patch vectors in (C, P, P) order.
        patch_size: $P$, or ``(P_h, P_w)``.
        image_size: $H$ = $W$, or ``(H, W)``, of the image the patches came from.
        in_channels: $C$. ``None`` reads it from the patch vectors' length $C·P·P$ and
            accepts only 1 to 4 (grayscale to RGBA): a wrong ``patch_size`` would otherwise
            give the same number of values back as an image with other channels. Pass it
            for feature maps with more channels.

    Returns:
        The images.

    Shapes:
        - patches: ``(B, N, C·P·P)`` -> ``(B, C, H, W)``
        - patches: ``(N, C·P·P)`` -> ``(C, H, W)``

    Example:
        >>> x = torch.rand(2, 3, 32, 48)
        >>> torch.equal(patches_to_image(image_to_patches(x, 16), 16, (32, 48)), x)
        True
    """
    check_tensor(patches, "patches")
    if patches.ndim not in (2, 3):
        raise ValueError(
            f"patches must have shape (B, N, C·P·P) or (N, C·P·P), got {patches.ndim} "
            f"dimensions {tuple(patches.shape)}; pass the output of image_to_patches"
        )
    single = patches.ndim == 2
    x = patches.unsqueeze(0) if single else patches  # (N, C·P·P) -> (1, N, C·P·P)
    B, N, K = x.shape
    ph, pw = to_pair(patch_size, "patch_size")
    H, W = to_pair(image_size, "image_size")
    gh, gw = check_divisible((H, W), (ph, pw))
    if N != gh * gw:
        raise ValueError(
            f"expected {gh * gw} patches for a {H}x{W} image with {ph}x{pw} patches "
            f"({gh}x{gw} grid), got {N}; pass the image_size the patches were cut from"
        )
    if K % (ph * pw) != 0:
        raise ValueError(
            f"each patch vector should hold C·{ph}·{pw} values, got {K}, which is not a "
            f"multiple of {ph * pw}; check patch_size"
        )
    C = K // (ph * pw)
    if in_channels is None and C > 4:
        raise ValueError(_channels_hint(K, ph, pw))
    if in_channels is not None and C != check_positive_int(in_channels, "in_channels"):
        raise ValueError(f"each patch vector should hold C·P·P = {in_channels}·{ph}·{pw} = "
                         f"{in_channels * ph * pw} values, got {K}; check patch_size and "
                         f"in_channels")
    x = x.reshape(B, gh, gw, C, ph, pw)  # (B, N, C·P·P) -> (B, H/P, W/P, C, P, P)
    x = x.permute(0, 3, 1, 4, 2, 5)  # -> (B, C, H/P, P, W/P, P)
    x = x.reshape(B, C, H, W)  # -> (B, C, H, W)
    return x[0] if single else x


def _channels_hint(K: int, ph: int, pw: int) -> str:
    """Why patch vectors of ``K`` values don't fit ``(P_h, P_w)`` patches of an image."""
    sides = [f"P = {math.isqrt(K // c)} for C = {c}" for c in (3, 1, 4)
             if c * math.isqrt(K // c) ** 2 == K]
    guess = f" ({', '.join(sides)})" if sides else ""
    return (f"patch vectors of {K} values with {ph}x{pw} patches would give C = "
            f"{K // (ph * pw)} channels, and an image has 1 to 4; is patch_size the one the "
            f"patches were cut with{guess}? For feature maps with more channels pass "
            f"in_channels")


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
