r"""Lesson 10 — after the paper: three later answers to questions the ViT paper left open.

The paper fixes the patch size $P$ for good, adds a learned table $E_\text{pos}$ that must be
interpolated for every new resolution (Sec. 3.2), and reads the class token's output while
ignoring what the patch tokens do with theirs. Three follow-ups changed exactly these spots:

1. **FlexiViT** (Beyer et al., "FlexiViT: One Model for All Patch Sizes", CVPR 2023,
   arXiv:2212.08013) — change $P$ after training by resizing the patch-embedding filters
   $E$ with a *pseudo-inverse* resize (PI-resize), so that a resized patch gives the same
   token as the original patch. :func:`resample_patch_embed`,
   :func:`resize_patch_embedding`, :func:`patch_resize_matrix`, :func:`resize_patches`.
2. **2-D rotary position embeddings** (Heo et al., "Rotary Position Embedding for Vision
   Transformer", ECCV 2024, arXiv:2403.13298; RoPE itself is from Su et al., RoFormer,
   arXiv:2104.09864) — nothing is added to the tokens; instead every attention layer
   *rotates* the queries and keys of the patch tokens by angles proportional to their row
   and column. The score $q \cdot k$ then depends only on the offset between two patches,
   so a model trained on a 7×7 grid runs on 14×14 with nothing to resize.
   :func:`rope_2d_axial`, :func:`rope_2d_mixed`, :func:`apply_rope`,
   :class:`RoPEEncoderBlock`.
3. **Registers** (Darcet et al., "Vision Transformers Need Registers", ICLR 2024,
   arXiv:2309.16588) — large, long-trained ViTs turn a few patch tokens, mostly in patches
   that look like their neighbours (background), into high-norm outliers in the outputs of
   their later layers; extra learnable tokens ("registers") next to the class token give
   the model somewhere else to put that computation.
   :func:`token_norms` and :func:`high_norm_tokens` measure the outliers.

Every function here matches timm 1.0.31 numerically (the tests check it): PI-resize equals
``timm.layers.resample_patch_embed``; the RoPE tables and rotation equal timm's
``RotaryEmbeddingCat`` / ``RotaryEmbeddingMixed`` and ``apply_rot_embed_cat`` as built by
its ``vit_base_patch16_rope_224`` and ``vit_base_patch16_rope_mixed_224`` models (the
port of naver-ai/rope-vit, the paper's code), and :class:`RoPEEncoderBlock` equals timm's
``EvaBlock`` with ``attn_type='rope'`` given the same weights.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from vit_tutorial._checks import (check_num_prefix_tokens, check_positive_int, check_tensor,
                                  to_pair)
from vit_tutorial.encoder import LAYER_NORM_EPS, MLP, Attention
from vit_tutorial.patch_embedding import PatchEmbedding
from vit_tutorial.patches import image_to_patches, patches_to_image

__all__ = ["patch_resize_matrix", "resample_patch_embed", "resize_patch_embedding",
           "resize_patches", "rope_frequencies", "rope_2d_axial", "mixed_frequencies",
           "rope_2d_mixed", "apply_rope", "RoPEAttention", "RoPEEncoderBlock", "token_norms",
           "HighNormTokens", "high_norm_tokens"]

#: ``F.interpolate`` modes a patch (or filter) can be resized with, as in timm.
PATCH_INTERPOLATIONS = ("bilinear", "bicubic")
#: How :func:`resample_patch_embed` resizes filters.
RESAMPLE_METHODS = ("pi", "plain")
#: The kinds of 2-D RoPE :class:`RoPEAttention` implements.
ROPE_KINDS = ("axial", "mixed")
#: Which coordinate goes with the first half of a head's channels: x (column) or i (row).
GRID_INDEXINGS = ("xy", "ij")
#: RoPE temperatures of naver-ai/rope-vit and timm's rope ViTs (the LLM default is 10000).
ROPE_TEMPERATURE = {"axial": 100.0, "mixed": 10.0}


def _check_choice(value: object, name: str, choices: tuple[str, ...], hint: str) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got "
                         f"{value!r}; {hint}")
    return value


def _check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} of type "
                        f"{type(value).__name__}")
    return value


def _check_positive_number(value: object, name: str, hint: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}; {hint}")
    return float(value)


def _check_float_dtype(dtype: object) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype (e.g. torch.float32), got "
                        f"{dtype!r}")
    return dtype


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    """float64 stays float64; everything else is computed in float32, as timm does."""
    return torch.float64 if dtype == torch.float64 else torch.float32


# --- 1. FlexiViT: a new patch size for the same filters --------------------------------


def patch_resize_matrix(old_size: int | tuple[int, int], new_size: int | tuple[int, int], *,
                        interpolation: str = "bicubic", antialias: bool = True,
                        device: torch.device | str | None = None,
                        dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""The matrix $B$ of a patch resize: one ``(P_h, P_w)`` patch $x$ becomes $Bx$ (FlexiViT).

    Resizing with ``F.interpolate`` is linear in the pixels, so resizing a one-channel patch
    flattened to $x \in \mathbb{R}^{P_h P_w}$ is a matrix product $Bx$ with
    $B \in \mathbb{R}^{P'_h P'_w \times P_h P_w}$. Column $j$ of $B$ is the resized image of
    the $j$-th pixel alone (the $j$-th unit vector), which is how it is built here.

    Args:
        old_size: the patch size $P$ being resized, or ``(P_h, P_w)``.
        new_size: the new patch size $P'$, or ``(P'_h, P'_w)``.
        interpolation: ``"bicubic"`` (timm's default) or ``"bilinear"``.
        antialias: PyTorch's anti-aliased resampling (timm: ``True``). For bicubic it also
            changes the kernel when upsampling (see lesson 06).
        device, dtype: where and in which floating dtype to build $B$.

    Returns:
        $B$, with ``align_corners=False`` (patch edges on patch edges), as timm.

    Shapes:
        ``(P'_h·P'_w, P_h·P_w)``; pixels are numbered row-major within a patch.
    """
    ph, pw = to_pair(old_size, "old_size")
    nh, nw = to_pair(new_size, "new_size")
    _check_choice(interpolation, "interpolation", PATCH_INTERPOLATIONS,
                  "timm resizes patch embeddings with 'bicubic'")
    _check_bool(antialias, "antialias")
    basis = torch.eye(ph * pw, device=device, dtype=_check_float_dtype(dtype))  # (P², P²)
    basis = basis.reshape(ph * pw, 1, ph, pw)  # -> (P², 1, P_h, P_w): one image per pixel
    resized = F.interpolate(basis, size=(nh, nw), mode=interpolation, align_corners=False,
                            antialias=antialias)  # (P², 1, P_h, P_w) -> (P², 1, P'_h, P'_w)
    return resized.reshape(ph * pw, nh * nw).T  # -> (P², P'²) -> (P'², P²): column j is B e_j


def _check_conv_weight(weight: object) -> torch.Tensor:
    check_tensor(weight, "weight")
    if weight.ndim != 4:
        raise ValueError(
            f"weight must be a Conv2d weight (D, C, P_h, P_w), got {weight.ndim} dimensions "
            f"{tuple(weight.shape)}; pass embedding.proj.weight (a Linear weight (D, C·P·P) "
            f"reshapes with .reshape(D, C, P, P))"
        )
    if not weight.is_floating_point():
        raise TypeError(f"weight must be floating-point, got dtype {weight.dtype}; convert it "
                        f"with weight.float()")
    return weight


def resample_patch_embed(weight: torch.Tensor, new_size: int | tuple[int, int], *,
                         method: str = "pi", interpolation: str = "bicubic",
                         antialias: bool = True) -> torch.Tensor:
    r"""Resize patch-embedding filters $E$ to a new patch size (FlexiViT's PI-resize).

    A filter $w$ (one of the $D$ output channels, one input channel) turns a patch $x$ into
    the token entry $\langle x, w \rangle$. If the patches are resized, $x \mapsto Bx$ with
    the resize matrix $B \in \mathbb{R}^{P'^2 \times P^2}$ (:func:`patch_resize_matrix`),
    we want a filter $w'$ that gives the same token for every patch:

    $$\langle x, w \rangle = \langle Bx, w' \rangle = \langle x, B^\top w' \rangle
    \quad \forall x \iff B^\top w' = w.$$

    FlexiViT takes the least-squares solution $w' = (B^\top)^{+} w$ (the pseudo-inverse).
    When upsampling ($P'_h \ge P_h$ and $P'_w \ge P_w$), $B$ has full column rank, so
    $B^\top w' = w$ has solutions and $w'$ is the smallest: tokens are reproduced
    **exactly** (to 1e-6 in float32, checked in the tests). When downsampling, no $w'$ fits
    every $x$; $(B^\top)^{+} w$ minimises $\lVert B^\top w' - w \rVert$, which is the mean
    squared token error for white-noise patches.

    ``method="plain"`` resizes each filter like an image (``F.interpolate``), what one might
    try first. A filter upsampled from 8×8 to 16×16 sums over four times as many pixels:
    on random images its tokens come out 3.5–3.8 times too long, with errors of 2–3 on
    tokens of size ~1, where PI-resize is off by 2e-6.

    Args:
        weight: ``Conv2d`` weight ``(D, C, P_h, P_w)``, e.g. ``embedding.proj.weight``.
        new_size: $P'$, or ``(P'_h, P'_w)``.
        method: ``"pi"`` (FlexiViT, timm) or ``"plain"``.
        interpolation, antialias: the resize that the *patches* go through (``"pi"``) or
            that the filters go through (``"plain"``); timm: bicubic, anti-aliased.

    Returns:
        The resized weight, same dtype and device. Computed in float32 (float64 for float64
        input), as timm's ``timm.layers.resample_patch_embed``, which it equals.

    Shapes:
        ``(D, C, P_h, P_w)`` -> ``(D, C, P'_h, P'_w)``, e.g. ViT-B/16's ``(768, 3, 16, 16)``
        -> ``(768, 3, 32, 32)`` for $P' = 32$.
    """
    weight = _check_conv_weight(weight)
    nh, nw = to_pair(new_size, "new_size")
    _check_choice(method, "method", RESAMPLE_METHODS,
                  "'pi' keeps tokens unchanged (FlexiViT), 'plain' resizes filters like images")
    D, C, ph, pw = weight.shape
    work = _work_dtype(weight.dtype)
    if method == "plain":
        _check_choice(interpolation, "interpolation", PATCH_INTERPOLATIONS, "e.g. 'bicubic'")
        resized = F.interpolate(weight.to(work), size=(nh, nw), mode=interpolation,
                                align_corners=False, antialias=_check_bool(antialias, "antialias"))
        return resized.to(weight.dtype)  # (D, C, P_h, P_w) -> (D, C, P'_h, P'_w)
    B = patch_resize_matrix((ph, pw), (nh, nw), interpolation=interpolation,
                            antialias=antialias, device=weight.device, dtype=work)  # (P'², P²)
    pinv = torch.linalg.pinv(B)  # (P², P'²) = B^+, and (B^T)^+ = (B^+)^T
    filters = weight.to(work).reshape(D, C, ph * pw)  # (D, C, P_h, P_w) -> (D, C, P²)
    resized = filters @ pinv  # (D, C, P²) @ (P², P'²) -> (D, C, P'²): each row is w^T B^+
    return resized.reshape(D, C, nh, nw).to(weight.dtype)  # (D, C, P'²) -> (D, C, P'_h, P'_w)


def resize_patch_embedding(embedding: PatchEmbedding, patch_size: int | tuple[int, int], *,
                           image_size: int | tuple[int, int] | None = None,
                           method: str = "pi", interpolation: str = "bicubic",
                           antialias: bool = True) -> PatchEmbedding:
    r"""A new :class:`~vit_tutorial.patch_embedding.PatchEmbedding` with patch size $P'$ and
    the filters of ``embedding`` resized by :func:`resample_patch_embed` (FlexiViT).

    Args:
        embedding: the trained patch embedding (e.g. ``model.patch_embed``).
        patch_size: the new $P'$, or ``(P'_h, P'_w)``.
        image_size: the new module's image size. ``None`` keeps the patch grid: a 224-pixel
            ViT-B/16 (14×14 patches) becomes a 448-pixel ViT-B/32 — the case in which
            PI-resize reproduces the tokens exactly on patch-wise upsampled images
            (:func:`resize_patches`). Give another size for another grid (then the position
            embeddings need resizing too, lesson 06).
        method, interpolation, antialias: as for :func:`resample_patch_embed`.

    Returns:
        A new module on the same device and dtype; the bias is copied unchanged (it is
        added to every token, whatever the patch size). ``embedding`` is not modified.

    Shapes:
        ``proj.weight`` ``(D, C, P_h, P_w)`` -> ``(D, C, P'_h, P'_w)``; tokens stay ``(B, N, D)``
        with the same $N$ when ``image_size`` is ``None``.

    Example:
        >>> b16 = PatchEmbedding(224, 16, 3, 768)
        >>> b32 = resize_patch_embedding(b16, 32)
        >>> b32.image_size, b32.grid_size
        ((448, 448), (14, 14))
    """
    if not isinstance(embedding, PatchEmbedding):
        raise TypeError(f"embedding must be a vit_tutorial PatchEmbedding (e.g. "
                        f"model.patch_embed), got {type(embedding).__name__}; for a bare "
                        f"Conv2d weight use resample_patch_embed(weight, new_size)")
    ph, pw = to_pair(patch_size, "patch_size")
    gh, gw = embedding.grid_size
    size = (gh * ph, gw * pw) if image_size is None else to_pair(image_size, "image_size")
    weight = embedding.proj.weight
    new = PatchEmbedding(size, (ph, pw), embedding.in_channels, embedding.embed_dim)
    new = new.to(device=weight.device, dtype=weight.dtype)
    resized = resample_patch_embed(weight.detach(), (ph, pw), method=method,
                                   interpolation=interpolation, antialias=antialias)
    with torch.no_grad():
        new.proj.weight.copy_(resized)  # (D, C, P'_h, P'_w)
        new.proj.bias.copy_(embedding.proj.bias)  # (D,)
    return new


def resize_patches(images: torch.Tensor, patch_size: int | tuple[int, int],
                   new_patch_size: int | tuple[int, int], *, interpolation: str = "bicubic",
                   antialias: bool = True) -> torch.Tensor:
    r"""Resize every patch of an image on its own, $x \mapsto Bx$, and put them back together.

    This is the resize that :func:`resample_patch_embed` inverts: with PI-resized filters,
    ``resized_embedding(resize_patches(images, P, P'))`` equals ``embedding(images)`` when
    $P' \ge P$. Resizing the *whole* image instead mixes pixels across patch borders, so the
    match is only approximate there.

    Args:
        images: ``(B, C, H, W)`` or ``(C, H, W)``, floating point.
        patch_size: the patch size $P$ of ``images``; must divide $H$ and $W$.
        new_patch_size: $P'$, or ``(P'_h, P'_w)``.
        interpolation, antialias: as for :func:`patch_resize_matrix`.

    Returns:
        Images with the same patch grid and patches of size $P'$.

    Shapes:
        ``(B, C, H, W)`` -> ``(B, C, (H/P)·P'_h, (W/P)·P'_w)``; ``(C, H, W)`` likewise.
    """
    check_tensor(images, "images")
    if images.ndim not in (3, 4) or not images.is_floating_point():
        raise ValueError(f"images must be floating-point (B, C, H, W) or (C, H, W), got "
                         f"{images.dtype} of shape {tuple(images.shape)}; convert with "
                         f"images.float() and add a channel axis with unsqueeze if needed")
    x = images.unsqueeze(0) if images.ndim == 3 else images  # (C, H, W) -> (1, C, H, W)
    B, C, H, W = x.shape
    ph, pw = to_pair(patch_size, "patch_size")
    nh, nw = to_pair(new_patch_size, "new_patch_size")
    _check_choice(interpolation, "interpolation", PATCH_INTERPOLATIONS, "e.g. 'bicubic'")
    patches = image_to_patches(x, (ph, pw))  # (B, C, H, W) -> (B, N, C·P·P)
    N = patches.shape[1]
    patches = patches.reshape(B * N, C, ph, pw)  # (B, N, C·P·P) -> (B·N, C, P_h, P_w)
    patches = F.interpolate(patches, size=(nh, nw), mode=interpolation, align_corners=False,
                            antialias=_check_bool(antialias, "antialias"),
                            )  # (B·N, C, P_h, P_w) -> (B·N, C, P'_h, P'_w)
    patches = patches.reshape(B, N, C * nh * nw)  # (B·N, C, P'_h, P'_w) -> (B, N, C·P'·P')
    out = patches_to_image(patches, (nh, nw), (H // ph * nh, W // pw * nw))  # -> (B, C, H', W')
    return out[0] if images.ndim == 3 else out  # (1, C, H', W') -> (C, H', W') when unbatched


# --- 2. 2-D rotary position embeddings ---------------------------------------------------


def _check_head_dim(head_dim: object) -> int:
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
    _check_choice(grid_indexing, "grid_indexing", GRID_INDEXINGS,
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
    d = _check_head_dim(head_dim)
    temperature = _check_positive_number(temperature, "temperature", "RoPE-Axial uses 100")
    work = _work_dtype(_check_float_dtype(dtype))
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
    work = _work_dtype(_check_float_dtype(dtype))
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
    d = _check_head_dim(head_dim)
    check_tensor(angles, "angles")
    if angles.ndim != 1 or not angles.is_floating_point():
        raise ValueError(f"angles must be a floating-point (h,) tensor, one angle per head, got "
                         f"{angles.dtype} of shape {tuple(angles.shape)}; e.g. "
                         f"torch.rand(num_heads) * 2 * math.pi")
    temperature = _check_positive_number(temperature, "temperature", "RoPE-Mixed uses 10")
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
    work = _work_dtype(freqs.dtype)
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


def _check_tokens(z: object, embed_dim: int, name: str) -> torch.Tensor:
    check_tensor(z, name)
    if z.ndim != 3 or z.shape[-1] != embed_dim:
        hint = "; for one image use z.unsqueeze(0)" if z.ndim == 2 else ""
        raise ValueError(f"{name} must have shape (B, T, {embed_dim}) (T = prefix + N tokens of "
                         f"width D = {embed_dim}), got {tuple(z.shape)}{hint}")
    return z


class RoPEAttention(Attention):
    r"""Multi-head self-attention with 2-D RoPE on the patch tokens' queries and keys.

    $$A_{pm} = \mathrm{softmax}_m\big(R_p\,q_p \cdot R_m\,k_m / \sqrt{D_h}\big),$$

    where $R_p$ rotates by the angles of patch $p$ (:func:`apply_rope`).

    The values are not rotated, and neither are the prefix tokens (the class token has no
    position): as naver-ai/rope-vit and timm's ``AttentionRope``. The grid is given at every
    call, so the same weights run at any resolution — there is no table to resize.

    Args:
        embed_dim: $D$.
        num_heads: $h$; $D_h = D / h$ must be a multiple of 4.
        rope: ``"axial"`` (fixed frequencies, :func:`rope_2d_axial`) or ``"mixed"``
            (learnable per-head 2-D frequencies, :func:`rope_2d_mixed`, started from
            :func:`mixed_frequencies` with random angles).
        temperature: ``None`` picks the paper's: 100 for axial, 10 for mixed.
        grid_indexing: ``"xy"`` (column first, naver-ai and timm's rope ViTs) or ``"ij"``.
        num_prefix_tokens: tokens in front of the grid, left unrotated (1: class token).

    Attributes:
        qkv, proj: as :class:`~vit_tutorial.encoder.Attention` (timm's key names).
        freqs: for ``"mixed"``, the learnable ``(2, h, D_h/2)`` frequencies — block ``i``'s
            slice ``rope.freqs[:, i]`` of a timm ``vit_*_rope_mixed_*`` model; else ``None``.

    Shapes:
        x ``(B, prefix + N, D)`` with $N = (H/P)(W/P)$ -> ``(B, prefix + N, D)``; with
        ``return_attention=True`` also the weights ``(B, h, T, T)``.
    """

    def __init__(self, embed_dim: int, num_heads: int, *, rope: str = "axial",
                 temperature: float | None = None, grid_indexing: str = "xy",
                 num_prefix_tokens: int = 1):
        super().__init__(embed_dim, num_heads)
        self.rope = _check_choice(rope, "rope", ROPE_KINDS,
                                  "'axial' (fixed frequencies) or 'mixed' (learned)")
        _check_head_dim(self.head_dim)
        self.temperature = (ROPE_TEMPERATURE[rope] if temperature is None else
                            _check_positive_number(temperature, "temperature",
                                                   "None picks the paper's value"))
        self.grid_indexing = _check_choice(grid_indexing, "grid_indexing", GRID_INDEXINGS,
                                           "'xy' as naver-ai/rope-vit")
        self.num_prefix_tokens = check_num_prefix_tokens(num_prefix_tokens)
        self.register_parameter("freqs", None)
        if rope == "mixed":  # α_h ~ U[0, 2π), as naver-ai/rope-vit and timm
            angles = torch.rand(self.num_heads, device=self.qkv.weight.device) * 2 * math.pi
            self.freqs = nn.Parameter(mixed_frequencies(self.head_dim, angles,
                                                        temperature=self.temperature))

    def rope_tables(self, grid_size: int | tuple[int, int], *,
                    device: torch.device | str | None = None,
                    dtype: torch.dtype = torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
        """``(sin, cos)`` for a grid: ``(N, D_h)`` each (axial) or ``(h, N, D_h)`` (mixed, in
        the dtype and on the device of ``freqs``)."""
        if self.freqs is not None:
            return rope_2d_mixed(self.freqs, grid_size, grid_indexing=self.grid_indexing)
        return rope_2d_axial(grid_size, self.head_dim, temperature=self.temperature,
                             grid_indexing=self.grid_indexing, device=device, dtype=dtype)

    def forward(self, x: torch.Tensor, grid_size: int | tuple[int, int],
                return_attention: bool = False):
        B, T, D = _check_tokens(x, self.embed_dim, "x").shape
        gh, gw = to_pair(grid_size, "grid_size")
        if T != self.num_prefix_tokens + gh * gw:
            raise ValueError(
                f"got {T} tokens, but a {gh}x{gw} grid with num_prefix_tokens="
                f"{self.num_prefix_tokens} needs {self.num_prefix_tokens} + {gh}·{gw} = "
                f"{self.num_prefix_tokens + gh * gw}; pass the grid_size (H/P, W/P) of the "
                f"images the tokens came from"
            )
        qkv = self.qkv(x).reshape(B, T, 3, self.num_heads,
                                  self.head_dim)  # (B, T, 3·D) -> (B, T, 3, h, D_h)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x (B, h, T, D_h)
        sin, cos = self.rope_tables((gh, gw), device=x.device, dtype=_work_dtype(x.dtype))
        q = apply_rope(q, sin, cos, num_prefix_tokens=self.num_prefix_tokens)  # (B, h, T, D_h)
        k = apply_rope(k, sin, cos, num_prefix_tokens=self.num_prefix_tokens)  # (B, h, T, D_h)
        if return_attention:
            scores = q @ k.transpose(-2, -1) * self.head_dim ** -0.5  # (B, h, T, T)
            weights = scores.softmax(dim=-1)  # A, each row sums to 1
            out = weights @ v  # (B, h, T, D_h)
        else:
            out = F.scaled_dot_product_attention(q, k, v)  # fused kernel, same result
        out = out.transpose(1, 2).reshape(B, T, D)  # (B, h, T, D_h) -> (B, T, h·D_h)
        out = self.proj(out)
        return (out, weights) if return_attention else out

    def extra_repr(self) -> str:
        return (f"rope={self.rope!r}, temperature={self.temperature}, "
                f"grid_indexing={self.grid_indexing!r}, num_prefix_tokens={self.num_prefix_tokens}")


class RoPEEncoderBlock(nn.Module):
    r"""The pre-norm block of Eq. 2–3 with :class:`RoPEAttention` (Heo et al. 2024).

    $$z'_\ell = \mathrm{MSA}_\text{RoPE}(\mathrm{LN}(z_{\ell-1}); H/P, W/P) + z_{\ell-1},
    \qquad z_\ell = \mathrm{MLP}(\mathrm{LN}(z'_\ell)) + z'_\ell$$

    Like :class:`~vit_tutorial.encoder.EncoderBlock`, but ``forward`` also takes the patch
    grid, so a block trained on 7×7 patches runs on 14×14 (or 5×9) unchanged. A RoPE ViT
    adds no $E_\text{pos}$ to the tokens: position enters only through these rotations.

    Args:
        embed_dim: $D$.
        num_heads: $h$; $D / h$ must be a multiple of 4.
        mlp_dim: hidden size of the MLP (4·D in the paper's models).
        dropout: dropout after the dense layers; 0 for inference.
        rope, temperature, grid_indexing, num_prefix_tokens: as for :class:`RoPEAttention`.
        layer_scale: ``None`` (the paper's ViT) or the starting value of LayerScale
            (Touvron et al., CaiT, 2021): learned per-channel factors ``gamma_1``,
            ``gamma_2`` on the two branches, $z'_\ell = \gamma_1 \odot \mathrm{MSA}(\dots) +
            z_{\ell-1}$. timm's ``vit_*_patch16_rope_*`` models (which follow the paper's
            DeiT III recipe) use ``1e-5``.

    Shapes:
        z ``(B, prefix + N, D)`` -> ``(B, prefix + N, D)``; with ``return_attention=True``
        also ``(B, h, T, T)``.

    Note:
        Parameter names follow timm (``norm1``, ``attn.qkv``, ``attn.proj``, ``norm2``,
        ``mlp.fc1``, ``mlp.fc2``, ``gamma_1``, ``gamma_2``), so a block of timm's
        ``vit_base_patch16_rope_224`` (an ``EvaBlock`` with ``attn_type='rope'``) loads with
        ``load_state_dict`` into ``RoPEEncoderBlock(..., layer_scale=1e-5)`` and computes the
        same function.

    Example:
        >>> block = RoPEEncoderBlock(64, 4, 256)
        >>> block(torch.randn(2, 1 + 7 * 7, 64), (7, 7)).shape
        torch.Size([2, 50, 64])
        >>> block(torch.randn(2, 1 + 14 * 14, 64), (14, 14)).shape
        torch.Size([2, 197, 64])
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_dim: int, dropout: float = 0.0, *,
                 rope: str = "axial", temperature: float | None = None,
                 grid_indexing: str = "xy", num_prefix_tokens: int = 1,
                 layer_scale: float | None = None):
        super().__init__()
        D = check_positive_int(embed_dim, "embed_dim")
        check_positive_int(mlp_dim, "mlp_dim")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
                or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}; use 0.0 for "
                             f"inference or e.g. 0.1 for training")
        self.norm1 = nn.LayerNorm(D, eps=LAYER_NORM_EPS)
        self.attn = RoPEAttention(D, num_heads, rope=rope, temperature=temperature,
                                  grid_indexing=grid_indexing,
                                  num_prefix_tokens=num_prefix_tokens)
        self.drop = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(D, eps=LAYER_NORM_EPS)
        self.mlp = MLP(D, mlp_dim, dropout)
        self.gamma_1 = self.gamma_2 = None
        if layer_scale is not None:
            scale = _check_positive_number(layer_scale, "layer_scale",
                                           "None for the paper's block, 1e-5 as timm's rope ViTs")
            device = self.norm1.weight.device
            self.gamma_1 = nn.Parameter(torch.full((D,), scale, device=device))  # (D,), on MSA
            self.gamma_2 = nn.Parameter(torch.full((D,), scale, device=device))  # (D,), on MLP

    def forward(self, z: torch.Tensor, grid_size: int | tuple[int, int],
                return_attention: bool = False):
        z = _check_tokens(z, self.attn.embed_dim, "tokens")
        attended = self.attn(self.norm1(z), grid_size, return_attention)  # MSA_RoPE(LN(z_{l-1}))
        if return_attention:
            attended, weights = attended
        mlp_scale = 1.0
        if self.gamma_1 is not None:
            attended, mlp_scale = self.gamma_1 * attended, self.gamma_2  # (D,) * (B, T, D)
        z = z + self.drop(attended)  # Eq. 2: z'_l
        z = z + mlp_scale * self.mlp(self.norm2(z))  # Eq. 3: z_l
        return (z, weights) if return_attention else z


# --- 3. Registers: how large are the patch tokens? --------------------------------------


def token_norms(tokens: torch.Tensor, num_prefix_tokens: int = 1) -> torch.Tensor:
    r"""The L2 norm $\lVert z^i_\ell \rVert$ of every patch token (Darcet et al. 2024).

    "Vision Transformers Need Registers" finds that large, long-trained ViTs (DINOv2,
    OpenCLIP, DeiT III) turn a small share of patch tokens into outliers whose output norms
    are many times the others', mostly in patches that look like their neighbours
    (background). Their attention maps show these tokens as bright specks.

    Args:
        tokens: a layer's output ``(B, prefix + N, D)``, or ``(prefix + N, D)``.
        num_prefix_tokens: tokens in front of the patches, left out (class token, registers).

    Returns:
        The norms of the $N$ patch tokens, in ``tokens``' dtype.

    Shapes:
        ``(B, prefix + N, D)`` -> ``(B, N)``; ``(prefix + N, D)`` -> ``(N,)``
    """
    check_tensor(tokens, "tokens")
    k = check_num_prefix_tokens(num_prefix_tokens)
    if tokens.ndim not in (2, 3) or not tokens.is_floating_point():
        raise ValueError(f"tokens must be a floating-point layer output (B, T, D) or (T, D), got "
                         f"{tokens.dtype} of shape {tuple(tokens.shape)}")
    if tokens.shape[-2] <= k:
        raise ValueError(f"num_prefix_tokens={k} leaves no patch tokens in {tokens.shape[-2]} "
                         f"tokens; pass the number of class and register tokens (usually 1)")
    return torch.linalg.vector_norm(tokens[..., k:, :], dim=-1)  # (B, T, D) -> (B, N, D) -> (B, N)


class HighNormTokens(NamedTuple):
    """What :func:`high_norm_tokens` returns (``(B, ...)`` shapes; no ``B`` for one image)."""

    norms: torch.Tensor  #: ``(B, N)`` patch-token norms
    median: torch.Tensor  #: ``(B,)`` each image's median norm
    threshold: torch.Tensor  #: ``(B,)`` factor × median
    mask: torch.Tensor  #: ``(B, N)`` bool, True for the outliers
    share: torch.Tensor  #: ``()`` fraction of all patch tokens that are outliers


def high_norm_tokens(tokens: torch.Tensor, num_prefix_tokens: int = 1, *,
                     factor: float = 2.0) -> HighNormTokens:
    r"""Find the high-norm outlier tokens: norm above ``factor`` × the image's median norm.

    Darcet et al. (2024) call a DINOv2 ViT-g token an outlier when its output norm exceeds a
    fixed cutoff read off the bimodal histogram of norms (150 there). A cutoff relative to
    each image's median, as here, needs no tuning per model; for the paper's rule use
    ``token_norms(tokens) > 150``.

    Args:
        tokens: a layer's output ``(B, prefix + N, D)`` or ``(prefix + N, D)``.
        num_prefix_tokens: tokens in front of the patches, left out.
        factor: how many medians make an outlier; > 1.

    Returns:
        :class:`HighNormTokens` ``(norms, median, threshold, mask, share)``.

    Shapes:
        norms, mask ``(B, N)``; median, threshold ``(B,)``; share ``()``. Without ``B``
        for a single ``(prefix + N, D)`` sequence.
    """
    factor = _check_positive_number(factor, "factor", "e.g. 2.0 (twice the median norm)")
    if factor <= 1:
        raise ValueError(f"factor must be greater than 1, got {factor}; at or below 1 about "
                         f"half the tokens would count as outliers; try 2.0")
    norms = token_norms(tokens, num_prefix_tokens)  # (B, N)
    median = norms.median(dim=-1).values  # (B, N) -> (B,), the lower median for even N
    threshold = factor * median  # (B,)
    mask = norms > threshold.unsqueeze(-1)  # (B, N) > (B, 1) -> (B, N)
    return HighNormTokens(norms, median, threshold, mask, mask.to(norms.dtype).mean())
