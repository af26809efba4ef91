r"""The Vision Transformer itself, composed from the lessons' modules (Eq. 1–4).

$$z_0 = [x_\text{class};\, x_p^1 E;\, \dots;\, x_p^N E] + E_\text{pos} \quad (1)$$
$$z_\ell = \text{pre-norm MSA and MLP blocks} \quad (2, 3) \qquad y = \mathrm{LN}(z_L^0) \quad (4)$$

and a linear head on $y$: :class:`ViTConfig` (its sizes) and :class:`VisionTransformer`. Both
are lesson 08's, and imported from :mod:`vit_tutorial.model`, their one public home, which adds
Table 1's sizes and the course's two trained models; this module holds the model alone.
Reading a NaFlex batch (lesson 11) adds a few lines here; the pieces it uses live in
:mod:`vit_tutorial.native_resolution`.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from vit_tutorial.checks import (
    check_bool,
    check_choice,
    check_divisible,
    check_dropout,
    check_heads,
    check_positive_int,
    check_same_device,
    check_size,
    check_tensor,
    to_pair,
)
from vit_tutorial.class_token import ClassToken
from vit_tutorial.encoder import LAYER_NORM_EPS, Encoder
from vit_tutorial.native_resolution import (
    FactorizedPositionalEmbedding,
    attention_mask,
    check_naflex_batch,
    pos_embed_for_grid,
    pos_embed_per_token,
)
from vit_tutorial.patch_embedding import PatchEmbedding
from vit_tutorial.positional_embedding import PositionalEmbedding, sincos_2d_pos_embed

__all__ = ["POSITIONAL_EMBEDDINGS", "ViTConfig", "VisionTransformer", "mask_patch_tokens"]

POSITIONAL_EMBEDDINGS = ("learned", "sincos", "none", "factorized")


@dataclass(frozen=True)
class ViTConfig:
    """Sizes of a Vision Transformer. Defaults: ViT-B/16 at 224×224 (Table 1).

    Every field is checked when the config is made, so a config that exists builds a model
    (and trains: ``python -m vit_tutorial.train`` takes any image size it accepts).
    """

    image_size: int | tuple[int, int] = 224  # H = W; fine-tuning uses 384 (Sec. 3.2)
    patch_size: int | tuple[int, int] = 16  # P, ViT-B/16
    in_channels: int = 3  # C, RGB
    num_classes: int = 1000  # ImageNet-1k head
    embed_dim: int = 768  # D, "Hidden size" in Table 1
    depth: int = 12  # L, "Layers"
    num_heads: int = 12  # h, "Heads"
    mlp_dim: int = 3072  # "MLP size" = 4·D
    dropout: float = 0.0  # Appendix B.1: 0.1 for some runs, 0 at inference
    positional_embedding: str = "learned"  # the paper's 1-D E_pos; "sincos"/"none": lesson 04;
    # "factorized": NaViT's row + column tables (lesson 11)
    num_register_tokens: int = 0  # lesson 10: extra learned tokens after the class token
    prefix_pos_embed: bool = True  # E_pos rows for the class token (and registers), as the paper

    def __post_init__(self):
        for name in ("image_size", "patch_size"):
            pair = to_pair(getattr(self, name), name)
            object.__setattr__(self, name, pair if pair[0] != pair[1] else pair[0])
        check_divisible(to_pair(self.image_size, "image_size"),
                        to_pair(self.patch_size, "patch_size"))
        for name in ("in_channels", "num_classes", "embed_dim", "depth", "num_heads", "mlp_dim"):
            object.__setattr__(self, name, check_positive_int(getattr(self, name), name))
        check_heads(self.embed_dim, self.num_heads)
        registers = self.num_register_tokens
        if isinstance(registers, bool) or not isinstance(registers, numbers.Integral) \
                or registers < 0:
            raise ValueError(f"num_register_tokens must be a whole number >= 0, got "
                             f"{registers!r}; the registers paper uses 4")
        object.__setattr__(self, "num_register_tokens", int(registers))
        object.__setattr__(self, "prefix_pos_embed",
                           check_bool(self.prefix_pos_embed, "prefix_pos_embed"))
        object.__setattr__(self, "dropout", check_dropout(self.dropout))
        check_choice(self.positional_embedding, "positional_embedding", POSITIONAL_EMBEDDINGS)
        (H, W), (P, Q) = (to_pair(getattr(self, name), name)
                          for name in ("image_size", "patch_size"))
        positions = self.num_prefix_tokens + (H // P) * (W // Q)
        check_size(positions * self.embed_dim, f"E_pos for {H}x{W} images with {P}x{Q} patches "
                   f"({positions:,} positions × D = {self.embed_dim})",
                   "image_size is in pixels (224 in the paper); use a smaller one or a larger "
                   "patch_size")
        if self.positional_embedding == "factorized" and self.prefix_pos_embed:
            raise ValueError("factorized E_pos (NaViT, lesson 11) has rows and columns for the "
                             "patches only, none for the class token: pass "
                             "prefix_pos_embed=False")

    @property
    def num_prefix_tokens(self) -> int:
        """Tokens in front of the patches: the class token and the registers."""
        return 1 + self.num_register_tokens


def _sincos_table(grid_size: tuple[int, int], embed_dim: int, prefix: int) -> torch.Tensor:
    """The fixed 2-D sine–cosine E_pos with zero rows for the prefix tokens."""
    table = sincos_2d_pos_embed(grid_size, embed_dim)  # (N, D)
    return torch.cat([torch.zeros(prefix, embed_dim), table]).unsqueeze(0)  # (1, prefix + N, D)


def mask_patch_tokens(tokens: torch.Tensor, mask: object, mask_token: object) -> torch.Tensor:
    """``tokens`` ``(B, N, D)`` with the embeddings where ``mask`` ``(B, N)`` is true replaced
    by ``mask_token`` ``(1, 1, D)`` (masked patch prediction, lesson 09)."""
    check_tensor(mask, "mask")
    check_tensor(mask_token, "mask_token")
    check_same_device(mask, "mask", tokens, "the patch tokens", "the images")
    check_same_device(mask_token, "mask_token", tokens, "the patch tokens", "the images")
    B, N, D = tokens.shape
    if tuple(mask.shape) != (B, N) or mask.dtype != torch.bool:
        raise ValueError(f"mask must be a (B, N) = ({B}, {N}) bool tensor, one flag per "
                         f"patch, got {tuple(mask.shape)} {mask.dtype}")
    if mask_token.numel() != D:
        raise ValueError(f"mask_token must hold D = {D} values, shape (1, 1, {D}), got "
                         f"{tuple(mask_token.shape)}")
    fill = mask_token.reshape(1, 1, D).to(tokens.dtype).expand(B, N, D)  # (1, 1, D) -> (B, N, D)
    return torch.where(mask[..., None], fill, tokens)  # (B, N, 1) picks per patch


class VisionTransformer(nn.Module):
    r"""ViT (Sec. 3.1): patches -> $E$ -> prepend $x_\text{class}$ -> $+E_\text{pos}$ -> encoder
    -> $\mathrm{LN}(z_L^0)$ -> head.

    Args:
        config: a :class:`ViTConfig`.

    Attributes:
        patch_embed: :class:`~vit_tutorial.patch_embedding.PatchEmbedding` ($E$, lesson 02).
        class_token: :class:`~vit_tutorial.class_token.ClassToken` ($x_\text{class}$, lesson 03).
        positional_embedding: :class:`~vit_tutorial.positional_embedding.PositionalEmbedding`
            ($E_\text{pos}$, lesson 04), or ``None`` when ``positional_embedding="none"``.
        encoder: :class:`~vit_tutorial.encoder.Encoder` (Eq. 2–3).
        norm: the final LayerNorm of Eq. 4.
        head: ``nn.Linear(D, num_classes)`` on $y$.

    Shapes:
        - images ``(B, C, H, W)`` -> logits ``(B, num_classes)``
        - a NaFlex batch (lesson 11: a dict of ``patches`` ``(B, L, C·P·P)``,
          ``patch_coord`` ``(B, L, 2)``, ``patch_valid`` ``(B, L)``, as timm's) -> logits
          ``(B, num_classes)``: each image with its own grid and $E_\text{pos}$, the padding
          masked.
    """

    def __init__(self, config: ViTConfig | None = None):
        super().__init__()
        config = ViTConfig() if config is None else config
        if not isinstance(config, ViTConfig):
            raise TypeError(f"config must be a ViTConfig, got {type(config).__name__}")
        self.config = config
        D = config.embed_dim
        self.patch_embed = PatchEmbedding(config.image_size, config.patch_size,
                                          config.in_channels, D)
        self.class_token = ClassToken(D)
        self.reg_token = None  # timm's name: registers load from timm's models
        if config.num_register_tokens:
            self.reg_token = nn.Parameter(torch.zeros(1, config.num_register_tokens, D))
        self.positional_embedding = None
        if config.positional_embedding == "factorized":  # lesson 11: a row and a column table
            self.positional_embedding = FactorizedPositionalEmbedding(
                self.patch_embed.grid_size, D)
        elif config.positional_embedding != "none":
            self.positional_embedding = PositionalEmbedding(
                self.patch_embed.num_patches, D, num_prefix_tokens=self.num_prefix_pos_embed)
        if config.positional_embedding == "sincos":  # fixed, not trained
            with torch.no_grad():
                self.positional_embedding.pos_embed.copy_(
                    _sincos_table(self.patch_embed.grid_size, D, self.num_prefix_pos_embed))
            self.positional_embedding.pos_embed.requires_grad_(False)
        self.dropout = nn.Dropout(config.dropout)  # after adding E_pos (Appendix B.1)
        self.encoder = Encoder(config.depth, D, config.num_heads, config.mlp_dim, config.dropout)
        self.norm = nn.LayerNorm(D, eps=LAYER_NORM_EPS)
        self.head = nn.Linear(D, config.num_classes)

    @property
    def num_prefix_tokens(self) -> int:
        """The class token and the registers, in front of the patch tokens."""
        return self.config.num_prefix_tokens

    @property
    def num_prefix_pos_embed(self) -> int:
        """How many prefix tokens have a row in E_pos (all of them, or none)."""
        return self.num_prefix_tokens if self.config.prefix_pos_embed else 0

    def _check_images(self, images: object) -> None:
        expected = self.patch_embed.image_size
        if isinstance(images, torch.Tensor) and images.ndim == 4 \
                and tuple(images.shape[-2:]) != expected and images.shape[1] == \
                self.config.in_channels:
            H, W = images.shape[-2:]
            raise ValueError(
                f"this ViT was built for {expected[0]}x{expected[1]} images, got {H}x{W}; resize "
                f"the images, or make a copy for the new size with model.resized(({H}, {W})), "
                f"which interpolates E_pos to the new grid (lesson 06)")

    def _prefix(self, tokens: torch.Tensor) -> torch.Tensor:
        """Prepend the class token, then the registers after it: ``(B, N, D) -> (B, k + N, D)``."""
        tokens = self.class_token(tokens)  # (B, 1 + N, D)
        if self.reg_token is None:
            return tokens
        registers = self.reg_token.expand(tokens.shape[0], -1, -1)  # (B, R, D)
        return torch.cat([tokens[:, :1], registers.to(tokens.dtype), tokens[:, 1:]], dim=1)

    def embed(self, images: torch.Tensor, mask: torch.Tensor | None = None,
              mask_token: torch.Tensor | None = None) -> torch.Tensor:
        r"""Eq. 1: the token sequence $z_0$ the encoder reads. ``(B, C, H, W) -> (B, k + N, D)``
        with ``k`` = 1 class token (+ registers).

        Args:
            images: ``(B, C, H, W)``, or a NaFlex batch (``(B, k + L, D)`` then, see
                :meth:`embed_naflex`).
            mask: optional ``(B, N)`` booleans: these patches' embeddings are replaced by
                ``mask_token`` before $E_\text{pos}$ is added — masked patch prediction,
                the self-supervision of Sec. 4.6 (the course model trains with it, lesson 09).
            mask_token: ``(1, 1, D)``, the learned embedding of a hidden patch.
        """
        if isinstance(images, dict):
            if mask is not None:
                raise ValueError("masked patch prediction reads images (B, C, H, W), not a "
                                 "NaFlex batch")
            return self.dropout(self.embed_naflex(images))
        self._check_images(images)
        tokens = self.patch_embed(images)  # (B, N, D)
        if mask is not None:
            tokens = mask_patch_tokens(tokens, mask, mask_token)  # (B, N, D)
        if self.positional_embedding is None:
            return self.dropout(self._prefix(tokens))
        if self.config.prefix_pos_embed:  # the paper: E_pos has a row for the class token
            return self.dropout(self.positional_embedding(self._prefix(tokens)))
        return self.dropout(self._prefix(self.positional_embedding(tokens)))  # patches only

    def embed_naflex(self, batch: dict) -> torch.Tensor:
        r"""Eq. 1 for a NaFlex batch (lesson 11): $x_p E$ as a matrix product (lesson 02),
        each image's own $E_\text{pos}$ (resized to its grid, or factorized), then the class
        token (and registers) in front. ``-> (B, k + L, D)``; padding tokens get $E$'s bias
        only, and the attention mask keeps them out."""
        proj = self.patch_embed.proj
        patches, coord, valid = check_naflex_batch(batch, proj.weight[0].numel())
        if patches.dtype != proj.weight.dtype:
            raise TypeError(f"the model's weights are {proj.weight.dtype} but the patches are "
                            f"{patches.dtype}; convert the patches with "
                            f"patches.to({proj.weight.dtype})")
        tokens = F.linear(patches, proj.weight.flatten(1), proj.bias)  # (B, L, C·P·P) -> (B, L, D)
        kind, k = self.config.positional_embedding, self.num_prefix_pos_embed
        if kind != "none":
            tokens = tokens + pos_embed_per_token(self._pos_table, coord, valid)  # (B, L, D)
        z = self._prefix(tokens)  # (B, k + L, D)
        if kind in ("learned", "sincos") and k:  # E_pos's rows for the prefix tokens
            pos = self.positional_embedding.pos_embed[:, :k]  # (1, k, D)
            z = torch.cat([z[:, :k] + pos, z[:, k:]], dim=1)
        return z

    def _pos_table(self, grid: tuple[int, int]) -> torch.Tensor:
        """E_pos of the patches for one image's grid: ``(1, rows·columns, D)``."""
        kind, k = self.config.positional_embedding, self.num_prefix_pos_embed
        if kind == "factorized":
            return self.positional_embedding.table(grid)
        pos = self.positional_embedding.pos_embed
        if kind == "sincos":  # a fixed table: rebuilt for the grid, as resized() does
            return sincos_2d_pos_embed(grid, self.config.embed_dim, device=pos.device,
                                       dtype=pos.dtype)[None]
        return pos_embed_for_grid(pos, grid, self.patch_embed.grid_size, k)[:, k:]

    def forward_features(self, images: torch.Tensor | dict, return_attention: bool = False):
        r"""Eq. 1–4 without the head: $y = \mathrm{LN}(z_L^0)$, ``(B, D)``; with
        ``return_attention=True`` also each layer's attention weights ``(B, h, T, T)``.
        ``images`` may be a NaFlex batch: then the padding is masked in every layer."""
        z = self.embed(images)  # (B, T, D)
        mask = None
        if isinstance(images, dict):  # padding takes no part (lesson 11)
            mask = attention_mask(images["patch_valid"], self.num_prefix_tokens, z.dtype)
        z = self.encoder(z, return_attention=return_attention, mask=mask)
        if return_attention:
            z, maps = z
        y = self.norm(z[:, 0])  # Eq. 4: the class token's final state, (B, D)
        return (y, maps) if return_attention else y

    def forward(self, images: torch.Tensor | dict) -> torch.Tensor:
        return self.head(self.forward_features(images))  # (B, num_classes)

    def resized(self, image_size: int | tuple[int, int], mode: str = "bicubic",
                align_corners: bool = False, antialias: bool = False) -> VisionTransformer:
        """A copy of this model for another image size (Sec. 3.2): the patch size and every
        weight stay, and $E_\text{pos}$ is 2-D interpolated to the new grid with
        :func:`~vit_tutorial.interpolation.resize_pos_embed` (class token kept).

        Example:
            >>> vit_384 = vit_224.resized(384)  # 197 -> 577 position embeddings
        """
        from vit_tutorial.interpolation import resize_pos_embed

        config = replace(self.config, image_size=image_size)
        new_grid = PatchEmbedding(config.image_size, config.patch_size).grid_size  # checks the size
        state = self.state_dict()
        if self.positional_embedding is not None:
            key = "positional_embedding.pos_embed"
            if config.positional_embedding == "factorized":  # each 1-D table, linearly
                table = self.positional_embedding
                state[key + "_y"] = table.resample(state[key + "_y"], new_grid[0])
                state[key + "_x"] = table.resample(state[key + "_x"], new_grid[1])
            elif config.positional_embedding == "sincos":  # a fixed table: rebuild, don't resize
                state[key] = _sincos_table(new_grid, config.embed_dim,
                                           self.num_prefix_pos_embed).to(state[key])
            else:
                state[key] = resize_pos_embed(state[key], new_grid, self.patch_embed.grid_size,
                                              num_prefix_tokens=self.num_prefix_pos_embed,
                                              mode=mode, align_corners=align_corners,
                                              antialias=antialias)
        return type(self).from_state_dict(config, state).train(self.training)

    @classmethod
    def from_state_dict(cls, config: ViTConfig, state_dict: dict) -> VisionTransformer:
        """A model of ``config`` holding a copy of ``state_dict``'s tensors (built without
        initialising its weights first, which for ViT-B/16 saves about a second)."""
        with torch.device("meta"):  # shapes only: no memory, no random initialisation
            model = cls(config)
        state = {key: value.detach().clone() for key, value in state_dict.items()}
        model.load_state_dict(state, assign=True)  # raises on missing, unexpected or mis-sized keys
        if config.positional_embedding == "sincos":
            model.positional_embedding.pos_embed.requires_grad_(False)
        return model
