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

from vit_tutorial.checks import check_divisible, check_positive_int, check_tensor, to_pair
from vit_tutorial.names import moved

__all__ = ["num_patches", "image_to_patches", "patches_to_image"]
# Old homes of the lesson's drawing, now in its figures module: a clear error names it.
__getattr__ = moved(__name__, {name: f"vit_tutorial.patches_figures.{name}" for name in (
    "plot_patch_grid", "plot_patch_sequence", "plot_patch_vector")})


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
