r"""Lesson 10, part 2 — 2-D rotary position embeddings (Heo et al., ECCV 2024): the tables
of angles and the rotation (see :mod:`vit_tutorial.after_the_paper`)."""

from __future__ import annotations

import math

import torch

from vit_tutorial.checks import (
    check_choice,
    check_float_dtype,
    check_num_prefix_tokens,
    check_positive_int,
    check_positive_number,
    check_same_device,
    check_tensor,
    to_pair,
    work_dtype,
)

__all__ = ["ROPE_KINDS", "GRID_INDEXINGS", "ROPE_TEMPERATURE", "check_head_dim", "rope_frequencies",
           "rope_2d_axial", "mixed_frequencies", "rope_2d_mixed", "apply_rope"]

#: The kinds of 2-D RoPE :class:`RoPEAttention` implements.
ROPE_KINDS = ("axial", "mixed")
#: Which coordinate goes with the first half of a head's channels: x (column) or i (row).
GRID_INDEXINGS = ("xy", "ij")
#: RoPE temperatures of naver-ai/rope-vit and timm's rope ViTs (the LLM default is 10000).
ROPE_TEMPERATURE = {"axial": 100.0, "mixed": 10.0}


def check_head_dim(head_dim: object) -> int:
    d = check_positive_int(head_dim, "head_dim")
    if d % 4 != 0:
        lower = max(4, d - d % 4)
        raise ValueError(
            f"head_dim {d} is not divisible by 4; 2-D RoPE rotates pairs of channels, half of "
            f"the pairs by the column and half by the row, so it needs a multiple of 4 (e.g. "
            f"{lower} or {lower + 4}; embed_dim / num_heads = head_dim)"
        )
    return d


def _grid_coordinates(grid_size: object, grid_indexing: object, device, dtype
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-patch coordinates ``(first, second)``, each ``(N,)``, patches in row-major order:
    ``(column, row)`` for ``"xy"``, ``(row, column)`` for ``"ij"``."""
    gh, gw = to_pair(grid_size, "grid_size")
    check_choice(grid_indexing, "grid_indexing", GRID_INDEXINGS,
                  "'xy' (column first) as naver-ai/rope-vit and timm's rope ViTs, or 'ij'")
    rows = torch.arange(gh, device=device, dtype=dtype).repeat_interleave(gw)  # (N,): n // (W/P)
    cols = torch.arange(gw, device=device, dtype=dtype).repeat(gh)  # (N,): n % (W/P)
    return (cols, rows) if grid_indexing == "xy" else (rows, cols)


def rope_frequencies(head_dim: int, *, temperature: float = 100.0,
                     device: torch.device | str | None = None,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""The $D_h/4$ rotation frequencies of axial 2-D RoPE, one per pair of channels and axis.

    $$\omega_k = \text{temperature}^{-k/(D_h/4)}, \qquad k = 0, \dots, D_h/4 - 1,$$

    from 1 (one radian per patch) down to about $1/\text{temperature}$. The same formula as
    the sine–cosine table of lesson 04, whose temperature is 10000 (as in language models);
    the RoPE-Axial models of Heo et al. use 100.

    Args:
        head_dim: $D_h = D / h$; a multiple of 4.
        temperature: 100 as naver-ai/rope-vit and timm's ``vit_*_patch16_rope_224``.
        device, dtype: of the result.

    Shapes:
        ``(D_h/4,)``
    """
    d = check_head_dim(head_dim)
    temperature = check_positive_number(temperature, "temperature", "RoPE-Axial uses 100")
    work = work_dtype(check_float_dtype(dtype))
    k = torch.arange(d // 4, device=device, dtype=work)  # (D_h/4,): 0, 1, ..., D_h/4 - 1
    return (1.0 / temperature ** (k / (d // 4))).to(dtype)  # (D_h/4,)


def rope_2d_axial(grid_size: int | tuple[int, int], head_dim: int, *,
                  temperature: float = 100.0, grid_indexing: str = "xy",
                  device: torch.device | str | None = None,
                  dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Sine and cosine tables of axial 2-D RoPE (Heo et al. 2024, RoPE-Axial).

    A head's $D_h$ channels form $D_h/2$ pairs $(x_{2i}, x_{2i+1})$, each a point in a plane
    (a complex number $x_{2i} + \mathrm{i}\,x_{2i+1}$). The patch at row $r$, column $c$
    rotates pair $i$ by the angle

    $$\theta_i(r, c) = \begin{cases} c\,\omega_i & i < D_h/4 \\
    r\,\omega_{i - D_h/4} & i \ge D_h/4 \end{cases}$$

    (with ``grid_indexing="xy"``; ``"ij"`` swaps $r$ and $c$), $\omega$ from
    :func:`rope_frequencies`. This returns $\sin\theta$ and $\cos\theta$ with every angle
    written twice, once for each member of its pair, ready for :func:`apply_rope`.

    Args:
        grid_size: the patch grid ``(H/P, W/P)`` or one int; any size, at any time.
        head_dim: $D_h$; a multiple of 4.
        temperature: base of the frequencies; 100 as the paper's RoPE-Axial.
        grid_indexing: ``"xy"``: first half of the pairs turn with the column (naver-ai,
            timm's rope ViTs); ``"ij"``: with the row (timm's EVA-02 default).
        device, dtype: of the tables. Angles are computed in float32 (float64 for float64).

    Returns:
        ``(sin, cos)``; row ``n`` is patch ``(n // (W/P), n % (W/P))`` (row-major).

    Shapes:
        ``(N, D_h)`` each, $N = (H/P)(W/P)$; the layout is interleaved,
        ``[θ_0, θ_0, θ_1, θ_1, ...]`` — timm's ``rotate_half=False``.

    Example:
        >>> sin, cos = rope_2d_axial((14, 14), 64)
        >>> sin.shape
        torch.Size([196, 64])
    """
    work = work_dtype(check_float_dtype(dtype))
    omega = rope_frequencies(head_dim, temperature=temperature, device=device, dtype=work)
    first, second = _grid_coordinates(grid_size, grid_indexing, device, work)  # (N,) each
    angles = torch.cat([first[:, None] * omega, second[:, None] * omega],
                       dim=1)  # (N, 1) * (D_h/4,) -> 2 x (N, D_h/4) -> (N, D_h/2)
    angles = angles.repeat_interleave(2, dim=1)  # (N, D_h/2) -> (N, D_h): one per pair member
    return angles.sin().to(dtype), angles.cos().to(dtype)


def mixed_frequencies(head_dim: int, angles: torch.Tensor, *,
                      temperature: float = 10.0) -> torch.Tensor:
    r"""Starting frequencies of RoPE-Mixed: 2-D frequency vectors, one set per head (Heo et al.).

    RoPE-Mixed gives pair $i$ of head $h$ a learnable 2-D frequency
    $(f^x_{h,i}, f^y_{h,i})$ and the angle $\theta = c\,f^x + r\,f^y$ (``"xy"``), so a pair
    can turn along a diagonal. They start as axial frequencies turned by a per-head angle
    $\alpha_h$: the first $D_h/4$ pairs point along $\alpha_h$, the other $D_h/4$ along
    $\alpha_h + 90°$, with magnitudes $\text{temperature}^{-4k/D_h}$. With $\alpha_h = 0$
    this is exactly :func:`rope_2d_axial` with the same temperature.

    Args:
        head_dim: $D_h$; a multiple of 4.
        angles: $\alpha$, ``(h,)`` radians (timm and naver-ai draw them uniformly in
            $[0, 2\pi)$ for every head of every block).
        temperature: 10 as naver-ai/rope-vit and timm's ``vit_*_patch16_rope_mixed_224``.

    Returns:
        ``stack([f^x, f^y])`` on the device and in the dtype of ``angles``; equals timm's
        ``init_random_2d_freqs`` given the same angles.

    Shapes:
        angles ``(h,)`` -> ``(2, h, D_h/2)``
    """
    d = check_head_dim(head_dim)
    check_tensor(angles, "angles")
    if angles.ndim != 1 or not angles.is_floating_point():
        raise ValueError(f"angles must be a floating-point (h,) tensor, one angle per head, got "
                         f"{angles.dtype} of shape {tuple(angles.shape)}; e.g. "
                         f"torch.rand(num_heads) * 2 * math.pi")
    temperature = check_positive_number(temperature, "temperature", "RoPE-Mixed uses 10")
    k4 = torch.arange(0, d, 4, device=angles.device, dtype=angles.dtype)  # (D_h/4,): 0, 4, 8, ...
    magnitude = 1.0 / temperature ** (k4 / d)  # (D_h/4,)
    a = angles[:, None]  # (h,) -> (h, 1)
    fx = torch.cat([magnitude * torch.cos(a), magnitude * torch.cos(a + math.pi / 2)],
                   dim=-1)  # (h, 1) * (D_h/4,) -> 2 x (h, D_h/4) -> (h, D_h/2)
    fy = torch.cat([magnitude * torch.sin(a), magnitude * torch.sin(a + math.pi / 2)],
                   dim=-1)  # (h, D_h/2)
    return torch.stack([fx, fy])  # 2 x (h, D_h/2) -> (2, h, D_h/2)


def rope_2d_mixed(freqs: torch.Tensor, grid_size: int | tuple[int, int], *,
                  grid_indexing: str = "xy") -> tuple[torch.Tensor, torch.Tensor]:
    r"""Sine and cosine tables of RoPE-Mixed (Heo et al. 2024): $\theta = c\,f^x + r\,f^y$.

    Args:
        freqs: ``(2, ..., h, D_h/2)``: $f^x$ and $f^y$ for every head (and, with a leading
            depth axis as in timm's ``RotaryEmbeddingMixed.freqs``, every block). Learnable:
            gradients flow through the tables.
        grid_size: the patch grid ``(H/P, W/P)`` or one int; any size.
        grid_indexing: ``"xy"``: $f^x$ goes with the column (naver-ai, timm's rope ViTs);
            ``"ij"``: with the row.

    Returns:
        ``(sin, cos)`` in the dtype of ``freqs``, computed in float32 (float64 for float64).

    Shapes:
        freqs ``(2, ..., h, D_h/2)`` -> ``(..., h, N, D_h)`` each, interleaved layout.
    """
    check_tensor(freqs, "freqs")
    if freqs.ndim < 3 or freqs.shape[0] != 2 or not freqs.is_floating_point():
        raise ValueError(f"freqs must be a floating-point (2, ..., h, D_h/2) tensor (f^x and "
                         f"f^y per head), got {freqs.dtype} of shape {tuple(freqs.shape)}; "
                         f"build it with mixed_frequencies(head_dim, angles)")
    work = work_dtype(freqs.dtype)
    first, second = _grid_coordinates(grid_size, grid_indexing, freqs.device, work)  # (N,) each
    f = freqs.to(work)
    # (N, 1) * (..., h, 1, D_h/2) -> (..., h, N, D_h/2), twice, summed
    angles = first[:, None] * f[0].unsqueeze(-2) + second[:, None] * f[1].unsqueeze(-2)
    angles = angles.repeat_interleave(2, dim=-1)  # (..., h, N, D_h/2) -> (..., h, N, D_h)
    return angles.sin().to(freqs.dtype), angles.cos().to(freqs.dtype)


def _check_rope_inputs(x: object, sin: object, cos: object, num_prefix_tokens: object) -> int:
    check_tensor(x, "x")
    check_tensor(sin, "sin")
    check_tensor(cos, "cos")
    k = check_num_prefix_tokens(num_prefix_tokens)
    if x.ndim < 2 or not x.is_floating_point() or x.shape[-1] % 2 != 0:
        raise ValueError(f"x must be floating-point queries or keys (..., T, D_h) with an even "
                         f"D_h, e.g. (B, h, T, D_h); got {x.dtype} of shape {tuple(x.shape)}")
    check_same_device(sin, "sin", cos, "cos")
    check_same_device(x, "x", sin, "the sin and cos tables", "the tables")
    if sin.shape != cos.shape or sin.ndim < 2:
        raise ValueError(f"sin and cos must have the same shape (..., N, D_h), got "
                         f"{tuple(sin.shape)} and {tuple(cos.shape)}; pass both halves of "
                         f"rope_2d_axial(...) or rope_2d_mixed(...)")
    T, d = x.shape[-2:]
    N = sin.shape[-2]
    if sin.shape[-1] != d or T != k + N:
        raise ValueError(
            f"x has {T} tokens of width {d}, the tables have {N} positions of width "
            f"{sin.shape[-1]}; expected T = num_prefix_tokens + N = {k} + {N} = {k + N} and "
            f"equal widths: build the tables for the grid the tokens came from, with "
            f"head_dim={d}, and set num_prefix_tokens (1 for a class token)"
        )
    try:
        fits = torch.broadcast_shapes(x.shape[:-2], sin.shape[:-2]) == x.shape[:-2]
    except RuntimeError:
        fits = False
    if not fits:
        raise ValueError(f"the tables' leading axes {tuple(sin.shape[:-2])} do not broadcast to "
                         f"those of x {tuple(x.shape[:-2])}; for x of (B, h, T, D_h) pass tables "
                         f"(N, D_h) (every head alike) or (h, N, D_h) (one per head)")
    return k


def apply_rope(x: torch.Tensor, sin: torch.Tensor, cos: torch.Tensor, *,
               num_prefix_tokens: int = 0) -> torch.Tensor:
    r"""Rotate queries or keys by their positions: RoPE's $x \mapsto R(\theta)\,x$, pair by pair.

    For each pair $(x_{2i}, x_{2i+1})$ and its angle $\theta_i$:

    $$\begin{pmatrix} x'_{2i} \\ x'_{2i+1} \end{pmatrix} =
    \begin{pmatrix} \cos\theta_i & -\sin\theta_i \\ \sin\theta_i & \cos\theta_i \end{pmatrix}
    \begin{pmatrix} x_{2i} \\ x_{2i+1} \end{pmatrix},$$

    i.e. $x' = x \odot \cos\theta + \mathrm{rot}(x) \odot \sin\theta$ with
    $\mathrm{rot}(x) = (-x_1, x_0, -x_3, x_2, \dots)$ — or, in complex numbers,
    $z'_i = e^{\mathrm{i}\theta_i} z_i$. Rotations keep lengths, and
    $R(\theta_p)q \cdot R(\theta_m)k = q \cdot R(\theta_m - \theta_p)k$: since $\theta$ is
    linear in the position, the score depends only on the offset $m - p$.

    Args:
        x: queries or keys ``(..., T, D_h)``, e.g. ``(B, h, T, D_h)``.
        sin, cos: tables ``(..., N, D_h)`` from :func:`rope_2d_axial` or
            :func:`rope_2d_mixed`, broadcastable to ``x``'s leading axes.
        num_prefix_tokens: tokens in front of the grid left unrotated (1 for the class
            token, which has no position), as timm's ``num_prefix_tokens``.

    Returns:
        The rotated tensor in ``x``'s dtype (the products use normal type promotion and are
        cast once at the end, as timm's ``apply_rot_embed_cat``).

    Shapes:
        x ``(..., prefix + N, D_h)`` -> ``(..., prefix + N, D_h)``
    """
    k = _check_rope_inputs(x, sin, cos, num_prefix_tokens)
    prefix, grid = x[..., :k, :], x[..., k:, :]  # -> (..., prefix, D_h), (..., N, D_h)
    pairs = grid.unflatten(-1, (-1, 2))  # (..., N, D_h) -> (..., N, D_h/2, 2)
    turned = torch.stack([-pairs[..., 1], pairs[..., 0]],
                         dim=-1).flatten(-2)  # rot(x): (..., N, D_h/2, 2) -> (..., N, D_h)
    rotated = grid * cos + turned * sin  # (..., N, D_h) * (..., N, D_h), broadcast
    rotated = rotated.to(x.dtype)
    return torch.cat([prefix, rotated], dim=-2)  # -> (..., prefix + N, D_h)
