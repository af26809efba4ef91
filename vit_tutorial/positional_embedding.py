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

from vit_tutorial.checks import (
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
from vit_tutorial.names import moved

__all__ = ["PositionalEmbedding", "sincos_2d_pos_embed"]
# Old homes of the lesson's drawing, now in its figures module: a clear error names it.
__getattr__ = moved(__name__, {
    name: f"vit_tutorial.positional_embedding_figures.{name}" for name in (
        "plot_shuffled_patches", "plot_pos_embed_channels")})


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
