r"""Any shape into a sequence: patches with their coordinates, a grid under a token budget,
and a NaFlex batch of images of different shapes (lesson 11, part 1).

A NaFlex batch is what timm's NaFlex data pipeline (``timm.data.naflex_*``) hands to a
``NaFlexVit``: a dict of three tensors, one row per image, padded to one length ``L``:

- ``patches`` ``(B, L, C·P·P)`` — each image's flattened patches, row-major, then zeros;
- ``patch_coord`` ``(B, L, 2)`` — each patch's (row, column) in its image's grid, int64;
- ``patch_valid`` ``(B, L)`` — True for a real patch, False for padding.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vit_tutorial.checks import check_positive_int, check_tensor, to_pair
from vit_tutorial.patches import image_to_patches

__all__ = ["patchify", "fit_to_budget", "resize_to_budget", "naflex_batch",
           "naflex_grid_sizes", "check_naflex_batch", "NAFLEX_KEYS", "MAX_SCALE"]

NAFLEX_KEYS = ("patches", "patch_coord", "patch_valid")
MAX_SCALE = 100  # timm's bisection looks for the scale in (0, 100] ...
SEARCH_TOLERANCE = 1e-5  # ... to this precision


def patchify(images: torch.Tensor, patch_size: int | tuple[int, int]
             ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Cut images of any shape into (C, P, P)-ordered patches, with each patch's (row,
    column) in the grid — timm's ``batch_patchify(x, P, channels_last=False)`` plus the
    coordinates its ``patchify_image`` returns.

    Args:
        images: ``(B, C, H, W)`` or one image ``(C, H, W)``; $P$ must divide $H$ and $W$.
        patch_size: $P$, or ``(P_h, P_w)``.

    Returns:
        ``(patches, patch_coord)``: the patches of lesson 01 (row-major, values in (C, P, P)
        order) and their coordinates, int64 on the images' device.

    Shapes:
        - images ``(B, C, H, W)`` -> ``(B, N, C·P·P)``, ``(B, N, 2)``
        - images ``(C, H, W)`` -> ``(N, C·P·P)``, ``(N, 2)``

    Note:
        timm's NaFlex pipeline pads an image with zeros up to a multiple of $P$; here, as in
        lesson 01, a side that $P$ doesn't divide is an error — :func:`fit_to_budget` picks
        sizes that it divides.
    """
    patches = image_to_patches(images, patch_size)  # checks the images and P; (…, N, C·P·P)
    ph, pw = to_pair(patch_size, "patch_size")
    gh, gw = images.shape[-2] // ph, images.shape[-1] // pw
    rows = torch.arange(gh, device=images.device).repeat_interleave(gw)  # (N,): 0 0 0 1 1 1 …
    cols = torch.arange(gw, device=images.device).repeat(gh)  # (N,): 0 1 2 0 1 2 …
    coord = torch.stack([rows, cols], dim=-1)  # (N, 2), (row, column)
    if images.ndim == 4:
        coord = coord.expand(images.shape[0], -1, -1)  # (N, 2) -> (B, N, 2)
    return patches, coord


def _grid_at(scale: float, size: tuple[int, int], patch: tuple[int, int]) -> tuple[int, int]:
    """(ceil(sH/P_h), ceil(sW/P_w)), at least 1 each (in floats, as timm computes it)."""
    return tuple(max(1, math.ceil(s * scale / p)) for s, p in zip(size, patch))


def fit_to_budget(image_size: int | tuple[int, int], patch_size: int | tuple[int, int],
                  max_tokens: int) -> tuple[int, int]:
    r"""The size NaFlex resizes an image to: the aspect ratio kept, at most ``max_tokens``
    patches — timm's ``get_image_size_for_seq(image_size, P, max_tokens)[1]``.

    The image is scaled by $s$ and each side rounded *up* to whole patches, so the grid is
    $(\lceil sH/P_h \rceil, \lceil sW/P_w \rceil)$ (at least 1 × 1). The token count grows
    in steps with $s$; the largest $s$ that stays within the budget is found by bisection
    on $(0, 100]$, to $10^{-5}$, as timm does.

    Args:
        image_size: ``(H, W)`` of the original image, or one int for a square.
        patch_size: $P$, or ``(P_h, P_w)``.
        max_tokens: the token budget (patches only; a class token comes on top).

    Returns:
        ``(H', W')`` in pixels, multiples of the patch size: the grid is
        ``(H'/P_h, W'/P_w)``.

    Note:
        A step narrower than $10^{-5}$ in $s$ can slip through the bisection: a
        1093 × 820 image with $P = 4$ and 16 tokens gets a 4 × 3 grid, though scales in a
        window of $5 \cdot 10^{-6}$ give 4 × 4. The course keeps timm's search so that both
        give the same sizes.

    Example:
        >>> fit_to_budget((600, 512), 16, 256)  # Grace Hopper's photo, 256 tokens
        (272, 240)
    """
    H, W = to_pair(image_size, "image_size")
    ph, pw = to_pair(patch_size, "patch_size")
    budget = check_positive_int(max_tokens, "max_tokens")
    low, high = SEARCH_TOLERANCE / 10, float(MAX_SCALE)  # timm's bounds
    while high - low >= SEARCH_TOLERANCE:  # bisection: low always fits the budget
        middle = (low + high) / 2
        if math.prod(_grid_at(middle, (H, W), (ph, pw))) <= budget:
            low = middle
        else:
            high = middle
    gh, gw = _grid_at(low, (H, W), (ph, pw))
    return gh * ph, gw * pw


def resize_to_budget(image: torch.Tensor, patch_size: int | tuple[int, int], max_tokens: int,
                     mode: str = "bicubic", antialias: bool = True) -> torch.Tensor:
    r"""Resize one image to :func:`fit_to_budget`'s size, as timm's ``ResizeToSequence`` does
    (bicubic, anti-aliased, by default).

    Shapes:
        image ``(C, H, W)`` -> ``(C, H', W')``
    """
    check_tensor(image, "image")
    if image.ndim != 3:
        raise ValueError(f"image must be one image (C, H, W), got {tuple(image.shape)}; "
                         f"resize the images of a batch one by one (each gets its own size)")
    if not image.is_floating_point():
        raise TypeError(f"image must be floating point, got {image.dtype}; convert with "
                        f"image.float() / 255")
    size = fit_to_budget(tuple(image.shape[-2:]), patch_size, max_tokens)
    return F.interpolate(image[None], size=size, mode=mode, antialias=antialias)[0]


def naflex_batch(images, patch_size: int | tuple[int, int], max_len: int | None = None
                 ) -> dict[str, torch.Tensor]:
    r"""Patchify images of different shapes and pad them into one NaFlex batch, as timm's
    ``Patchify(P, channels_last=False)`` and ``NaFlexCollator(max_seq_len)`` do.

    Args:
        images: a list of images ``(C, H_i, W_i)`` (same $C$, dtype and device); $P$ must
            divide every side (:func:`resize_to_budget` makes it so).
        patch_size: $P$, or ``(P_h, P_w)``.
        max_len: $L$, the padded length; ``None``: the longest image's patch count.

    Returns:
        ``{"patches", "patch_coord", "patch_valid"}`` (see the module docstring).

    Raises:
        ValueError: an image with more than ``max_len`` patches (timm's collator would cut
            it off silently).

    Shapes:
        images ``[(C, H_i, W_i)] * B`` -> ``(B, L, C·P·P)``, ``(B, L, 2)``, ``(B, L)``
    """
    images = list(images) if isinstance(images, (list, tuple)) else images
    if not isinstance(images, list) or not images:
        raise TypeError(f"images must be a non-empty list of (C, H, W) images, got "
                        f"{type(images).__name__}; for one image pass [image]")
    cut = [patchify(check_tensor(image, f"images[{i}]"), patch_size)
           for i, image in enumerate(images)]
    lengths = [len(patches) for patches, _ in cut]
    L = max(lengths) if max_len is None else check_positive_int(max_len, "max_len")
    if max(lengths) > L:
        i = lengths.index(max(lengths))
        raise ValueError(f"images[{i}] has {lengths[i]} patches, more than max_len={L}; "
                         f"resize it with resize_to_budget(image, P, {L}) or raise max_len")
    first = cut[0][0]
    patches = first.new_zeros(len(images), L, first.shape[-1])  # (B, L, C·P·P)
    coord = torch.zeros(len(images), L, 2, dtype=torch.int64, device=first.device)  # (B, L, 2)
    valid = torch.zeros(len(images), L, dtype=torch.bool, device=first.device)  # (B, L)
    for i, ((p, c), n) in enumerate(zip(cut, lengths)):
        if p.shape[-1] != first.shape[-1] or p.dtype != first.dtype:
            raise ValueError(f"images[{i}] gives patches of {p.shape[-1]} values ({p.dtype}), "
                             f"images[0] of {first.shape[-1]} ({first.dtype}); give every "
                             f"image the same channels and dtype")
        patches[i, :n], coord[i, :n], valid[i, :n] = p, c, True  # the rest stays padding
    return {"patches": patches, "patch_coord": coord, "patch_valid": valid}


def check_naflex_batch(batch: object, patch_dim: int | None = None
                       ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Return ``(patches, patch_coord, patch_valid)`` of a NaFlex batch after checking their
    types and shapes (and that a patch has ``patch_dim`` = C·P·P values, if given)."""
    if not isinstance(batch, dict):
        raise TypeError(f"a NaFlex batch is a dict with keys {', '.join(NAFLEX_KEYS)}, got "
                        f"{type(batch).__name__}; make one with naflex_batch(images, P)")
    missing = [key for key in NAFLEX_KEYS if key not in batch]
    unknown = sorted(set(batch) - {*NAFLEX_KEYS, "seq_len"})  # timm's collator adds seq_len
    if missing or unknown:
        raise ValueError(f"a NaFlex batch has the keys {', '.join(NAFLEX_KEYS)} (and timm's "
                         f"optional seq_len); missing {missing}, unknown {unknown}")
    patches, coord, valid = (check_tensor(batch[key], key) for key in NAFLEX_KEYS)
    if patches.ndim != 3 or tuple(coord.shape) != (*patches.shape[:2], 2) \
            or tuple(valid.shape) != tuple(patches.shape[:2]):
        raise ValueError(f"expected patches (B, L, C·P·P), patch_coord (B, L, 2) and "
                         f"patch_valid (B, L), got {tuple(patches.shape)}, "
                         f"{tuple(coord.shape)} and {tuple(valid.shape)}")
    if patch_dim is not None and patches.shape[-1] != patch_dim:
        raise ValueError(f"each patch must hold C·P·P = {patch_dim} values, got "
                         f"{patches.shape[-1]}; patchify with the model's patch size and "
                         f"channels")
    if not patches.is_floating_point():
        raise TypeError(f"patches must be floating point, got {patches.dtype}")
    if coord.is_floating_point() or coord.dtype == torch.bool or valid.dtype != torch.bool:
        raise TypeError(f"patch_coord must hold integers and patch_valid booleans, got "
                        f"{coord.dtype} and {valid.dtype}")
    return patches, coord, valid


def naflex_grid_sizes(patch_coord: torch.Tensor, patch_valid: torch.Tensor
                      ) -> list[tuple[int, int]]:
    """Each image's grid ``(rows, columns)``: one more than its largest valid coordinates
    (timm's ``calculate_naflex_grid_sizes``, which reads padding's (0, 0) too); ``(0, 0)``
    for an image without valid patches. Reads numbers: not on the meta device."""
    check_tensor(patch_coord, "patch_coord")
    if patch_coord.device.type == "meta":
        raise ValueError("the grid sizes are read from the values of patch_coord, which a "
                         "meta tensor doesn't have; run on the CPU or a GPU")
    coord = torch.where(patch_valid[..., None], patch_coord, -1)  # (B, L, 2); padding -> -1
    sizes = (coord.amax(dim=1) + 1).tolist()  # (B, 2)
    return [(int(h), int(w)) for h, w in sizes]
