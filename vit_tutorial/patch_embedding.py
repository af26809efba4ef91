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

from vit_tutorial._checks import (
    check_divisible,
    check_like_weights,
    check_positive_int,
    check_tensor,
    to_pair,
)
from vit_tutorial.patches import image_to_patches

__all__ = ["PatchEmbedding", "LinearPatchEmbedding", "plot_embedding_channels",
           "plot_principal_components", "plot_rgb_tokens", "principal_components"]


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


def plot_embedding_channels(tokens: torch.Tensor, grid_size: int | tuple[int, int],
                            channels=(0, 1, 2, 3), axes=None):
    """Show a few embedding channels of one image's tokens as maps over the patch grid.

    Args:
        tokens: ``(N, D)`` patch embeddings of one image (no class token).
        grid_size: ``(H/P, W/P)``, the patch grid the tokens came from.
        channels: which of the $D$ channels to draw.
        axes: matplotlib ``Axes``, one per channel; a new figure is made if ``None``.

    Returns:
        ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt

    check_tensor(tokens, "tokens")
    gh, gw = to_pair(grid_size, "grid_size")
    if tokens.ndim != 2 or tokens.shape[0] != gh * gw:
        raise ValueError(
            f"tokens must have shape (N, D) with N = {gh}·{gw} = {gh * gw}, got "
            f"{tuple(tokens.shape)}; pass one image's tokens, e.g. tokens[0], "
            f"without the class token"
        )
    channels = list(channels)
    D = tokens.shape[1]
    for ch in channels:
        if not 0 <= ch < D:
            raise ValueError(f"channel {ch} is out of range for D = {D}; "
                             f"pick channels in 0..{D - 1}")
    maps = tokens.detach().cpu().T.reshape(D, gh, gw)  # (N, D) -> (D, N) -> (D, H/P, W/P)
    if axes is None:
        fig, axes = plt.subplots(1, len(channels), figsize=(2.6 * len(channels), 2.8),
                                 squeeze=False, layout="constrained")
        axes = axes[0]
    fig = axes[0].figure
    for ax, ch in zip(axes, channels):
        im = ax.imshow(maps[ch].numpy(), cmap="viridis")
        ax.set_title(f"channel {ch}")
        ax.set_xlabel("patch column")
        ax.set_ylabel("patch row")
        fig.colorbar(im, ax=ax, shrink=0.8, label="value")
    return fig, axes


def plot_rgb_tokens(tokens: torch.Tensor, grid_size: int | tuple[int, int], titles=None, axes=None):
    r"""Draw sequences of 3-channel tokens ($D = 3$) as small RGB pictures over the patch grid.

    Token $i$ is put back at grid position ``(i // (W/P), i % (W/P))`` (row-major, the order
    of :func:`~vit_tutorial.patches.image_to_patches`) and its three channels are shown as
    red, green and blue. If each token holds its patch's mean colour, a correctly ordered
    sequence shows a tiny copy of the image; a scrambled one shows that it is scrambled.

    Args:
        tokens: ``(K, N, 3)`` — ``K`` sequences to compare side by side — or ``(N, 3)`` for
            one. Values are shown as colours in [0, 1] (values outside are clipped).
        grid_size: ``(H/P, W/P)``, the patch grid the tokens came from.
        titles: one title per sequence; ``"sequence 0"``, … if ``None``.
        axes: matplotlib ``Axes``, one per sequence; a new figure is made if ``None``.

    Returns:
        ``(fig, axes)``.

    Shapes:
        tokens ``(K, N, 3)`` -> ``K`` panels of ``(H/P, W/P)`` RGB pixels

    Note:
        The panels are RGB pictures, so they have no colour bar: each pixel's colour *is*
        the token's three values.
    """
    import matplotlib.pyplot as plt

    check_tensor(tokens, "tokens")
    gh, gw = to_pair(grid_size, "grid_size")
    x = tokens.detach().cpu().float()
    x = x.unsqueeze(0) if x.ndim == 2 else x  # (N, 3) -> (1, N, 3)
    if x.ndim != 3 or x.shape[1] != gh * gw or x.shape[2] != 3:
        raise ValueError(
            f"tokens must have shape (K, N, 3) or (N, 3) with N = {gh}·{gw} = {gh * gw}, got "
            f"{tuple(tokens.shape)}; pass tokens with D = 3 channels (e.g. from a "
            f"PatchEmbedding(..., embed_dim=3)) and no class token"
        )
    K = x.shape[0]
    titles = [f"sequence {k}" for k in range(K)] if titles is None else list(titles)
    if len(titles) != K:
        raise ValueError(f"got {len(titles)} titles for {K} sequences; pass one title per sequence")
    if axes is None:
        fig, axes = plt.subplots(1, K, figsize=(3.4 * K, 3.6), squeeze=False, layout="constrained")
        axes = list(axes[0])
    else:
        axes = list(axes)
        if len(axes) != K:
            raise ValueError(f"got {len(axes)} axes for {K} sequences; pass one Axes per sequence")
    fig = axes[0].figure
    pictures = x.reshape(K, gh, gw, 3).clamp(0, 1)  # (K, N, 3) -> (K, H/P, W/P, 3), row-major
    for ax, picture, title in zip(axes, pictures, titles):
        ax.imshow(picture.numpy())
        ax.set_title(title)
        ax.set_xlabel("patch column")
        ax.set_ylabel("patch row")
    return fig, axes


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


def plot_principal_components(components: torch.Tensor, explained: torch.Tensor, *,
                              ncols: int = 8, title: str | None = None, fig=None):
    r"""Draw Figure 7 (left): the principal components of the patch-embedding filters $E$.

    Each component is a ``(C, P, P)`` filter, drawn as a small image with its number (from
    0, as the code counts) and its share of the variance. Grayscale filters (``C = 1``) share
    one colour scale, symmetric about 0 (black negative, mid-grey 0, white positive), shown
    by one colour bar. RGB filters (``C = 3``) are drawn as colour images, each rescaled to
    [0, 1] on its own, as the paper does; they get no colour bar.

    Args:
        components: ``(k, C, P, P)`` from
            :func:`~vit_tutorial.patch_embedding.principal_components`.
        explained: ``(k,)`` fractions of variance, from the same call.
        ncols: images per row.
        title: the figure's title; ``None`` for none.
        fig: an empty matplotlib ``Figure`` to draw into; a new one if ``None``.

    Returns:
        ``(fig, axes)``, ``axes`` a NumPy array of ``Axes`` of shape ``(rows, ncols)``
        (unused ones switched off).

    Shapes:
        ``(k, C, P, P)`` and ``(k,)`` -> ``k`` images of ``P × P`` pixels

    Example:
        >>> components, explained = principal_components(model.patch_embed, k=16)
        >>> fig, axes = plot_principal_components(components, explained)
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    check_tensor(components, "components")
    check_tensor(explained, "explained")
    if components.ndim != 4 or components.shape[1] not in (1, 3):
        raise ValueError(f"components must have shape (k, C, P, P) with C = 1 or 3, got "
                         f"{tuple(components.shape)}; compute them with "
                         f"principal_components(model.patch_embed, k)")
    k, C = components.shape[:2]
    if explained.shape != (k,):
        raise ValueError(f"explained must have shape ({k},), one fraction per component, got "
                         f"{tuple(explained.shape)}; pass both results of the same "
                         f"principal_components call")
    ncols = min(check_positive_int(ncols, "ncols"), k)
    nrows = -(-k // ncols)  # ceil(k / ncols)
    values = components.detach().cpu().float()  # (k, C, P, P)
    shares = explained.detach().cpu().float()
    if fig is None:
        fig = plt.figure(figsize=(1.05 * ncols + (1.0 if C == 1 else 0.3), 1.25 * nrows + 0.6),
                         layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    limit = values.abs().max().item() or 1.0
    norm = Normalize(-limit, limit)  # one symmetric scale for every grayscale component
    for index, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if index >= k:
            ax.axis("off")
            continue
        if C == 1:
            ax.imshow(values[index, 0].numpy(), cmap="gray", norm=norm, interpolation="nearest")
        else:
            rgb = values[index].permute(1, 2, 0)  # (C, P, P) -> (P, P, C) for imshow
            rgb = (rgb - rgb.min()) / (rgb.max() - rgb.min()).clamp_min(1e-12)  # each to [0, 1]
            ax.imshow(rgb.numpy(), interpolation="nearest")
        ax.set_title(f"PC {index}\n{100 * shares[index].item():.1f} %", fontsize=8)  # from 0
    if C == 1:
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="gray"), ax=axes, shrink=0.8,
                     label="component value")
    if title:
        fig.suptitle(title)
    return fig, axes
