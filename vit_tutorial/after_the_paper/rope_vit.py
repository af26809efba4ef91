r"""Lesson 10, part 2 — a whole ViT with 2-D RoPE and no $E_\text{pos}$ (Heo et al., ECCV
2024): it runs at any image size that is a multiple of $P$ (see
:mod:`vit_tutorial.after_the_paper`)."""

from __future__ import annotations

import copy
from dataclasses import replace

import torch
from torch import nn

from vit_tutorial.after_the_paper.rope_attention import RoPEEncoderBlock
from vit_tutorial.checks import (
    check_divisible,
    check_like_weights,
    check_positive_int,
    check_tensor,
    to_pair,
)
from vit_tutorial.model import VisionTransformer, ViTConfig
from vit_tutorial.vision_transformer import mask_patch_tokens

__all__ = ["RoPEEncoder", "RoPEViT"]


class RoPEEncoder(nn.Module):
    r"""$L$ :class:`RoPEEncoderBlock` s in a row; every block is told the patch grid.

    Args:
        depth: $L$.
        embed_dim, num_heads, mlp_dim, dropout: as for
            :class:`~vit_tutorial.encoder.EncoderBlock`.
        rope, temperature, num_prefix_tokens: as for :class:`RoPEEncoderBlock`.

    Shapes:
        z_0 ``(B, prefix + N, D)`` -> z_L ``(B, prefix + N, D)``; with
        ``return_attention=True`` also a list of ``L`` tensors ``(B, h, T, T)``.
    """

    def __init__(self, depth: int, embed_dim: int, num_heads: int, mlp_dim: int,
                 dropout: float = 0.0, *, rope: str = "axial", temperature: float | None = None,
                 num_prefix_tokens: int = 1):
        super().__init__()
        check_positive_int(depth, "depth")
        self.blocks = nn.ModuleList(
            RoPEEncoderBlock(embed_dim, num_heads, mlp_dim, dropout, rope=rope,
                             temperature=temperature, num_prefix_tokens=num_prefix_tokens)
            for _ in range(depth))

    def forward(self, z: torch.Tensor, grid_size: int | tuple[int, int],
                return_attention: bool = False):
        maps = []
        for block in self.blocks:
            if return_attention:
                z, weights = block(z, grid_size, return_attention=True)
                maps.append(weights)
            else:
                z = block(z, grid_size)  # (B, T, D) -> (B, T, D)
        return (z, maps) if return_attention else z


class RoPEViT(VisionTransformer):
    r"""The ViT of Eq. 1–4 with 2-D RoPE in every attention layer instead of $E_\text{pos}$.

    $$z_0 = [x_\text{class};\, x_p^1 E;\, \dots;\, x_p^N E] \quad\text{(no } + E_\text{pos}),
    \qquad z_\ell = \text{RoPE blocks}(z_{\ell-1};\, H/P,\, W/P)$$

    Position enters only through the rotations of the queries and keys
    (:class:`RoPEEncoderBlock`), computed for the grid of the images at hand. Nothing in the
    model has a size tied to the grid, so the same weights take 28×28 or 56×56 images (or
    28×40): no table to interpolate, unlike lesson 06.

    Args:
        config: a :class:`~vit_tutorial.model.ViTConfig` with
            ``positional_embedding="none"``; its ``image_size`` is the size it is trained at
            (``vit_tutorial.train.train`` reads it), not a limit.
        rope: ``"axial"`` (Heo et al.'s RoPE-Axial) or ``"mixed"`` (RoPE-Mixed, learned
            frequencies).
        temperature: ``None`` for the paper's (100 axial, 10 mixed).

    Attributes:
        as :class:`~vit_tutorial.model.VisionTransformer`, with ``positional_embedding``
        ``None`` and ``encoder`` a :class:`RoPEEncoder`.

    Shapes:
        images ``(B, C, H, W)``, $H$ and $W$ multiples of $P$ -> logits ``(B, num_classes)``

    Example:
        >>> config = replace(TINY_VIT_CONFIG, positional_embedding="none")
        >>> model = RoPEViT(config)
        >>> model(torch.zeros(2, 1, 28, 28)).shape, model(torch.zeros(2, 1, 56, 40)).shape
        (torch.Size([2, 10]), torch.Size([2, 10]))
    """

    def __init__(self, config: ViTConfig | None = None, *, rope: str = "axial",
                 temperature: float | None = None):
        config = ViTConfig(positional_embedding="none") if config is None else config
        if isinstance(config, ViTConfig) and config.positional_embedding != "none":
            raise ValueError(
                f"a RoPEViT has no E_pos, got positional_embedding="
                f"{config.positional_embedding!r}; pass dataclasses.replace(config, "
                f"positional_embedding='none') — position comes from the rotations")
        super().__init__(config)
        self.encoder = RoPEEncoder(config.depth, config.embed_dim, config.num_heads,
                                   config.mlp_dim, config.dropout, rope=rope,
                                   temperature=temperature,
                                   num_prefix_tokens=config.num_prefix_tokens)
        self.rope = rope

    def grid_size_of(self, images: torch.Tensor) -> tuple[int, int]:
        """The patch grid ``(H/P, W/P)`` of a batch ``(B, C, H, W)``, with its checks."""
        check_tensor(images, "images")
        C = self.config.in_channels
        if images.ndim != 4 or images.shape[1] != C:
            hint = "; for one image use images.unsqueeze(0)" if images.ndim == 3 else ""
            raise ValueError(f"images must have shape (B, {C}, H, W), got "
                             f"{tuple(images.shape)}{hint}")
        check_like_weights(images, "images", self.patch_embed.proj.weight, "RoPEViT")
        return check_divisible(tuple(images.shape[-2:]),
                               to_pair(self.config.patch_size, "patch_size"))

    def _check_images(self, images: object) -> None:
        self.grid_size_of(images)  # any size that is a multiple of P

    def embed(self, images: torch.Tensor, mask: torch.Tensor | None = None,
              mask_token: torch.Tensor | None = None) -> torch.Tensor:
        """Eq. 1 without $E_\text{pos}$: ``(B, C, H, W) -> (B, k + N, D)``, $N$ from the
        images' own grid (``k`` = 1 class token + registers); ``mask`` and ``mask_token``
        as for :meth:`~vit_tutorial.model.VisionTransformer.embed`."""
        self._check_images(images)
        x = self.patch_embed.proj(images)  # (B, C, H, W) -> (B, D, H/P, W/P), any H, W
        tokens = x.flatten(2).transpose(1, 2)  # (B, D, H/P, W/P) -> (B, D, N) -> (B, N, D)
        if mask is not None:
            tokens = mask_patch_tokens(tokens, mask, mask_token)  # (B, N, D)
        return self.dropout(self._prefix(tokens))  # (B, k + N, D)

    def forward_features(self, images: torch.Tensor, return_attention: bool = False):
        grid = self.grid_size_of(images)
        z = self.encoder(self.embed(images), grid, return_attention=return_attention)
        if return_attention:
            z, maps = z
        y = self.norm(z[:, 0])  # Eq. 4: the class token's final state, (B, D)
        return (y, maps) if return_attention else y

    @classmethod
    def from_state_dict(cls, config: ViTConfig, state_dict: dict) -> RoPEViT:
        """A model of ``config`` holding a copy of ``state_dict``'s tensors; RoPE-Mixed if
        the state holds learned frequencies (``encoder.blocks.0.attn.freqs``)."""
        rope = "mixed" if "encoder.blocks.0.attn.freqs" in state_dict else "axial"
        with torch.device("meta"):  # shapes only
            model = cls(config, rope=rope)
        state = {key: value.detach().clone() for key, value in state_dict.items()}
        model.load_state_dict(state, assign=True)
        return model

    def resized(self, image_size: int | tuple[int, int], **_) -> RoPEViT:
        """A copy for another image size: only ``config.image_size`` changes — there is no
        table to resize (the keyword arguments of
        :meth:`~vit_tutorial.model.VisionTransformer.resized` are accepted and unused)."""
        config = replace(self.config, image_size=image_size)  # checks divisibility
        model = copy.deepcopy(self)
        model.config = config
        model.patch_embed.image_size = to_pair(config.image_size, "image_size")
        model.patch_embed.grid_size = check_divisible(model.patch_embed.image_size,
                                                      model.patch_embed.patch_size)
        model.patch_embed.num_patches = model.patch_embed.grid_size[0] * \
            model.patch_embed.grid_size[1]
        return model
