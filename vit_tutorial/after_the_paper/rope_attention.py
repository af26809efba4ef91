r"""Lesson 10, part 2 — attention and an encoder block that rotate queries and keys by 2-D
RoPE, for any grid at run time (see :mod:`vit_tutorial.after_the_paper`)."""

from __future__ import annotations

import math

import torch
from torch import nn

from vit_tutorial.after_the_paper.rope import (
    GRID_INDEXINGS,
    ROPE_KINDS,
    ROPE_TEMPERATURE,
    apply_rope,
    check_head_dim,
    mixed_frequencies,
    rope_2d_axial,
    rope_2d_mixed,
)
from vit_tutorial.checks import (
    check_choice,
    check_dropout,
    check_like_weights,
    check_num_prefix_tokens,
    check_positive_int,
    check_positive_number,
    to_pair,
    work_dtype,
)
from vit_tutorial.encoder import LAYER_NORM_EPS, MLP, Attention, check_tokens

__all__ = ["RoPEAttention", "RoPEEncoderBlock"]


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
        self.rope = check_choice(rope, "rope", ROPE_KINDS,
                                  "'axial' (fixed frequencies) or 'mixed' (learned)")
        check_head_dim(self.head_dim)
        self.temperature = (ROPE_TEMPERATURE[rope] if temperature is None else
                            check_positive_number(temperature, "temperature",
                                                   "None picks the paper's value"))
        self.grid_indexing = check_choice(grid_indexing, "grid_indexing", GRID_INDEXINGS,
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
        B, T, D = check_tokens(x, self.embed_dim, "x").shape
        check_like_weights(x, "x", self.qkv.weight, "RoPEAttention")
        gh, gw = to_pair(grid_size, "grid_size")
        if T != self.num_prefix_tokens + gh * gw:
            raise ValueError(
                f"got {T} tokens, but a {gh}x{gw} grid with num_prefix_tokens="
                f"{self.num_prefix_tokens} needs {self.num_prefix_tokens} + {gh}·{gw} = "
                f"{self.num_prefix_tokens + gh * gw}; pass the grid_size (H/P, W/P) of the "
                f"images the tokens came from"
            )
        q, k, v = self.heads(x)  # 3 x (B, h, T, D_h), as in the plain Attention
        sin, cos = self.rope_tables((gh, gw), device=x.device, dtype=work_dtype(x.dtype))
        q = apply_rope(q, sin, cos, num_prefix_tokens=self.num_prefix_tokens)  # (B, h, T, D_h)
        k = apply_rope(k, sin, cos, num_prefix_tokens=self.num_prefix_tokens)  # (B, h, T, D_h)
        return self.attend(q, k, v, return_attention=return_attention)

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
        dropout = check_dropout(dropout)
        self.norm1 = nn.LayerNorm(D, eps=LAYER_NORM_EPS)
        self.attn = RoPEAttention(D, num_heads, rope=rope, temperature=temperature,
                                  grid_indexing=grid_indexing,
                                  num_prefix_tokens=num_prefix_tokens)
        self.drop = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(D, eps=LAYER_NORM_EPS)
        self.mlp = MLP(D, mlp_dim, dropout)
        self.gamma_1 = self.gamma_2 = None
        if layer_scale is not None:
            scale = check_positive_number(layer_scale, "layer_scale",
                                           "None for the paper's block, 1e-5 as timm's rope ViTs")
            device = self.norm1.weight.device
            self.gamma_1 = nn.Parameter(torch.full((D,), scale, device=device))  # (D,), on MSA
            self.gamma_2 = nn.Parameter(torch.full((D,), scale, device=device))  # (D,), on MLP

    def forward(self, z: torch.Tensor, grid_size: int | tuple[int, int],
                return_attention: bool = False):
        z = check_tokens(z, self.attn.embed_dim)
        check_like_weights(z, "tokens", self.norm1.weight, "RoPEEncoderBlock")
        attended = self.attn(self.norm1(z), grid_size, return_attention)  # MSA_RoPE(LN(z_{l-1}))
        if return_attention:
            attended, weights = attended
        mlp_scale = 1.0
        if self.gamma_1 is not None:
            attended, mlp_scale = self.gamma_1 * attended, self.gamma_2  # (D,) * (B, T, D)
        z = z + self.drop(attended)  # Eq. 2: z'_l
        z = z + mlp_scale * self.mlp(self.norm2(z))  # Eq. 3: z_l
        return (z, weights) if return_attention else z
