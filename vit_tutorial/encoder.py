r"""The Transformer encoder of ViT: pre-norm residual blocks (Eq. 2–3, Appendix A).

$$z'_\ell = \mathrm{MSA}(\mathrm{LN}(z_{\ell-1})) + z_{\ell-1}, \qquad
  z_\ell = \mathrm{MLP}(\mathrm{LN}(z'_\ell)) + z'_\ell, \qquad \ell = 1 \dots L$$

LayerNorm comes *before* each sub-layer (pre-LN), unlike the original Transformer, which
normalised after the residual addition (post-LN). The MLP has two layers with a GELU
non-linearity. Module and parameter names follow timm (``norm1``, ``attn.qkv``,
``attn.proj``, ``norm2``, ``mlp.fc1``, ``mlp.fc2``), so its weights map one to one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vit_tutorial._checks import check_positive_int, check_tensor

__all__ = ["Attention", "MLP", "EncoderBlock", "Encoder", "mean_attention_distance",
           "uniform_attention_distance", "plot_attention_distance"]

LAYER_NORM_EPS = 1e-6  # as in the original code, torchvision and timm


def _check_width(embed_dim: object, num_heads: object) -> tuple[int, int]:
    D = check_positive_int(embed_dim, "embed_dim")
    h = check_positive_int(num_heads, "num_heads")
    if D % h != 0:
        divisors = [k for k in range(1, D + 1) if D % k == 0 and k <= 32]
        raise ValueError(f"embed_dim {D} is not divisible by num_heads {h}; each head gets "
                         f"D / num_heads dimensions, so pick num_heads from {divisors}")
    return D, h


class Attention(nn.Module):
    r"""Multi-head self-attention (MSA, Appendix A): $\mathrm{softmax}(qk^\top/\sqrt{D_h})\,v$ per head.

    Args:
        embed_dim: $D$.
        num_heads: $h$; $D_h = D / h$.

    Shapes:
        x ``(B, T, D)`` -> ``(B, T, D)``; with ``return_attention=True`` also the weights
        ``(B, h, T, T)`` (each row sums to 1).
    """

    def __init__(self, embed_dim: int, num_heads: int):
        super().__init__()
        self.embed_dim, self.num_heads = _check_width(embed_dim, num_heads)
        self.head_dim = self.embed_dim // self.num_heads  # D_h
        self.qkv = nn.Linear(self.embed_dim, 3 * self.embed_dim)  # U_qkv, fused
        self.proj = nn.Linear(self.embed_dim, self.embed_dim)  # U_msa

    def forward(self, x: torch.Tensor, return_attention: bool = False):
        B, T, D = x.shape
        qkv = self.qkv(x).reshape(B, T, 3, self.num_heads, self.head_dim)  # (B, T, 3·D) -> (B, T, 3, h, D_h)
        q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # 3 x (B, h, T, D_h)
        if return_attention:
            # The same computation written out, so the weights A can be returned.
            scores = q @ k.transpose(-2, -1) * self.head_dim ** -0.5  # (B, h, T, T)
            weights = scores.softmax(dim=-1)  # A, each row sums to 1
            out = weights @ v  # (B, h, T, D_h)
        else:
            out = F.scaled_dot_product_attention(q, k, v)  # fused kernel, same result
        out = out.transpose(1, 2).reshape(B, T, D)  # (B, h, T, D_h) -> (B, T, h·D_h)
        out = self.proj(out)
        return (out, weights) if return_attention else out


class MLP(nn.Sequential):
    """Two dense layers with an exact GELU between them (Sec. 3.1), dropout after each."""

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
    """

    def __init__(self, embed_dim: int, num_heads: int, mlp_dim: int, dropout: float = 0.0):
        super().__init__()
        D, h = _check_width(embed_dim, num_heads)
        check_positive_int(mlp_dim, "mlp_dim")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.norm1 = nn.LayerNorm(D, eps=LAYER_NORM_EPS)
        self.attn = Attention(D, h)
        self.drop = nn.Dropout(dropout)
        self.norm2 = nn.LayerNorm(D, eps=LAYER_NORM_EPS)
        self.mlp = MLP(D, mlp_dim, dropout)

    def forward(self, z: torch.Tensor, return_attention: bool = False):
        attended = self.attn(self.norm1(z), return_attention)  # MSA(LN(z_{l-1}))
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
        of ``L`` tensors ``(B, h, T, T)``.
    """

    def __init__(self, depth: int, embed_dim: int, num_heads: int, mlp_dim: int,
                 dropout: float = 0.0):
        super().__init__()
        check_positive_int(depth, "depth")
        self.blocks = nn.ModuleList(
            EncoderBlock(embed_dim, num_heads, mlp_dim, dropout) for _ in range(depth))

    def forward(self, z: torch.Tensor, return_attention: bool = False):
        check_tensor(z, "tokens")
        if z.ndim != 3 or z.shape[-1] != self.blocks[0].attn.embed_dim:
            raise ValueError(f"the encoder expects tokens (B, T, {self.blocks[0].attn.embed_dim}), "
                             f"got {tuple(z.shape)}")
        maps = []
        for block in self.blocks:
            if return_attention:
                z, weights = block(z, return_attention=True)
                maps.append(weights)
            else:
                z = block(z)
        return (z, maps) if return_attention else z


# --- Figure 7 (right): how far the heads look ------------------------------------------


def _patch_distances(grid_size, patch_size) -> torch.Tensor:
    """Pixel distances between the centres of every pair of patches, ``(N, N)``."""
    from vit_tutorial._checks import to_pair

    gh, gw = to_pair(grid_size, "grid_size")
    ph, pw = to_pair(patch_size, "patch_size")
    rows, cols = torch.meshgrid(torch.arange(gh), torch.arange(gw), indexing="ij")
    centres = torch.stack([rows.flatten() * ph, cols.flatten() * pw], dim=1).double()  # (N, 2)
    return torch.cdist(centres, centres)  # (N, N), in pixels


def uniform_attention_distance(grid_size, patch_size) -> float:
    """Mean attention distance (pixels) of a head that attends to every patch equally."""
    return _patch_distances(grid_size, patch_size).mean().item()


def mean_attention_distance(attention, grid_size, patch_size,
                            num_prefix_tokens: int = 1) -> torch.Tensor:
    r"""Figure 7 (right): each head's mean attention distance, in pixels.

    For every query patch, the distance to each key patch (between patch centres, in
    pixels) is weighted by the attention weight and summed; this is averaged over the query
    patches and the images of the batch.

    Args:
        attention: one layer's weights ``(B, h, T, T)``, or a list of them (one per layer,
            as returned by ``Encoder(..., return_attention=True)``).
        grid_size: the patch grid ``(H/P, W/P)``; ``T = num_prefix_tokens + N``.
        patch_size: $P$ in pixels.
        num_prefix_tokens: rows/columns in front of the grid (the class token).

    Returns:
        ``(h,)`` for one layer, ``(L, h)`` for a list: distances in pixels.

    Note:
        The class token has no place in the image, so its row and column are dropped and
        each query's weights over the $N$ patches are renormalised to sum to 1. The paper
        does not say how it treats the class token; other choices shift the numbers a little.
    """
    from vit_tutorial._checks import check_num_prefix_tokens, to_pair

    if isinstance(attention, (list, tuple)):
        return torch.stack([mean_attention_distance(a, grid_size, patch_size, num_prefix_tokens)
                            for a in attention])  # L x (h,) -> (L, h)
    check_tensor(attention, "attention")
    k = check_num_prefix_tokens(num_prefix_tokens)
    gh, gw = to_pair(grid_size, "grid_size")
    T = k + gh * gw
    if attention.ndim != 4 or attention.shape[-2:] != (T, T):
        raise ValueError(f"attention must have shape (B, h, T, T) with T = {k} + {gh}·{gw} = {T}, "
                         f"got {tuple(attention.shape)}; pass one layer's weights from "
                         f"Encoder(..., return_attention=True) and the model's grid_size")
    weights = attention[..., k:, k:].double()  # (B, h, N, N): patches attending to patches
    weights = weights / weights.sum(-1, keepdim=True).clamp_min(1e-12)  # rows sum to 1 again
    distance = _patch_distances((gh, gw), patch_size)  # (N, N)
    per_query = (weights * distance).sum(-1)  # (B, h, N)
    return per_query.mean(dim=(0, 2)).float()  # (h,)


def plot_attention_distance(distances: torch.Tensor, uniform: float | None = None, *,
                            ax=None, title: str | None = None, spread: float = 0.3):
    r"""Draw Figure 7 (right): each head's mean attention distance against network depth.

    One dot per head and layer, as in the paper: the x-axis is the layer (1 = the lowest),
    the y-axis the distance in pixels from :func:`mean_attention_distance`. The heads of a
    layer are spread a little sideways so that equal values stay visible; each head keeps
    its colour (sampled from viridis) in every layer.

    Args:
        distances: ``(L, h)`` distances in pixels, one row per layer.
        uniform: if given, a dashed horizontal line at this distance, labelled as the value
            of a head that attends to every patch equally (:func:`uniform_attention_distance`).
        ax: a matplotlib ``Axes`` to draw into; a new figure is made if ``None``.
        title: the axes' title; ``None`` for none.
        spread: the total sideways width, in layers, over which a layer's heads are spread
            (0 puts them on one vertical line); in [0, 1).

    Returns:
        ``(fig, ax)``.

    Shapes:
        ``(L, h)`` -> ``L`` columns of ``h`` dots

    Example:
        >>> _, maps = model.encoder(model.embed(images), return_attention=True)
        >>> fig, ax = plot_attention_distance(mean_attention_distance(maps, 7, 4),
        ...                                   uniform_attention_distance(7, 4))
    """
    import matplotlib.pyplot as plt

    check_tensor(distances, "distances")
    if distances.ndim != 2 or distances.numel() == 0:
        raise ValueError(f"distances must have shape (L, h), one row per layer and one column per "
                         f"head, got {tuple(distances.shape)}; compute it with "
                         f"mean_attention_distance(maps, grid_size, patch_size) from the list of "
                         f"maps that Encoder(..., return_attention=True) returns")
    if uniform is not None and (isinstance(uniform, bool) or not isinstance(uniform, (int, float))):
        raise TypeError(f"uniform must be a number of pixels (e.g. "
                        f"uniform_attention_distance(grid_size, patch_size)) or None, got "
                        f"{type(uniform).__name__}")
    if isinstance(spread, bool) or not isinstance(spread, (int, float)) or not 0 <= spread < 1:
        raise ValueError(f"spread must be a number in [0, 1) (a fraction of the gap between "
                         f"layers), got {spread!r}; the default is 0.3")
    values = distances.detach().cpu().double()  # (L, h)
    L, h = values.shape
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.8, 3.6), layout="constrained")
    fig = ax.figure
    colours = plt.get_cmap("viridis")(torch.linspace(0, 0.9, h).tolist())  # one per head
    offsets = torch.linspace(-spread / 2, spread / 2, h) if h > 1 else torch.zeros(1)
    layers = torch.arange(1, L + 1, dtype=torch.float64)
    for head in range(h):
        ax.scatter((layers + offsets[head]).tolist(), values[:, head].tolist(), s=28,
                   color=colours[head], edgecolor="black", linewidth=0.4, zorder=3,
                   label=f"head {head + 1}" if h <= 8 else None)  # a legend of 8 at most
    if uniform is not None:
        ax.axhline(float(uniform), color="0.35", linestyle="--", linewidth=1.2, zorder=2,
                   label=f"uniform attention ({float(uniform):.1f} px)")
    top = max(values.max().item(), float(uniform) if uniform is not None else 0.0)
    ax.set_ylim(0, 1.25 * top if top > 0 else 1.0)
    ax.set_xlim(0.5, L + 0.5)
    ax.set_xticks(range(1, L + 1))
    ax.set_xlabel("network depth (layer)")
    ax.set_ylabel("mean attention distance (pixels)")
    if title:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    if h <= 8 or uniform is not None:
        ax.legend(fontsize=8, loc="lower right", ncol=2 if h > 3 else 1, framealpha=0.9)
    return fig, ax
