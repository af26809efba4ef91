r"""Lesson 06 — resize the position embeddings $E_\text{pos}$ for a new resolution (Sec. 3.2).

At a higher resolution the patch size stays, the grid grows (ViT-B/16: 14×14 → 24×24 at
384×384) and $E_\text{pos}$ must follow: split off the prefix token(s), fold the $N$ rows
into their ``(D, H/P, W/P)`` grid, resize it, flatten it back, put the prefix in front
(``notebooks/06_interpolation.ipynb`` builds it step by step). The libraries disagree on
the resize:

============  ==================================================  =======  =====  =========
library       function                                            mode     align  antialias
============  ==================================================  =======  =====  =========
torchvision   ``models.vision_transformer.interpolate_embeddings``  bicubic  True   no
timm          ``layers.resample_abs_pos_embed``                   bicubic  False  True
original JAX  ``vit_jax/checkpoint.py`` (scipy zoom, order 1)     linear   —      no
============  ==================================================  =======  =====  =========

:func:`resize_pos_embed` takes these settings and reproduces torchvision and timm (the tests
check it); :func:`zoom_pos_embed` reproduces the original code. The lesson's figures are in
:mod:`vit_tutorial.interpolation_figures`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vit_tutorial.checks import (
    check_bool,
    check_num_prefix_tokens,
    check_size,
    check_tensor,
    to_pair,
    work_dtype,
)

__all__ = ["resize_pos_embed", "zoom_pos_embed", "split_sizes", "MODES", "SMOOTH_MODES"]

#: The ``F.interpolate`` modes :func:`resize_pos_embed` accepts.
MODES = ("nearest", "bilinear", "bicubic", "area")
#: The modes for which ``align_corners`` and ``antialias`` mean something.
SMOOTH_MODES = ("bilinear", "bicubic")



_MAX_PREFIX_GUESS = 5  # a class token plus timm's usual 4 register tokens


def _prefix_hint(num_tokens: int, grid_positions: int, num_prefix_tokens: int) -> str:
    """Suggest the prefix count that would make ``num_tokens`` fit ``grid_positions``."""
    guess = num_tokens - grid_positions
    if 0 <= guess <= _MAX_PREFIX_GUESS and guess != num_prefix_tokens:
        return f"; did you mean num_prefix_tokens={guess}?"
    return ""


def _square_hint(num_tokens: int, num_prefix_tokens: int) -> str:
    """Suggest a prefix count that leaves a perfect square of grid positions."""
    for guess in range(0, min(num_tokens, _MAX_PREFIX_GUESS) + 1):
        side = math.isqrt(num_tokens - guess)
        if guess != num_prefix_tokens and side > 0 and side * side == num_tokens - guess:
            return (f", or num_prefix_tokens={guess} if the model has {guess} prefix token(s) "
                    f"({num_tokens} = {guess} + {side}·{side})")
    return ""


def split_sizes(pos_embed: object, old_grid_size: object, num_prefix_tokens: object,
                 name: str = "pos_embed") -> tuple[bool, int, tuple[int, int]]:
    """Check ``pos_embed`` and return ``(single, num_prefix_tokens, (H/P, W/P))``."""
    check_tensor(pos_embed, name)
    if pos_embed.ndim not in (2, 3) or (pos_embed.ndim == 3 and pos_embed.shape[0] != 1):
        raise ValueError(
            f"{name} must have shape (1, prefix + N, D) or (prefix + N, D), got "
            f"{pos_embed.ndim} dimensions {tuple(pos_embed.shape)}; E_pos is one table shared "
            f"by every image, so pass the model's position embedding (e.g. model.pos_embed), "
            f"not a batch of tokens"
        )
    if not pos_embed.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {pos_embed.dtype}; convert it "
            f"with {name}.float()"
        )
    num_prefix_tokens = check_num_prefix_tokens(num_prefix_tokens)
    num_tokens = pos_embed.shape[-2]
    grid_positions = num_tokens - num_prefix_tokens
    if grid_positions <= 0:
        raise ValueError(
            f"num_prefix_tokens={num_prefix_tokens} leaves no grid positions: {name} has only "
            f"{num_tokens} token(s); num_prefix_tokens counts the class (and other prefix) "
            f"tokens in front of the grid, usually 1"
        )
    if old_grid_size is None:
        side = math.isqrt(grid_positions)
        if side * side != grid_positions:
            raise ValueError(
                f"cannot infer the old grid: {name} has {num_tokens} tokens = "
                f"{num_prefix_tokens} prefix + {grid_positions} grid positions, and "
                f"{grid_positions} is not a perfect square, so the grid is not square; pass "
                f"old_grid_size=(h, w) with h·w = {grid_positions} (the image size divided by "
                f"the patch size){_square_hint(num_tokens, num_prefix_tokens)}"
            )
        return pos_embed.ndim == 2, num_prefix_tokens, (side, side)
    gh, gw = to_pair(old_grid_size, "old_grid_size")
    if gh * gw != grid_positions:
        raise ValueError(
            f"{name} has {num_tokens} tokens = {num_prefix_tokens} prefix + {grid_positions} "
            f"grid positions, but old_grid_size ({gh}, {gw}) needs {gh}·{gw} = {gh * gw}; pass "
            f"the grid the embeddings were trained on (image size / patch size)"
            f"{_prefix_hint(num_tokens, gh * gw, num_prefix_tokens)}"
        )
    return pos_embed.ndim == 2, num_prefix_tokens, (gh, gw)


def resize_pos_embed(
    pos_embed: torch.Tensor,
    new_grid_size: int | tuple[int, int],
    old_grid_size: int | tuple[int, int] | None = None,
    num_prefix_tokens: int = 1,
    mode: str = "bicubic",
    align_corners: bool = False,
    antialias: bool = False,
) -> torch.Tensor:
    r"""2-D interpolate $E_\text{pos}$ from the old patch grid to a new one (Sec. 3.2).

    The prefix token(s) are split off and kept unchanged; the $N$ grid rows are folded
    into ``(D, H/P, W/P)``, resized with ``torch.nn.functional.interpolate`` to
    ``(H'/P, W'/P)``, flattened back into $N'$ rows and the prefix put back in front.

    Args:
        pos_embed: $E_\text{pos}$, ``(1, prefix + N, D)`` as stored in a model, or
            ``(prefix + N, D)``.
        new_grid_size: the new grid ``(H'/P, W'/P)``, or one int for a square grid —
            e.g. 24 for ViT-B/16 at 384×384.
        old_grid_size: the grid ``(H/P, W/P)`` the embeddings were trained on. ``None``
            infers a *square* grid from the token count and raises if the count is not a
            perfect square (a non-square grid must be given: its shape cannot be guessed).
        num_prefix_tokens: tokens in front of the grid that are not resized — 1 for the
            class token (the paper, torchvision, most timm models), 0 for none.
        mode: ``"nearest"``, ``"bilinear"``, ``"bicubic"`` (default, as torchvision and
            timm) or ``"area"``.
        align_corners: for ``bilinear``/``bicubic``: ``True`` lines up the centres of the
            corner patches (torchvision), ``False`` the outer edges of the grids (timm).
            Must stay ``False`` for ``nearest`` and ``area``.
        antialias: for ``bilinear``/``bicubic``: PyTorch's anti-aliased resampling, as
            timm uses it. For ``bicubic`` it also changes the kernel when upsampling (see
            the module's Note). Must stay ``False`` for ``nearest`` and ``area``.

    Returns:
        The resized $E_\text{pos}$, with the rank, dtype and device of ``pos_embed``. The
        computation runs in float32 (float64 for float64 input) and is differentiable.

    Shapes:
        - pos_embed ``(1, prefix + N, D)`` -> ``(1, prefix + N', D)``
        - pos_embed ``(prefix + N, D)`` -> ``(prefix + N', D)``

    Example:
        ViT-B/16 fine-tuned at 384×384 (Sec. 3.2): 197 rows become 577.

        >>> resize_pos_embed(torch.randn(1, 197, 768), 24).shape
        torch.Size([1, 577, 768])

        torchvision's settings are ``align_corners=True``; timm's are ``antialias=True``.
        A non-square grid must be named:

        >>> resize_pos_embed(torch.randn(1, 1 + 4 * 6, 32), (8, 3), old_grid_size=(4, 6)).shape
        torch.Size([1, 25, 32])

    Note:
        The paper says only "2D interpolation"; it does not name a method. Each library
        picked its own (see the module docstring), and the choices change the numbers.
    """
    single, k, (gh, gw) = split_sizes(pos_embed, old_grid_size, num_prefix_tokens)
    nh, nw = to_pair(new_grid_size, "new_grid_size")
    if mode not in MODES:
        raise ValueError(
            f"mode must be one of {', '.join(repr(m) for m in MODES)}, got {mode!r}; "
            f"torchvision and timm use 'bicubic', the original code linear ('bilinear' with "
            f"align_corners=True)"
        )
    align_corners = check_bool(align_corners, "align_corners")  # NumPy's bools become bools
    antialias = check_bool(antialias, "antialias")
    if mode not in SMOOTH_MODES and (align_corners or antialias):
        flag = "align_corners" if align_corners else "antialias"
        raise ValueError(
            f"{flag}=True only applies to mode 'bilinear' or 'bicubic', got mode {mode!r}; "
            f"pass {flag}=False, or choose mode='bilinear' or 'bicubic'"
        )

    x = pos_embed.unsqueeze(0) if single else pos_embed  # (prefix + N, D) -> (1, prefix + N, D)
    D = x.shape[-1]
    check_size((k + nh * nw) * D, f"the resized E_pos ({k} + {nh}·{nw} positions × D = {D})",
               "new_grid_size counts patches, image size / patch size (e.g. 24 for 384-pixel "
               "images with P = 16), not pixels")
    prefix, grid = x[:, :k], x[:, k:]  # (1, prefix + N, D) -> (1, prefix, D), (1, N, D)
    grid = grid.to(work_dtype(x.dtype))  # float32, or float64 if given (as timm)
    grid = grid.reshape(1, gh, gw, D)  # (1, N, D) -> (1, H/P, W/P, D), row-major
    grid = grid.permute(0, 3, 1, 2)  # -> (1, D, H/P, W/P): D images (a view, channels last)
    grid = F.interpolate(
        grid, size=(nh, nw), mode=mode,
        align_corners=align_corners if mode in SMOOTH_MODES else None,
        antialias=antialias,
    )  # (1, D, H/P, W/P) -> (1, D, H'/P, W'/P)
    grid = grid.permute(0, 2, 3, 1).reshape(1, nh * nw, D)  # -> (1, H'/P, W'/P, D) -> (1, N', D)
    grid = grid.to(x.dtype)
    out = torch.cat([prefix, grid], dim=1)  # (1, prefix, D) + (1, N', D) -> (1, prefix + N', D)
    return out[0] if single else out  # (1, prefix + N', D) -> (prefix + N', D) when unbatched


def zoom_pos_embed(
    pos_embed: torch.Tensor,
    new_grid_size: int | tuple[int, int],
    old_grid_size: int | tuple[int, int] | None = None,
    num_prefix_tokens: int = 1,
) -> torch.Tensor:
    r"""Resize $E_\text{pos}$ the way the original JAX code does (Sec. 3.2, for comparison).

    The authors' ``vit_jax/checkpoint.py`` splits off the class token, reshapes the grid
    rows to ``(H/P, W/P, D)`` and calls
    ``scipy.ndimage.zoom(grid, (new / old, new / old, 1), order=1)`` — a piecewise-linear
    (order-1 spline) resize, no anti-aliasing. This function does the same with SciPy.

    ``scipy.ndimage.zoom`` (with its default ``grid_mode=False``) puts the corner samples
    of the old grid on the corner samples of the new grid, like ``align_corners=True``.
    With ``order=1`` the result equals
    ``resize_pos_embed(..., mode="bilinear", align_corners=True)`` to rounding (checked in
    the tests, also when shrinking the grid).

    Args:
        pos_embed: $E_\text{pos}$, ``(1, prefix + N, D)`` or ``(prefix + N, D)``.
        new_grid_size: the new grid ``(H'/P, W'/P)`` or one int. The original code only
            handles square grids; here a non-square one zooms each axis by its own factor.
        old_grid_size: the old grid; ``None`` infers a square one, as the original does.
        num_prefix_tokens: 1 with a class token (the original's ``classifier='token'``),
            0 without (``classifier='gap'``).

    Returns:
        The resized $E_\text{pos}$ with the rank, dtype and device of ``pos_embed``. SciPy
        works on NumPy arrays (here in float64), so the result is **not** differentiable.

    Raises:
        ImportError: if SciPy is not installed.

    Shapes:
        - pos_embed ``(1, prefix + N, D)`` -> ``(1, prefix + N', D)``
        - pos_embed ``(prefix + N, D)`` -> ``(prefix + N', D)``
    """
    try:
        from scipy import ndimage
    except ImportError as error:  # pragma: no cover - scipy is present wherever tests run
        raise ImportError(
            "zoom_pos_embed needs SciPy (scipy.ndimage.zoom), which is not installed; "
            "install it with `pip install scipy`, or use resize_pos_embed(..., "
            "mode='bilinear', align_corners=True), which gives the same numbers"
        ) from error

    single, k, (gh, gw) = split_sizes(pos_embed, old_grid_size, num_prefix_tokens)
    nh, nw = to_pair(new_grid_size, "new_grid_size")
    x = pos_embed.detach()
    x = x.unsqueeze(0) if single else x  # (prefix + N, D) -> (1, prefix + N, D)
    D = x.shape[-1]
    prefix, grid = x[:, :k], x[0, k:]  # (1, prefix + N, D) -> (1, prefix, D), (N, D)
    if x.device.type == "meta":  # shapes only: nothing for SciPy to compute
        zoomed = torch.empty(nh, nw, D, device="meta", dtype=x.dtype)
    else:
        grid = grid.cpu().double().numpy().reshape(gh, gw, D)  # (N, D) -> (H/P, W/P, D)
        zoomed = ndimage.zoom(grid, (nh / gh, nw / gw, 1), order=1)  # -> (H'/P, W'/P, D)
        zoomed = torch.from_numpy(zoomed).to(device=x.device, dtype=x.dtype)
    zoomed = zoomed.reshape(1, nh * nw, D)  # (H'/P, W'/P, D) -> (1, N', D)
    out = torch.cat([prefix, zoomed], dim=1)  # (1, prefix, D) + (1, N', D) -> (1, prefix + N', D)
    return out[0] if single else out  # (1, prefix + N', D) -> (prefix + N', D) when unbatched
