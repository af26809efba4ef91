r"""The Transformer encoder of ViT: pre-norm residual blocks (Eq. 2–3, Appendix A).

$$z'_\ell = \mathrm{MSA}(\mathrm{LN}(z_{\ell-1})) + z_{\ell-1}, \qquad
  z_\ell = \mathrm{MLP}(\mathrm{LN}(z'_\ell)) + z'_\ell, \qquad \ell = 1 \dots L$$

LayerNorm comes *before* each sub-layer (pre-LN), unlike the original Transformer, which
normalised after the residual addition (post-LN). The MLP has two layers with a GELU
non-linearity. Module and parameter names follow timm (``norm1``, ``attn.qkv``,
``attn.proj``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``), so its weights map one to one.

See ``notebooks/07_encoder.ipynb`` (lesson 07).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vit_tutorial.checks import (
    check_dropout,
    check_heads,
    check_like_weights,
    check_positive_int,
    check_size,
    check_tensor,
)

__all__ = ["LAYER_NORM_EPS", "Attention", "MLP", "EncoderBlock", "Encoder", "check_tokens",
           "check_attention_mask"]

LAYER_NORM_EPS = 1e-6  # as in the original code, torchvision and timm


def check_tokens(z: object, embed_dim: int, name: str = "tokens") -> torch.Tensor:
    """Return ``z`` if it is a floating-point batch of token sequences ``(B, T, D)`` with
    ``D = embed_dim``; otherwise raise an error that says what came and how to fix it.
    Every block of the course (lesson 07's, lesson 10's RoPE block) checks its input here."""
    check_tensor(z, name)
    if z.ndim != 3 or z.shape[-1] != embed_dim:
        hint = (f"; for one sequence (T, D) use {name}.unsqueeze(0)"
                if z.ndim == 2 and z.shape[-1] == embed_dim else "")
        raise ValueError(f"{name} must have shape (B, T, {embed_dim}): a batch of T tokens of "
                         f"width D = {embed_dim}, got {tuple(z.shape)}{hint}")
    if not z.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {z.dtype}; convert with .float()")
    return z


def check_attention_mask(mask: object, tokens: torch.Tensor) -> torch.Tensor | None:
    """Return ``mask`` as an *additive* float mask for ``tokens`` ``(B, T, D)``, or ``None``.

    Accepted: ``None`` (every token sees every token); booleans, True where query ``i`` may
    attend to key ``j``; or an additive float mask (0 where allowed, a large negative number
    where not), as timm's ``create_attention_mask`` returns — of shape ``(B, 1, T, T)``,
    ``(B, h, T, T)`` or ``(T, T)``. Booleans become 0 / ``torch.finfo(dtype).min``, as in
    timm: a finite number, so that a row with nothing allowed (a padding token's) gives
    equal weights instead of the NaN of ``-inf`` (lesson 11).
    """
    if mask is None:
        return None
    check_tensor(mask, "mask")
    B, T = tokens.shape[:2]
    if mask.ndim not in (2, 4) or tuple(mask.shape[-2:]) != (T, T) or (
            mask.ndim == 4 and mask.shape[0] not in (1, B)):
        raise ValueError(f"mask must have shape ({B}, 1, {T}, {T}) (or ({T}, {T})) for {B} "
                         f"sequences of {T} tokens, got {tuple(mask.shape)}; build it with "
                         f"vit_tutorial.native_resolution.attention_mask(patch_valid)")
    if mask.device != tokens.device:
        raise ValueError(f"the mask is on {mask.device} but the tokens are on {tokens.device}; "
                         f"move it with mask.to({str(tokens.device)!r})")
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=tokens.dtype, device=mask.device).masked_fill(
            ~mask, torch.finfo(tokens.dtype).min)  # True -> 0, False -> most negative
    if mask.dtype != tokens.dtype:
        raise TypeError(f"an additive mask must have the tokens' dtype {tokens.dtype}, got "
                        f"{mask.dtype}; convert it with mask.to({tokens.dtype}), or pass booleans")
    return mask


class Attention(nn.Module):
    r"""Multi-head self-attention (MSA, Appendix A): $\mathrm{softmax}(qk^\top/\sqrt{D_h})\,v$
    per head.

    Args:
        embed_dim: $D$.
        num_heads: $h$; $D_h = D / h$.

    Shapes:
        x ``(B, T, D)`` -> ``(B, T, D)``; with ``return_attention=True`` also the weights
        ``(B, h, T, T)`` (each row sums to 1). An optional ``mask`` (see
        :func:`check_attention_mask`) keeps tokens from attending to others — padding, or
        other images packed into the same sequence (lesson 11).
    """

    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        self.embed_dim, self.num_heads = check_heads(embed_dim, num_heads)
        self.head_dim = self.embed_dim // self.num_heads  # D_h
        self.qkv = nn.Linear(self.embed_dim, 3 * self.embed_dim)  # U_qkv, fused
        self.proj = nn.Linear(self.embed_dim, self.embed_dim)  # U_msa

    def forward(self, x: torch.Tensor, return_attention: bool = False,
                mask: torch.Tensor | None = None):
        check_tokens(x, self.embed_dim)
        check_like_weights(x, "tokens", self.qkv.weight, "Attention")
        mask = check_attention_mask(mask, x)
        return self.attend(*self.heads(x), return_attention=return_attention, mask=mask)

    def heads(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Queries, keys and values, split into heads: ``(B, T, D) -> 3 x (B, h, T, D_h)``."""
        B, T, D = x.shape
        # (B, T, 3·D) -> (B, T, 3, h, D_h)
        qkv = self.qkv(x).reshape(B, T, 3, self.num_heads, self.head_dim)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x (B, h, T, D_h)
        return q, k, v

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
               return_attention: bool = False, mask: torch.Tensor | None = None):
        r"""$\mathrm{softmax}(qk^\top/\sqrt{D_h} + M)\,v$ per head, heads merged, projected:
        ``3 x (B, h, T, D_h) -> (B, T, D)`` (and the weights ``(B, h, T, T)`` if asked).
        ``mask`` $M$: ``None``, or an additive float mask broadcast to ``(B, h, T, T)``."""
        B, _, T, _ = q.shape
        if return_attention:
            # The same computation written out, so the weights A can be returned.
            scores = q @ k.transpose(-2, -1) * self.head_dim ** -0.5  # (B, h, T, T)
            if mask is not None:
                scores = scores + mask  # (B, h, T, T) + (B, 1, T, T): masked pairs -> -big
            weights = scores.softmax(dim=-1)  # A, each row sums to 1
            out = weights @ v  # (B, h, T, D_h)
        else:
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)  # fused, same result
        out = out.transpose(1, 2).reshape(B, T, self.embed_dim)  # (B, h, T, D_h) -> (B, T, D)
        out = self.proj(out)
        return (out, weights) if return_attention else out


class MLP(nn.Sequential):
    """Two dense layers with a GELU between them (Sec. 3.1), dropout after each.

    Note:
        The exact (erf) GELU, as torchvision and timm use; the paper's own code calls flax's
        ``nn.gelu``, whose default is the tanh approximation. The authors' JAX checkpoints
        (which timm ports) were trained with it; torchvision's own ViT weights were trained in
        PyTorch with the exact GELU. The difference is small but real (lesson 07).
    """

    def __init__(self, embed_dim: int, mlp_dim: int, dropout: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(embed_dim, mlp_dim)
        self.act = nn.GELU()  # exact (erf) GELU, as torchvision and timm
        self.drop1 = nn.Dropout(dropout)
        self.fc2 = nn.Linear(mlp_dim, embed_dim)
        self.drop2 = nn.Dropout(dropout)


class EncoderBlock(nn.Module):
    r"""One pre-norm Transformer block (Eq. 2–3).

    Args:
        embed_dim: $D$.
        num_heads: $h$; must divide $D$.
        mlp_dim: hidden size of the MLP (4·D in the paper's models).
        dropout: dropout after the dense layers (Appendix B.1); 0 for inference.

    Shapes:
        z ``(B, T, D)`` -> ``(B, T, D)``; with ``return_attention=True`` also ``(B, h, T, T)``.
        ``mask``: as for :class:`Attention`.
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_dim: int, dropout: float = 0.0):
        super().__init__()
        D, h = check_heads(embed_dim, num_heads)
        check_size(D * check_positive_int(mlp_dim, "mlp_dim"), f"the MLP's weight (D = {D} × "
                   f"mlp_dim = {mlp_dim})", "the paper's mlp_dim is 4·D")
        check_size(3 * D * D, f"the qkv weight (3·D × D with D = {D})", "ViT-H has D = 1280")
        dropout = check_dropout(dropout)
        self.norm1 = nn.LayerNorm(D, eps=LAYER_NORM_EPS)
        self.attn = Attention(D, h)
        self.drop = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(D, eps=LAYER_NORM_EPS)
        self.mlp = MLP(D, mlp_dim, dropout)

    def forward(self, z: torch.Tensor, return_attention: bool = False,
                mask: torch.Tensor | None = None):
        check_tokens(z, self.attn.embed_dim)
        check_like_weights(z, "tokens", self.norm1.weight, "EncoderBlock")
        attended = self.attn(self.norm1(z), return_attention, mask=mask)  # MSA(LN(z_{l-1}))
        if return_attention:
            attended, weights = attended
        z = z + self.drop(attended)  # Eq. 2: z'_l
        z = z + self.mlp(self.norm2(z))  # Eq. 3: z_l
        return (z, weights) if return_attention else z


class Encoder(nn.Module):
    r"""$L$ encoder blocks in a row (the final LayerNorm of Eq. 4 belongs to the model).

    Args:
        depth: $L$.
        embed_dim, num_heads, mlp_dim, dropout: as for :class:`EncoderBlock`.

    Shapes:
        z_0 ``(B, T, D)`` -> z_L ``(B, T, D)``; with ``return_attention=True`` also a list
        of ``L`` tensors ``(B, h, T, T)``. ``mask``: as for :class:`Attention`, the same for
        every block.
    """

    def __init__(self, depth: int, embed_dim: int, num_heads: int, mlp_dim: int,
                 dropout: float = 0.0):
        super().__init__()
        check_positive_int(depth, "depth")
        self.blocks = nn.ModuleList(
            EncoderBlock(embed_dim, num_heads, mlp_dim, dropout) for _ in range(depth))

    def forward(self, z: torch.Tensor, return_attention: bool = False,
                mask: torch.Tensor | None = None):
        check_tokens(z, self.blocks[0].attn.embed_dim)
        check_like_weights(z, "tokens", self.blocks[0].norm1.weight, "Encoder")
        mask = check_attention_mask(mask, z)  # once, not once per block
        maps = []
        for block in self.blocks:
            if return_attention:
                z, weights = block(z, return_attention=True, mask=mask)
                maps.append(weights)
            else:
                z = block(z, mask=mask)
        return (z, maps) if return_attention else z
