r"""The whole Vision Transformer, composed from the lessons' modules (Eq. 1–4).

$$z_0 = [x_\text{class};\, x_p^1 E;\, \dots;\, x_p^N E] + E_\text{pos} \quad (1)$$
$$z_\ell = \text{pre-norm MSA and MLP blocks} \quad (2, 3) \qquad y = \mathrm{LN}(z_L^0) \quad (4)$$

and a linear head on $y$. The course's two trained models are this class with one small
configuration (:data:`TINY_VIT_CONFIG`), trained on scikit-learn's handwritten digits by
``python -m vit_tutorial.train``: TinyViT (lessons 04–06, :func:`load_tiny_vit`) and the
course model (lesson 09, :func:`load_course_model`); their checkpoints ship in the package.

See ``notebooks/08_model.ipynb`` (lesson 08).

Why one module: the model, its Table 1 presets and the loaders of the two trained models
are the names lessons 04–09 import from ``vit_tutorial.model``; the loaders need the
model's class, so they can't sit below it. Reading a NaFlex batch (lesson 11) adds a few
lines here; the pieces it uses live in :mod:`vit_tutorial.native_resolution`.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vit_tutorial._checks import (
    check_bool,
    check_choice,
    check_divisible,
    check_dropout,
    check_has_values,
    check_heads,
    check_positive_int,
    check_same_device,
    check_size,
    check_tensor,
    to_pair,
)
from vit_tutorial.checkpoints import read_checkpoint, state_dict_sha256
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

__all__ = ["ViTConfig", "VisionTransformer", "TinyViT", "TINY_VIT_CONFIG", "load_tiny_vit",
           "TINY_VIT_CHECKPOINT", "COURSE_MODEL_CHECKPOINT", "load_course_model",
           "POSITIONAL_EMBEDDINGS", "CONFIGS", "vit_b_16", "vit_b_32",
           "vit_l_16", "vit_l_32", "vit_h_14", "evaluate", "state_dict_sha256",
           "stored_config", "mask_patch_tokens"]

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
                self.patch_embed.num_patches, D, num_prefix_tokens=self.pos_embed_prefix)
        if config.positional_embedding == "sincos":  # fixed, not trained
            with torch.no_grad():
                self.positional_embedding.pos_embed.copy_(
                    _sincos_table(self.patch_embed.grid_size, D, self.pos_embed_prefix))
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
    def pos_embed_prefix(self) -> int:
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
        kind, k = self.config.positional_embedding, self.pos_embed_prefix
        if kind != "none":
            tokens = tokens + pos_embed_per_token(self._pos_table, coord, valid)  # (B, L, D)
        z = self._prefix(tokens)  # (B, k + L, D)
        if kind in ("learned", "sincos") and k:  # E_pos's rows for the prefix tokens
            pos = self.positional_embedding.pos_embed[:, :k]  # (1, k, D)
            z = torch.cat([z[:, :k] + pos, z[:, k:]], dim=1)
        return z

    def _pos_table(self, grid: tuple[int, int]) -> torch.Tensor:
        """E_pos of the patches for one image's grid: ``(1, rows·columns, D)``."""
        kind, k = self.config.positional_embedding, self.pos_embed_prefix
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
                                           self.pos_embed_prefix).to(state[key])
            else:
                state[key] = resize_pos_embed(state[key], new_grid, self.patch_embed.grid_size,
                                              num_prefix_tokens=self.pos_embed_prefix,
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


# --- the paper's sizes (Table 1) ---------------------------------------------------------

_TABLE_1 = {  # layers L, hidden size D, MLP size, heads h
    "B": dict(depth=12, embed_dim=768, mlp_dim=3072, num_heads=12),  # "86M"
    "L": dict(depth=24, embed_dim=1024, mlp_dim=4096, num_heads=16),  # "307M"
    "H": dict(depth=32, embed_dim=1280, mlp_dim=5120, num_heads=16),  # "632M"
}

# name -> ViTConfig; "vit_b_16" = ViT-Base with 16×16 patches, as torchvision names them
CONFIGS = {
    f"vit_{size.lower()}_{patch}": ViTConfig(patch_size=patch, **_TABLE_1[size])
    for size, patch in (("B", 16), ("B", 32), ("L", 16), ("L", 32), ("H", 14))
}


def _preset(name: str, overrides: dict) -> VisionTransformer:
    known = [f.name for f in fields(ViTConfig)]
    unknown = [key for key in overrides if key not in known]
    if unknown:
        raise TypeError(f"{name}() got an unexpected keyword argument {unknown[0]!r}; the "
                        f"keywords are ViTConfig's fields: {', '.join(known)}")
    return VisionTransformer(replace(CONFIGS[name], **overrides))


def vit_b_16(**overrides) -> VisionTransformer:
    """ViT-Base/16 (Table 1: 12 layers, D = 768, MLP 3072, 12 heads; 86,567,656 parameters
    with a 1,000-class head). Keyword arguments override the config, e.g. ``image_size=384``."""
    return _preset("vit_b_16", overrides)


def vit_b_32(**overrides) -> VisionTransformer:
    """ViT-Base/32 (Table 1's Base with 32×32 patches)."""
    return _preset("vit_b_32", overrides)


def vit_l_16(**overrides) -> VisionTransformer:
    """ViT-Large/16 (Table 1: 24 layers, D = 1024, MLP 4096, 16 heads)."""
    return _preset("vit_l_16", overrides)


def vit_l_32(**overrides) -> VisionTransformer:
    """ViT-Large/32."""
    return _preset("vit_l_32", overrides)


def vit_h_14(**overrides) -> VisionTransformer:
    """ViT-Huge/14 (Table 1: 32 layers, D = 1280, MLP 5120, 16 heads)."""
    return _preset("vit_h_14", overrides)


# --- TinyViT: the course's trained model -----------------------------------------------

TINY_VIT_CONFIG = ViTConfig(
    image_size=28,  # 8×8 digits upsampled to 28×28 ...
    patch_size=4,  # ... so that 4×4 patches give a 7×7 grid: 49 positions
    in_channels=1,  # grayscale
    num_classes=10,  # digits 0–9
    embed_dim=64,
    depth=4,
    num_heads=4,
    mlp_dim=128,
    dropout=0.0,
)


class TinyViT(VisionTransformer):
    """A :class:`VisionTransformer` with :data:`TINY_VIT_CONFIG` (or another config)."""

    def __init__(self, config: ViTConfig = TINY_VIT_CONFIG):
        super().__init__(config)


TINY_VIT_CHECKPOINT = Path(__file__).parent / "checkpoints" / "tiny_vit_digits.pt"
# python -m vit_tutorial.train reproduces it (one CPU thread)
TINY_VIT_SHA256 = "2f5a137ecb113f80792b351ea60fe94082c2a87ce0db5eb50f6e5f4df9447f3d"


def stored_config(checkpoint: dict, path: Path | str = "the checkpoint") -> ViTConfig:
    """The :class:`ViTConfig` a checkpoint was trained with (fields it lacks, added to the
    course later, take their defaults)."""
    values = checkpoint["config"]
    unknown = sorted(set(values) - {f.name for f in fields(ViTConfig)})
    if unknown:
        raise ValueError(f"{path}: its config has fields this version of the course doesn't "
                         f"know ({', '.join(unknown)}); update the package or retrain")
    try:
        return ViTConfig(**values)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path}: its config is not a valid ViTConfig ({error})") from error


def _matching_state(checkpoint: dict, config: ViTConfig, path: Path) -> dict:
    """The checkpoint's state dict, if its names and shapes are those of a model of
    ``config``; otherwise a ``ValueError`` naming the first differences."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in VisionTransformer(config).state_dict().items()}
    state = checkpoint["state_dict"]
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} (expected {expected[k]})" for k in expected
             if k in state and tuple(state[k].shape) != expected[k]]
    if missing or unexpected or wrong:
        parts = [f"{name}: {', '.join(items[:3])}{' …' if len(items) > 3 else ''}"
                 for name, items in (("missing", missing), ("unexpected", unexpected),
                                     ("wrong shape", wrong)) if items]
        raise ValueError(f"checkpoint {path} does not fit a model of its configuration "
                         f"({'; '.join(parts)}); was it saved by another version of the "
                         f"course? Retrain it with `python -m vit_tutorial.train`")
    return state


def _training_task(recipe: dict) -> str:
    """What a checkpoint's model learned, read from its recipe (the ``TrainConfig`` fields
    ``python -m vit_tutorial.train`` stores): the digits it saw, and its losses."""
    task = ("centred digits" if recipe.get("digit_size") is None
            else "digits placed anywhere on the canvas")
    mpp = recipe.get("mpp_weight") or 0
    return task + (" with masked patch prediction" if mpp > 0 else "")


_TINY_VIT_TASK = "centred digits"  # _training_task of the shipped TinyViT's recipe
_COURSE_MODEL_TASK = "digits placed anywhere on the canvas with masked patch prediction"


def _check_task(checkpoint: dict, path: Path, task: str, name: str, other: str) -> None:
    """Refuse a checkpoint whose stored recipe trained another model than ``task``'s (one
    without a recipe, not written by the training command, is not checked)."""
    recipe = checkpoint.get("recipe")
    if recipe is None:
        return
    if not isinstance(recipe, dict):
        raise ValueError(f"{path}: 'recipe' must be a dict of TrainConfig fields, got "
                         f"{type(recipe).__name__}")
    if _training_task(recipe) != task:
        raise ValueError(f"checkpoint {path.name} was trained on {_training_task(recipe)} (its "
                         f"stored recipe), not on {task} as {name} is; load it with {other}")


def _load_trained(path: str | Path | None, sha256: str | None, shipped_path: Path,
                  shipped_sha256: str, config: ViTConfig, retrain: str, task: str, name: str,
                  other: str) -> TinyViT:
    if path is not None and not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a file path (a str or pathlib.Path), got {path!r} of "
                        f"type {type(path).__name__}; leave it out for the shipped checkpoint")
    shipped = path is None or Path(path).resolve() == shipped_path.resolve()
    path = shipped_path if path is None else Path(path)
    if sha256 == "default":
        sha256 = shipped_sha256 if shipped else None
    checkpoint = read_checkpoint(path, sha256, retrain=f"retrain it with `{retrain}`",
                                 shipped=shipped)
    _check_task(checkpoint, path, task, name, other)
    stored = stored_config(checkpoint, path)
    if stored != config:
        diffs = [f"{k}: checkpoint {v!r}, expected {getattr(config, k)!r}"
                 for k, v in asdict(stored).items() if getattr(config, k) != v]
        raise ValueError(f"checkpoint {path.name} was trained with another configuration "
                         f"({'; '.join(diffs)}); pass config=stored_config(checkpoint), "
                         f"or retrain with `{retrain}`")
    return TinyViT.from_state_dict(config, _matching_state(checkpoint, config, path)).eval()


def load_tiny_vit(path: str | Path | None = None, sha256: str | None = "default",
                  config: ViTConfig = TINY_VIT_CONFIG) -> TinyViT:
    """The trained TinyViT of lessons 04–06 (centred digits), in eval mode.

    Args:
        path: a checkpoint file; default: the one shipped in the package.
        sha256: the file's expected SHA-256; ``"default"`` checks the shipped file's hash
            (only when ``path`` is the shipped file), ``None`` skips the check.
        config: the configuration the checkpoint must have been trained with.

    Raises:
        ValueError: damaged file, wrong hash, or a checkpoint of another configuration, or
            of another model (its stored recipe trained the course model).
    """
    return _load_trained(path, sha256, TINY_VIT_CHECKPOINT, TINY_VIT_SHA256, config,
                         "python -m vit_tutorial.train", _TINY_VIT_TASK, "TinyViT",
                         "load_course_model(path)")


COURSE_MODEL_CHECKPOINT = Path(__file__).parent / "checkpoints" / "course_model_digits.pt"
# python -m vit_tutorial.train --model course reproduces it (one CPU thread)
COURSE_MODEL_SHA256 = "d4c432ea185702d75739f7c22cc4264790321ca9877cf7bd3dfb7440f7db95a4"


def load_course_model(path: str | Path | None = None, sha256: str | None = "default"
                      ) -> TinyViT:
    """The course model of lesson 09, in eval mode: TinyViT's sizes, trained on digits
    placed anywhere on the canvas, with masked patch prediction (Sec. 4.6) beside the
    classification loss — a recipe under which Figure 7's three panels and Figure 6 show.

    Args:
        path, sha256: as for :func:`load_tiny_vit`.
    """
    return _load_trained(path, sha256, COURSE_MODEL_CHECKPOINT, COURSE_MODEL_SHA256,
                         TINY_VIT_CONFIG, "python -m vit_tutorial.train --model course",
                         _COURSE_MODEL_TASK, "the course model", "load_tiny_vit(path)")


@torch.no_grad()
def evaluate(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 512) -> float:
    """Accuracy of ``model`` on ``(images, labels)``, in [0, 1] (in eval mode; the model's
    mode is restored afterwards).

    Args:
        model: a classifier: images ``(b, ...)`` -> logits ``(b, num_classes)``.
        images: ``(B, C, H, W)``.
        labels: ``(B,)`` class indices (integers), as ``digits()`` returns them.
        batch_size: images per forward pass (a positive int).

    Raises:
        ValueError: an empty data set, images and labels of different lengths, labels that
            are not one index per image (one-hot rows, a ``(B, 1)`` column), a batch size
            that is not a positive int, or images on the meta device (no values to count).
    """
    check_tensor(images, "images")
    check_tensor(labels, "labels")
    batch_size = check_positive_int(batch_size, "batch_size")
    integers = not (labels.is_floating_point() or labels.is_complex()
                    or labels.dtype == torch.bool)
    if labels.ndim != 1 or not integers:
        hint = ""
        if labels.ndim == 2:  # one-hot rows, or a column
            hint = ("; one-hot rows? pass labels.argmax(-1)" if labels.shape[1] > 1
                    else "; for a column pass labels.reshape(-1)")
        elif labels.ndim == 1:
            hint = "; convert with labels.long()"
        raise ValueError(f"labels must be class indices, one integer per image, shape (B,); got "
                         f"{labels.dtype} of shape {tuple(labels.shape)}{hint}")
    if len(labels) == 0 or len(images) != len(labels):
        raise ValueError(f"evaluate needs as many images as labels, at least one; got "
                         f"{len(images)} images and {len(labels)} labels")
    check_has_values(images, "images", "an accuracy")
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(labels), batch_size):
        logits = model(images[start:start + batch_size])  # (b, num_classes)
        batch_labels = labels[start:start + batch_size].to(logits.device)  # (b,)
        correct += (logits.argmax(-1) == batch_labels).sum().item()
    model.train(was_training)
    return correct / len(labels)
