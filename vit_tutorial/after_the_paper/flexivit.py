r"""Lesson 10, part 1 — FlexiViT (Beyer et al., CVPR 2023): a new patch size for the same
filters $E$, by pseudo-inverse resize (see :mod:`vit_tutorial.after_the_paper`)."""

from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F

from vit_tutorial.checks import (
    check_bool,
    check_choice,
    check_divisible,
    check_float_dtype,
    check_size,
    check_tensor,
    to_pair,
    work_dtype,
)
from vit_tutorial.model import VisionTransformer
from vit_tutorial.patch_embedding import PatchEmbedding
from vit_tutorial.patches import image_to_patches, patches_to_image

__all__ = ["PATCH_INTERPOLATIONS", "RESAMPLE_METHODS", "patch_resize_matrix",
           "resample_patch_embed", "resize_patch_embedding", "resize_patches", "with_patch_size"]

#: ``F.interpolate`` modes a patch (or filter) can be resized with, as in timm.
PATCH_INTERPOLATIONS = ("bilinear", "bicubic")
#: How :func:`resample_patch_embed` resizes filters.
RESAMPLE_METHODS = ("pi", "plain")


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
    check_choice(interpolation, "interpolation", PATCH_INTERPOLATIONS,
                  "timm resizes patch embeddings with 'bicubic'")
    check_bool(antialias, "antialias")
    check_size(nh * nw * ph * pw, f"the resize matrix B ({nh}·{nw} × {ph}·{pw})",
               "patch sizes are the sides of one patch in pixels, e.g. 8 to 48")
    basis = torch.eye(ph * pw, device=device, dtype=check_float_dtype(dtype))  # (P², P²)
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
    check_choice(method, "method", RESAMPLE_METHODS,
                  "'pi' keeps tokens unchanged (FlexiViT), 'plain' resizes filters like images")
    D, C, ph, pw = weight.shape
    check_size(D * C * nh * nw, f"the resized weight ({D}, {C}, {nh}, {nw})",
               "new_size is the side of one patch in pixels, e.g. 8 to 48")
    work = work_dtype(weight.dtype)
    if method == "plain":
        check_choice(interpolation, "interpolation", PATCH_INTERPOLATIONS, "e.g. 'bicubic'")
        resized = F.interpolate(weight.to(work), size=(nh, nw), mode=interpolation,
                                align_corners=False, antialias=check_bool(antialias, "antialias"))
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
    check_choice(interpolation, "interpolation", PATCH_INTERPOLATIONS, "e.g. 'bicubic'")
    check_size(B * C * (H // ph * nh) * (W // pw * nw), f"the resized images (B = {B}, C = {C}, "
               f"{H // ph * nh}x{W // pw * nw})", "new_patch_size is the side of one patch in "
               "pixels, e.g. 8 to 48")
    patches = image_to_patches(x, (ph, pw))  # (B, C, H, W) -> (B, N, C·P·P)
    N = patches.shape[1]
    patches = patches.reshape(B * N, C, ph, pw)  # (B, N, C·P·P) -> (B·N, C, P_h, P_w)
    patches = F.interpolate(patches, size=(nh, nw), mode=interpolation, align_corners=False,
                            antialias=check_bool(antialias, "antialias"),
                            )  # (B·N, C, P_h, P_w) -> (B·N, C, P'_h, P'_w)
    patches = patches.reshape(B, N, C * nh * nw)  # (B·N, C, P'_h, P'_w) -> (B, N, C·P'·P')
    out = patches_to_image(patches, (nh, nw), (H // ph * nh, W // pw * nw),
                           in_channels=C)  # (B, N, C·P'·P') -> (B, C, H', W')
    return out[0] if images.ndim == 3 else out  # (1, C, H', W') -> (C, H', W') when unbatched


def with_patch_size(model: VisionTransformer, patch_size: int | tuple[int, int], *,
                    image_size: int | tuple[int, int] | None = None, method: str = "pi",
                    pos_mode: str = "bicubic") -> VisionTransformer:
    r"""A copy of a trained ViT that cuts its images into patches of another size (FlexiViT).

    Two things depend on $P$: the filters $E$, resized here by :func:`resample_patch_embed`
    (``method``), and the patch grid $(H/P', W/P')$. If the grid changes, $E_\text{pos}$ is
    resized to it as in lesson 06 (:meth:`~vit_tutorial.model.VisionTransformer.resized`:
    learned tables interpolated with ``pos_mode``, a sine–cosine table rebuilt). Every other
    weight is copied.

    Args:
        model: a trained :class:`~vit_tutorial.model.VisionTransformer` (e.g. TinyViT).
        patch_size: the new $P'$, or ``(P'_h, P'_w)``.
        image_size: the image size the copy takes. ``None`` keeps the patch grid (TinyViT's
            7×7 at $P' = 8$ means 56×56 images), so $E_\text{pos}$ stays as it is; the
            original image size with a new $P'$ changes the grid (28×28 at $P' = 7$: 4×4).
        method: ``"pi"`` (FlexiViT's PI-resize) or ``"plain"`` (filters resized as images).
        pos_mode: the interpolation for a learned $E_\text{pos}$ (lesson 06's default).

    Returns:
        A new model of the same class, in ``model``'s train/eval mode.

    Shapes:
        ``patch_embed.proj.weight`` ``(D, C, P, P)`` -> ``(D, C, P', P')``; ``pos_embed``
        ``(1, k + N, D)`` -> ``(1, k + N', D)``, $N' = (H'/P')(W'/P')$.

    Example:
        >>> tiny = load_tiny_vit()  # 28×28, P = 4, 7×7 grid
        >>> with_patch_size(tiny, 8).config.image_size  # the same 7×7 grid
        56
        >>> with_patch_size(tiny, 7, image_size=28).patch_embed.grid_size
        (4, 4)
    """
    if not isinstance(model, VisionTransformer):
        raise TypeError(f"model must be a vit_tutorial VisionTransformer, got "
                        f"{type(model).__name__}; for a bare Conv2d weight use "
                        f"resample_patch_embed(weight, new_size)")
    ph, pw = to_pair(patch_size, "patch_size")
    gh, gw = model.patch_embed.grid_size
    size = (gh * ph, gw * pw) if image_size is None else to_pair(image_size, "image_size")
    nh, nw = check_divisible(size, (ph, pw))  # the new grid (H'/P', W'/P')
    old_ph, old_pw = model.patch_embed.patch_size
    moved = model.resized((nh * old_ph, nw * old_pw), mode=pos_mode)  # E_pos on the new grid
    state = moved.state_dict()
    key = "patch_embed.proj.weight"
    state[key] = resample_patch_embed(state[key], (ph, pw), method=method)  # (D, C, P', P')
    config = replace(moved.config, image_size=size, patch_size=(ph, pw))
    return type(model).from_state_dict(config, state).train(model.training)
