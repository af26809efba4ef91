r"""Lesson 02 — patch embeddings: the trainable linear projection $E$ of Eq. 1.

$$z_0 = [x_\text{class};\, x_p^1 E;\, x_p^2 E;\, \dots;\, x_p^N E] + E_\text{pos},
\qquad E \in \mathbb{R}^{(P^2 \cdot C) \times D}$$

Two ways to write $x_p E$, which compute the same function:

- :class:`LinearPatchEmbedding` — cut the patches (lesson 01), flatten, ``nn.Linear``.
  This is Eq. 1 as the paper writes it.
- :class:`PatchEmbedding` — one ``Conv2d(C, D, kernel_size=P, stride=P)``. Each output
  position of the convolution sees exactly one patch, and its weight
  ``(D, C, P, P)`` reshaped to ``(D, C·P·P)`` is $E^\top$. This is what timm,
  torchvision and the original code use, because it is faster and needs no reshaping.

Note:
    A Conv2d on the raw image is *not* the paper's "hybrid" model (Sec. 3.1). The hybrid
    model feeds the Transformer with patches of a CNN's *feature map*; here the
    convolution is just Eq. 1's linear projection written differently.
"""

from __future__ import annotations

import torch
from torch import nn

from vit_tutorial.checks import (
    check_divisible,
    check_like_weights,
    check_positive_int,
    check_tensor,
    to_pair,
)
from vit_tutorial.names import moved
from vit_tutorial.patches import image_to_patches

__all__ = ["PatchEmbedding", "LinearPatchEmbedding", "principal_components"]
# Old homes of the lesson's drawing, now in its figures module: a clear error names it.
__getattr__ = moved(__name__, {
    name: f"vit_tutorial.patch_embedding_figures.{name}" for name in (
        "plot_embedding_channels", "plot_rgb_tokens", "plot_principal_components")})


class _PatchEmbeddingBase(nn.Module):
    """Sizes and input checks shared by the two ways of writing Eq. 1."""

    def __init__(self, image_size, patch_size, in_channels, embed_dim):
        super().__init__()
        self.image_size = to_pair(image_size, "image_size")  # (H, W)
        self.patch_size = to_pair(patch_size, "patch_size")  # (P_h, P_w)
        self.grid_size = check_divisible(self.image_size, self.patch_size)  # (H/P, W/P)
        self.num_patches = self.grid_size[0] * self.grid_size[1]  # N
        self.in_channels = check_positive_int(in_channels, "in_channels")  # C
        self.embed_dim = check_positive_int(embed_dim, "embed_dim")  # D

    def _check_images(self, images: object) -> torch.Tensor:
        name = type(self).__name__
        check_tensor(images, "images")
        if images.ndim != 4:
            hint = "; for a single image use images.unsqueeze(0)" if images.ndim == 3 else ""
            raise ValueError(
                f"{name} expects a batch of images (B, C, H, W), got {images.ndim} dimensions "
                f"{tuple(images.shape)}{hint}"
            )
        C, H, W = images.shape[1:]
        if C != self.in_channels and W == self.in_channels:
            raise ValueError(
                f"{name} expects channels first, (B, C, H, W), but images {tuple(images.shape)} "
                f"look channels-last (B, H, W, C); use images.permute(0, 3, 1, 2)"
            )
        if C != self.in_channels:
            raise ValueError(
                f"{name} was built for in_channels={self.in_channels}, got images with {C} "
                f"channels (shape {tuple(images.shape)}); convert the images (e.g. RGB for 3) "
                f"or build it with in_channels={C}"
            )
        if (H, W) != self.image_size:
            raise ValueError(
                f"{name} was built for {self.image_size[0]}x{self.image_size[1]} images, got "
                f"{H}x{W}; resize the images to {self.image_size[0]}x{self.image_size[1]} or "
                f"build it with image_size=({H}, {W}) (its position embeddings would change too)"
            )
        if not images.is_floating_point():
            raise TypeError(
                f"{name} expects floating-point images, got dtype {images.dtype}; convert "
                f"with torchvision.transforms.v2.ToDtype(torch.float32, scale=True)"
            )
        return check_like_weights(images, "images", self.proj.weight, name)

    def extra_repr(self) -> str:
        return (f"image_size={self.image_size}, patch_size={self.patch_size}, "
                f"num_patches={self.num_patches}")


class PatchEmbedding(_PatchEmbeddingBase):
    r"""Eq. 1's projection $x_p E$ as one ``Conv2d`` with kernel = stride = $P$.

    Args:
        image_size: $H$ = $W$, or ``(H, W)``; fixed (see Note).
        patch_size: $P$, or ``(P_h, P_w)``; must divide the image size.
        in_channels: $C$.
        embed_dim: $D$, the Transformer's width.

    Attributes:
        proj: the ``Conv2d``; ``proj.weight`` has shape ``(D, C, P, P)`` and
            ``proj.weight.reshape(D, -1)`` is $E^\top$. Named ``proj`` (state-dict key
            ``patch_embed.proj.*`` inside a ViT) as in timm, so real weights load.
        grid_size: ``(H/P, W/P)``.
        num_patches: $N$.

    Shapes:
        images ``(B, C, H, W)`` -> tokens ``(B, N, D)``

    Note:
        The module checks that images have the size it was built for, like timm's
        ``PatchEmbed``: the position embeddings that follow (lesson 04) have one row per
        patch, so a different size needs a new module and resized embeddings (lesson 06).
    """

    def __init__(self, image_size: int | tuple[int, int] = 224,
                 patch_size: int | tuple[int, int] = 16,
                 in_channels: int = 3, embed_dim: int = 768):
        super().__init__(image_size, patch_size, in_channels, embed_dim)
        self.proj = nn.Conv2d(self.in_channels, self.embed_dim,
                              kernel_size=self.patch_size, stride=self.patch_size)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.proj(self._check_images(images))  # (B, C, H, W) -> (B, D, H/P, W/P)
        return x.flatten(2).transpose(1, 2)  # (B, D, H/P, W/P) -> (B, D, N) -> (B, N, D)


class LinearPatchEmbedding(_PatchEmbeddingBase):
    r"""Eq. 1's projection $x_p E$ written as the paper writes it: flatten, then Linear.

    Args:
        image_size, patch_size, in_channels, embed_dim: as for :class:`PatchEmbedding`.

    Attributes:
        proj: ``nn.Linear(C·P·P, D)``. PyTorch stores $E^\top$: ``proj.weight`` has shape
            ``(D, C·P·P)``; its columns follow the patch vectors' (C, P, P) order.

    Shapes:
        images ``(B, C, H, W)`` -> patches ``(B, N, C·P·P)`` -> tokens ``(B, N, D)``

    Copying weights proves the two modules compute the same function:

    >>> conv = PatchEmbedding(32, 16, 3, 8)
    >>> linear = LinearPatchEmbedding.from_conv(conv)
    >>> x = torch.rand(2, 3, 32, 32)
    >>> torch.testing.assert_close(linear(x), conv(x))
    >>> torch.testing.assert_close(linear.to_conv()(x), conv(x))
    """

    def __init__(self, image_size: int | tuple[int, int] = 224,
                 patch_size: int | tuple[int, int] = 16,
                 in_channels: int = 3, embed_dim: int = 768):
        super().__init__(image_size, patch_size, in_channels, embed_dim)
        ph, pw = self.patch_size
        self.proj = nn.Linear(self.in_channels * ph * pw, self.embed_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        patches = image_to_patches(self._check_images(images), self.patch_size)  # (B, N, C·P·P)
        return self.proj(patches)  # (B, N, C·P·P) -> (B, N, D)

    @classmethod
    def from_conv(cls, conv_embedding: PatchEmbedding) -> LinearPatchEmbedding:
        """A :class:`LinearPatchEmbedding` holding a copy of a :class:`PatchEmbedding`'s weights.

        The Conv2d weight ``(D, C, P, P)`` is reshaped to ``(D, C·P·P)``; the bias is copied.
        """
        if not isinstance(conv_embedding, PatchEmbedding):
            raise TypeError(f"from_conv expects a PatchEmbedding, got "
                            f"{type(conv_embedding).__name__}")
        linear = cls(conv_embedding.image_size, conv_embedding.patch_size,
                     conv_embedding.in_channels, conv_embedding.embed_dim)
        conv = conv_embedding.proj
        linear = linear.to(device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            linear.proj.weight.copy_(
                conv.weight.reshape(conv.out_channels, -1))  # (D, C, P, P) -> (D, C·P·P)
            linear.proj.bias.copy_(conv.bias)
        return linear

    def to_conv(self) -> PatchEmbedding:
        """A :class:`PatchEmbedding` holding a copy of this module's weights (the inverse of
        :meth:`from_conv`)."""
        conv_embedding = PatchEmbedding(self.image_size, self.patch_size,
                                        self.in_channels, self.embed_dim)
        weight = self.proj.weight
        conv_embedding = conv_embedding.to(device=weight.device, dtype=weight.dtype)
        with torch.no_grad():
            conv_embedding.proj.weight.copy_(
                weight.reshape(conv_embedding.proj.weight.shape))  # (D, C·P·P) -> (D, C, P, P)
            conv_embedding.proj.bias.copy_(self.proj.bias)
        return conv_embedding


def principal_components(embedding: PatchEmbedding, k: int = 28):
    r"""Figure 7 (left): the top principal components of the patch-embedding filters $E$.

    Each of the $D$ filters is a ``C·P·P`` vector (a row of ``proj.weight.reshape(D, -1)``).
    After subtracting their mean, the right singular vectors of the ``(D, C·P·P)`` matrix are
    the principal directions; the paper shows the first 28 of ViT-L/32's as RGB images.

    Args:
        embedding: a :class:`PatchEmbedding` (e.g. ``model.patch_embed``).
        k: how many components, at most ``min(D, C·P·P)``.

    Returns:
        ``(components, explained)``: ``(k, C, P, P)`` filters (unit norm, sign fixed so the
        largest entry is positive) and the fraction of variance each explains ``(k,)``.
    """
    if not isinstance(embedding, PatchEmbedding):
        raise TypeError(f"principal_components expects a PatchEmbedding (model.patch_embed), "
                        f"got {type(embedding).__name__}")
    weight = embedding.proj.weight.detach().cpu().double()  # (D, C, P, P)
    D = weight.shape[0]
    k = check_positive_int(k, "k")
    if k > min(D, weight[0].numel()):
        raise ValueError(f"k must be at most min(D, C·P·P) = {min(D, weight[0].numel())}, got {k}")
    filters = weight.reshape(D, -1)  # (D, C, P, P) -> (D, C·P·P)
    centred = filters - filters.mean(dim=0)  # (D, C·P·P)
    _, singular, vh = torch.linalg.svd(centred, full_matrices=False)  # vh: (r, C·P·P)
    components = vh[:k]
    sign = torch.sign(components.gather(1, components.abs().argmax(1, keepdim=True)))  # (k, 1)
    components = components * sign
    explained = singular**2 / (singular**2).sum()
    return components.reshape(k, *weight.shape[1:]).float(), explained[:k].float()  # (k, C, P, P)
