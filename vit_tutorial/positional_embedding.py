r"""Lesson 04 — position embeddings $E_\text{pos}$ (Sec. 3.1, Eq. 1; Appendix D.4).

$$z_0 = [x_\text{class};\, x_p^1 E;\, x_p^2 E;\, \dots;\, x_p^N E] + E_\text{pos},
\qquad E_\text{pos} \in \mathbb{R}^{(N+1) \times D}$$

Self-attention treats its input as a *set*: shuffle the patches and every token comes out
the same, only shuffled. Adding one learnable vector per position gives each token a
"where was I" signature. The paper uses the simplest kind, a learnable 1-D table with one
row per sequence position (the class token's included), and reports no significant gain
from 2-D-aware variants (Sec. 3.1; Appendix D.4, Table 8: none 0.614, 1-D 0.642,
2-D 0.640, relative 0.640 — a big gap to "none", little between the kinds).

- :class:`PositionalEmbedding` — the paper's learned table, a parameter named
  ``pos_embed`` as in timm, so real weights load.
- :func:`sincos_2d_pos_embed` — a fixed 2-D sine–cosine table, for comparison only
  (used by MAE and by the "simple ViT" follow-ups, not by this paper).
"""

from __future__ import annotations

import torch
from torch import nn

from vit_tutorial._checks import (
    check_float_dtype,
    check_num_prefix_tokens,
    check_positive_int,
    check_positive_number,
    check_same_device,
    check_size,
    check_tensor,
    to_pair,
    work_dtype,
)
from vit_tutorial.figures import draw_patch_grid, label_patch, to_hwc
from vit_tutorial.patches import image_to_patches, patches_to_image

__all__ = ["PositionalEmbedding", "sincos_2d_pos_embed", "plot_shuffled_patches",
           "plot_pos_embed_channels"]



class PositionalEmbedding(nn.Module):
    r"""Eq. 1's $+\,E_\text{pos}$: a learnable vector per position, added to every token.

    Args:
        num_patches: $N$, the number of patches (196 for ViT-B/16 at 224×224).
        embed_dim: $D$.
        num_prefix_tokens: tokens in front of the patches that also get a position
            embedding: 1 for the class token (the paper), 0 for none.

    Attributes:
        pos_embed: ``nn.Parameter`` of shape ``(1, N + 1, D)`` — timm's key name, so real
            weights load. Row 0 belongs to the class token, rows 1.. to the patches in
            row-major order (the order of lesson 01).
        num_patches: $N$.
        num_prefix_tokens: 1 with a class token.
        embed_dim: $D$.

    Shapes:
        - tokens ``(B, N + 1, D)`` -> ``(B, N + 1, D)`` (the same table for every image)
        - tokens ``(N + 1, D)`` -> ``(N + 1, D)`` for one image

    Note:
        The table starts as normal noise with std 0.02, as in the original code
        (``nn.init.normal_``). timm draws it with ``trunc_normal_(std=0.02)``, whose default
        cut-offs ``a=-2, b=2`` are *absolute* values, 100 standard deviations out — the same
        distribution in practice; we keep the plain normal because its random stream is the
        same in every PyTorch version (``trunc_normal_``'s changed between 2.11 and 2.14), so
        a seeded model starts from the same table everywhere. The table has a fixed length:
        images of another size give another $N$ and need resized embeddings (lesson 06,
        Sec. 3.2).

    Example:
        >>> pos = PositionalEmbedding(196, 768)
        >>> pos.pos_embed.shape
        torch.Size([1, 197, 768])
        >>> pos(torch.zeros(2, 197, 768)).shape
        torch.Size([2, 197, 768])
    """

    def __init__(self, num_patches: int, embed_dim: int, num_prefix_tokens: int = 1):
        super().__init__()
        self.num_patches = check_positive_int(num_patches, "num_patches")  # N
        self.embed_dim = check_positive_int(embed_dim, "embed_dim")  # D
        self.num_prefix_tokens = check_num_prefix_tokens(num_prefix_tokens)  # 1 = class token
        num_positions = self.num_prefix_tokens + self.num_patches  # N + 1
        check_size(num_positions * self.embed_dim,
                   f"E_pos ({num_positions} positions × D = {self.embed_dim})",
                   "num_patches is N = (H/P)·(W/P), the patches of one image (196 for "
                   "ViT-B/16 at 224×224)")
        # E_pos: (1, N + 1, D)
        self.pos_embed = nn.Parameter(torch.empty(1, num_positions, self.embed_dim))
        nn.init.normal_(self.pos_embed, std=0.02)  # the original code's initialisation

    def _describe(self, count: int) -> str:
        """``"197 tokens = 1 class token + 196 patches"`` for a sequence length."""
        patches = count - self.num_prefix_tokens
        if self.num_prefix_tokens == 0:
            return f"{count} tokens ({count} patches, no class token)"
        prefix = ("1 class token" if self.num_prefix_tokens == 1
                  else f"{self.num_prefix_tokens} prefix tokens")
        return f"{count} tokens = {prefix} + {patches} patches"

    def _check_tokens(self, tokens: object) -> torch.Tensor:
        check_tensor(tokens, "tokens")
        if tokens.ndim not in (2, 3):
            raise ValueError(
                f"PositionalEmbedding expects tokens of shape (B, N + {self.num_prefix_tokens}, D) "
                f"or (N + {self.num_prefix_tokens}, D), got {tokens.ndim} dimensions "
                f"{tuple(tokens.shape)}; pass the sequence z_0 before the encoder, e.g. "
                f"ClassToken(D)(PatchEmbedding(...)(images))"
            )
        T, D = self.pos_embed.shape[1], self.embed_dim
        if tokens.shape[-1] != D:
            raise ValueError(
                f"tokens have embedding dimension {tokens.shape[-1]} but pos_embed has {D}; "
                f"build the position embedding with embed_dim={tokens.shape[-1]} (the D of the "
                f"patch embedding)"
            )
        got = tokens.shape[-2]
        if got != T:
            expected = f"expected {self._describe(T)}, got {got} tokens"
            if self.num_prefix_tokens and got == self.num_patches:
                fix = ("it looks like the class token is missing: prepend it first "
                       "(ClassToken, lesson 03), then add the position embeddings")
            elif got == self.num_patches + 2 * self.num_prefix_tokens:
                fix = "it looks like the class token was prepended twice"
            elif self.num_prefix_tokens == 0 and got == self.num_patches + 1:
                fix = ("a class token was prepended, but this table has no row for it "
                       "(num_prefix_tokens=0); build it with num_prefix_tokens=1, or add the "
                       "position embeddings before prepending the class token")
            else:
                fix = (f"the images give {got - self.num_prefix_tokens} patches, not "
                       f"{self.num_patches}, so they have another resolution than the "
                       f"embeddings were made for; resize the position embeddings to the new "
                       f"patch grid with vit_tutorial.interpolation.resize_pos_embed (lesson 06, "
                       f"Sec. 3.2), or resize the images back")
            raise ValueError(f"{expected}: {fix}")
        if not tokens.is_floating_point():
            raise TypeError(f"tokens must be floating point, got {tokens.dtype}; convert with "
                            f".float()")
        check_same_device(tokens, "tokens", self.pos_embed, "E_pos", "the PositionalEmbedding")
        return tokens

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        tokens = self._check_tokens(tokens)
        # (1, N + 1, D), or (N + 1, D) for unbatched tokens
        pos = self.pos_embed if tokens.ndim == 3 else self.pos_embed[0]
        pos = pos.to(tokens.dtype)  # computed in the tokens' dtype, as every module of the course
        return tokens + pos  # (B, N + 1, D) + (1, N + 1, D) -> (B, N + 1, D), broadcast over B

    def extra_repr(self) -> str:
        return (f"num_patches={self.num_patches}, embed_dim={self.embed_dim}, "
                f"num_prefix_tokens={self.num_prefix_tokens}")


def sincos_2d_pos_embed(grid_size: int | tuple[int, int], embed_dim: int, *,
                        temperature: float = 10000.0, device: torch.device | str | None = None,
                        dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""A fixed 2-D sine–cosine position table, one row per patch (for comparison).

    Patch $(r, c)$ of the grid (row $r$, column $c$, counted from 0) gets

    $$e_{(r, c)} = \big[\sin(r\,\omega_k)\big]_k \,\|\, \big[\sin(c\,\omega_k)\big]_k
    \,\|\, \big[\cos(r\,\omega_k)\big]_k \,\|\, \big[\cos(c\,\omega_k)\big]_k,
    \qquad \omega_k = \text{temperature}^{-k/(D/4)},\; k = 0, \dots, D/4 - 1,$$

    so half of the $D$ channels encode the row and half the column, each as $D/4$ sines
    and $D/4$ cosines. Rows of the table follow the patches in row-major order, like
    :func:`vit_tutorial.patches.image_to_patches`. Nothing here is learned.

    Args:
        grid_size: the patch grid ``(H/P, W/P)``, or one int for a square grid.
        embed_dim: $D$; must be divisible by 4.
        temperature: the base of the frequencies, 10000 as in the Transformer paper.
        device: where to build it (the device of the tokens it will be added to).
        dtype: a floating dtype (float32 by default; the angles are computed in float64
            first, so float64 tables are exact).

    Returns:
        A tensor of ``dtype``; row ``r * (W/P) + c`` is patch $(r, c)$. No class-token row:
        MAE, for instance, prepends a zero row for it.

    Shapes:
        ``(N, D)`` with $N = (H/P) \cdot (W/P)$.

    Note:
        The paper does **not** use this table: it learns a 1-D table (Sec. 3.1), and in
        Appendix D.4 found no significant difference between kinds of position embeddings.
        The channel layout and frequencies match timm's
        ``timm.layers.pos_embed_sincos.build_sincos2d_pos_embed`` with its defaults,
        value for value. Other codes permute the channels: MAE's
        ``get_2d_sincos_pos_embed`` orders them $[\sin c, \cos c, \sin r, \cos r]$ (same
        frequencies); big_vision's and vit-pytorch's ``posemb_sincos_2d`` use that order
        and $\omega_k = \text{temperature}^{-k/(D/4 - 1)}$. A permutation of channels changes
        no dot product, so the similarity plots of lesson 05 look the same.

    Example:
        >>> table = sincos_2d_pos_embed((7, 7), 64)
        >>> table.shape
        torch.Size([49, 64])
        >>> table[0, :16].abs().max().item()  # sin(0·ω) = 0 for the top-left patch
        0.0
    """
    gh, gw = to_pair(grid_size, "grid_size")  # (H/P, W/P)
    D = check_positive_int(embed_dim, "embed_dim")
    if D % 4 != 0:
        lower = max(4, D - D % 4)
        raise ValueError(
            f"embed_dim {D} is not divisible by 4; a 2-D sine-cosine table needs D/4 sines and "
            f"D/4 cosines for the row and for the column: use a multiple of 4 (e.g. {lower} or "
            f"{lower + 4})"
        )
    temperature = check_positive_number(temperature, "temperature", "the usual value is 10000")
    dtype = check_float_dtype(dtype)
    check_size(gh * gw * D, f"a {gh}x{gw} sine-cosine table of width {D}",
               "grid_size counts patches, (H/P, W/P), not pixels")
    work = work_dtype(dtype)  # float32, as timm, unless float64 is asked for
    k = torch.arange(D // 4, dtype=torch.int64, device=device).to(work)  # (D/4,)
    omega = 1.0 / (temperature ** (k / (D // 4)))  # (D/4,) frequencies, 1 down to ~1/temperature
    rows, cols = torch.meshgrid(torch.arange(gh, dtype=work, device=device),
                                torch.arange(gw, dtype=work, device=device),
                                indexing="ij")  # (H/P, W/P) each
    r = rows.reshape(-1, 1) * omega  # (H/P, W/P) -> (N, 1) * (D/4,) -> (N, D/4)
    c = cols.reshape(-1, 1) * omega  # (H/P, W/P) -> (N, 1) * (D/4,) -> (N, D/4)
    table = torch.cat([r.sin(), c.sin(), r.cos(), c.cos()], dim=1)  # 4 × (N, D/4) -> (N, D)
    return table.to(dtype)


# --- figures for lesson 04 -------------------------------------------------------------


def _check_permutation(permutation: object, count: int) -> torch.Tensor:
    """Return ``permutation`` as an int64 tensor if it is a permutation of ``0 … count-1``."""
    if isinstance(permutation, (list, tuple)):
        permutation = torch.tensor(permutation)
    check_tensor(permutation, "permutation")
    if (permutation.ndim != 1 or permutation.is_floating_point() or permutation.is_complex()
            or permutation.dtype == torch.bool or len(permutation) != count
            or not torch.equal(permutation.sort().values.cpu(), torch.arange(count))):
        raise ValueError(
            f"permutation must be a 1-D integer tensor holding each of 0 … {count - 1} once "
            f"(one entry per patch), got shape {tuple(permutation.shape)} and dtype "
            f"{permutation.dtype}; make one with torch.randperm({count})"
        )
    return permutation.cpu().to(torch.int64)


def plot_shuffled_patches(image: torch.Tensor, patch_size: int | tuple[int, int],
                          permutation: torch.Tensor, axes=None):
    r"""Show an image beside the same image with its patches shuffled.

    The right panel puts patch ``permutation[i]`` of the image at place ``i`` of the grid
    (row-major), i.e. it is ``patches_to_image(image_to_patches(image, P)[permutation])``.
    Each patch is labelled with its place in the original image, so the reader can see where
    it came from. Without $E_\text{pos}$ both panels are the same input to the encoder (as a
    set of patch tokens): only the position embeddings tell them apart.

    Args:
        image: ``(C, H, W)``, floats in [0, 1] or uint8 (one channel is drawn in grey).
        patch_size: $P$, or ``(P_h, P_w)``; must divide the image size.
        permutation: ``(N,)`` integer tensor, a permutation of ``0 … N-1``, e.g.
            ``torch.randperm(N)``.
        axes: two matplotlib ``Axes`` to draw into; a new figure is made if ``None``.

    Returns:
        ``(fig, axes)``.

    Shapes:
        image ``(C, H, W)`` and permutation ``(N,)`` -> two panels of ``H × W`` pixels
    """
    import matplotlib.pyplot as plt

    check_tensor(image, "image")
    if image.ndim != 3:
        raise ValueError(f"image must have shape (C, H, W), got {tuple(image.shape)}; pick one "
                         f"image from a batch with images[0]")
    H, W = image.shape[-2:]
    ph, pw = to_pair(patch_size, "patch_size")
    patches = image_to_patches(image, (ph, pw))  # (C, H, W) -> (N, C·P·P), checks divisibility
    gh, gw = H // ph, W // pw
    order = _check_permutation(permutation, gh * gw)
    shuffled = patches_to_image(patches[order], (ph, pw), (H, W))  # (N, C·P·P) -> (C, H, W)
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(7.6, 4.2), layout="constrained")
    else:
        axes = list(axes)
        if len(axes) != 2:
            raise ValueError(f"got {len(axes)} axes; pass two, one for each panel")
    fig = axes[0].figure
    fontsize = max(4, min(8, 70 // max(gh, gw)))
    panels = ((image, torch.arange(gh * gw), "original: patch i at place i"),
              (shuffled, order, "shuffled: labelled with original place"))
    for ax, (picture, labels, title) in zip(axes, panels):
        ax.imshow(to_hwc(picture), cmap="gray", vmin=0, vmax=1)
        draw_patch_grid(ax, (gh, gw), (ph, pw), colour="tab:orange", linewidth=0.6)
        for place, label in enumerate(labels.tolist()):
            r, c = divmod(place, gw)
            label_patch(ax, c * pw + 0.3, r * ph + 0.3, str(label), fontsize)
        ax.set_title(title)
        ax.set_xlabel("width (pixels)")
        ax.set_ylabel("height (pixels)")
    return fig, axes


def plot_pos_embed_channels(pos_embed: torch.Tensor, grid_size: int | tuple[int, int],
                            channels, *, num_prefix_tokens: int = 0, titles=None,
                            ncols: int | None = None, fig=None):
    r"""Draw chosen channels of a position-embedding table as images on the patch grid.

    Channel $d$ of the table gives one number per patch; laid out on the
    ``(H/P, W/P)`` grid in row-major order (the order of lesson 01) it becomes a small
    image. All panels share one colour scale, a diverging map centred on 0 (``"RdBu_r"``),
    explained by one colour bar.

    Args:
        pos_embed: the table, ``(N, D)``, ``(N + prefix, D)`` or ``(1, N + prefix, D)``
            (e.g. ``PositionalEmbedding.pos_embed`` or :func:`sincos_2d_pos_embed`).
        grid_size: the patch grid ``(H/P, W/P)``, or one int for a square grid.
        channels: the channel indices $d$ to draw, a list of ints in ``0 … D-1``.
        num_prefix_tokens: leading rows that belong to no patch (1 for the class token's
            row of $E_\text{pos}$); they are dropped.
        titles: one title per channel; ``"channel d"`` if ``None``.
        ncols: panels per row; all in one row if ``None``.
        fig: an empty matplotlib ``Figure`` to draw into; a new one if ``None``.

    Returns:
        ``(fig, axes)``, ``axes`` a flat list with one ``Axes`` per channel.

    Shapes:
        ``(1, N + prefix, D)`` -> ``len(channels)`` panels of ``H/P × W/P``
    """
    import matplotlib.pyplot as plt

    check_tensor(pos_embed, "pos_embed")
    gh, gw = to_pair(grid_size, "grid_size")
    prefix = check_num_prefix_tokens(num_prefix_tokens)
    table = pos_embed.detach().cpu().float()
    if table.ndim == 3 and table.shape[0] == 1:
        table = table[0]  # (1, N + prefix, D) -> (N + prefix, D)
    if table.ndim != 2:
        raise ValueError(f"pos_embed must have shape (N, D), (N + prefix, D) or "
                         f"(1, N + prefix, D), got {tuple(pos_embed.shape)}")
    if table.shape[0] != prefix + gh * gw:
        raise ValueError(
            f"pos_embed has {table.shape[0]} rows, but a {gh}x{gw} grid with "
            f"{prefix} prefix token(s) needs {prefix + gh * gw}; check grid_size and "
            f"num_prefix_tokens (1 for a table with a class-token row)"
        )
    D = table.shape[1]
    channels = list(channels) if isinstance(channels, (list, tuple, range)) else channels
    if (not isinstance(channels, list) or not channels
            or not all(isinstance(d, int) and not isinstance(d, bool) for d in channels)):
        raise TypeError(f"channels must be a non-empty list of ints, got {channels!r}")
    bad = [d for d in channels if not 0 <= d < D]
    if bad:
        raise ValueError(f"channels {bad} are out of range for D = {D}; pick from 0 … {D - 1}")
    titles = [f"channel {d}" for d in channels] if titles is None else list(titles)
    if len(titles) != len(channels):
        raise ValueError(f"got {len(titles)} titles for {len(channels)} channels; pass one "
                         f"title per channel")
    count = len(channels)
    ncols = count if ncols is None else min(check_positive_int(ncols, "ncols"), count)
    nrows = -(-count // ncols)
    grids = table[prefix:, channels].T.reshape(count, gh, gw)  # (N, k) -> (k, N) -> (k, H/P, W/P)
    limit = max(grids.abs().max().item(), 1e-12)  # symmetric scale, centred on 0
    if fig is None:
        fig = plt.figure(figsize=(1.9 * ncols + 1.1, 2.05 * nrows + 0.5), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    flat = list(axes.flat)
    for ax in flat[count:]:
        ax.set_visible(False)
    for ax, grid, title in zip(flat, grids, titles):
        im = ax.imshow(grid.numpy(), cmap="RdBu_r", vmin=-limit, vmax=limit,
                       interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(range(gw))
        ax.set_yticks(range(gh))
        ax.tick_params(labelsize=7)
        ax.set_xlabel("patch column", fontsize=8)
        ax.set_ylabel("patch row", fontsize=8)
    fig.colorbar(im, ax=flat[:count], shrink=0.85, label="value of the channel")
    return fig, flat[:count]
