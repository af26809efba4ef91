r"""The whole Vision Transformer, composed from the lessons' modules (Eq. 1–4).

$$z_0 = [x_\text{class};\, x_p^1 E;\, \dots;\, x_p^N E] + E_\text{pos} \quad (1)$$
$$z_\ell = \text{pre-norm MSA and MLP blocks} \quad (2, 3) \qquad y = \mathrm{LN}(z_L^0) \quad (4)$$

and a linear head on $y$. :class:`TinyViT` is the same class with a small configuration,
trained on scikit-learn's handwritten digits (``python -m vit_tutorial.train``); its
checkpoint ships inside the package and :func:`load_tiny_vit` loads it.
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
from torch import nn

from vit_tutorial._checks import check_tensor, to_pair
from vit_tutorial.class_token import ClassToken
from vit_tutorial.encoder import LAYER_NORM_EPS, Encoder, _check_width
from vit_tutorial.patch_embedding import PatchEmbedding
from vit_tutorial.positional_embedding import PositionalEmbedding, sincos_2d_pos_embed

__all__ = ["ViTConfig", "VisionTransformer", "TinyViT", "TINY_VIT_CONFIG", "load_tiny_vit",
           "TINY_VIT_CHECKPOINT", "POSITION_EMBEDDINGS", "CONFIGS", "vit_b_16", "vit_b_32",
           "vit_l_16", "vit_l_32", "vit_h_14", "plot_principal_components"]

POSITION_EMBEDDINGS = ("learned", "sincos", "none")


@dataclass(frozen=True)
class ViTConfig:
    """Sizes of a Vision Transformer. Defaults: ViT-B/16 at 224×224 (Table 1)."""

    image_size: int | tuple[int, int] = 224  # H = W; fine-tuning uses 384 (Sec. 3.2)
    patch_size: int | tuple[int, int] = 16  # P, ViT-B/16
    in_channels: int = 3  # C, RGB
    num_classes: int = 1000  # ImageNet-1k head
    embed_dim: int = 768  # D, "Hidden size" in Table 1
    depth: int = 12  # L, "Layers"
    num_heads: int = 12  # h, "Heads"
    mlp_dim: int = 3072  # "MLP size" = 4·D
    dropout: float = 0.0  # Appendix B.1: 0.1 for some runs, 0 at inference
    position_embedding: str = "learned"  # the paper's learned 1-D E_pos; "sincos"/"none" for lesson 04

    def __post_init__(self):
        _check_width(self.embed_dim, self.num_heads)
        if self.position_embedding not in POSITION_EMBEDDINGS:
            raise ValueError(f"position_embedding must be one of {POSITION_EMBEDDINGS}, got "
                             f"{self.position_embedding!r}")
        to_pair(self.image_size, "image_size")
        to_pair(self.patch_size, "patch_size")


def _sincos_table(grid_size: tuple[int, int], embed_dim: int) -> torch.Tensor:
    """The fixed 2-D sine–cosine E_pos with a zero row for the class token, ``(1, N + 1, D)``."""
    table = sincos_2d_pos_embed(grid_size, embed_dim)  # (N, D)
    return torch.cat([torch.zeros(1, embed_dim), table]).unsqueeze(0)  # (N, D) -> (1, N + 1, D)


class VisionTransformer(nn.Module):
    r"""ViT (Sec. 3.1): patches -> $E$ -> prepend $x_\text{class}$ -> $+E_\text{pos}$ -> encoder
    -> $\mathrm{LN}(z_L^0)$ -> head.

    Args:
        config: a :class:`ViTConfig`.

    Attributes:
        patch_embed: :class:`~vit_tutorial.patch_embedding.PatchEmbedding` ($E$, lesson 02).
        class_token: :class:`~vit_tutorial.class_token.ClassToken` ($x_\text{class}$, lesson 03).
        pos_embedding: :class:`~vit_tutorial.positional_embedding.PositionalEmbedding`
            ($E_\text{pos}$, lesson 04), or ``None`` when ``position_embedding="none"``.
        encoder: :class:`~vit_tutorial.encoder.Encoder` (Eq. 2–3).
        norm: the final LayerNorm of Eq. 4.
        head: ``nn.Linear(D, num_classes)`` on $y$.

    Shapes:
        images ``(B, C, H, W)`` -> logits ``(B, num_classes)``
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
        N = self.patch_embed.num_patches
        self.pos_embedding = None
        if config.position_embedding != "none":
            self.pos_embedding = PositionalEmbedding(N, D, num_prefix_tokens=1)
        if config.position_embedding == "sincos":  # fixed, not trained
            with torch.no_grad():
                self.pos_embedding.pos_embed.copy_(_sincos_table(self.patch_embed.grid_size, D))
            self.pos_embedding.pos_embed.requires_grad_(False)
        self.dropout = nn.Dropout(config.dropout)  # after adding E_pos (Appendix B.1)
        self.encoder = Encoder(config.depth, D, config.num_heads, config.mlp_dim, config.dropout)
        self.norm = nn.LayerNorm(D, eps=LAYER_NORM_EPS)
        self.head = nn.Linear(D, config.num_classes)

    def embed(self, images: torch.Tensor) -> torch.Tensor:
        """Eq. 1: the token sequence $z_0$ the encoder reads. ``(B, C, H, W) -> (B, N + 1, D)``"""
        expected = self.patch_embed.image_size
        if isinstance(images, torch.Tensor) and images.ndim == 4 and tuple(images.shape[-2:]) != expected:
            H, W = images.shape[-2:]
            raise ValueError(
                f"this ViT was built for {expected[0]}x{expected[1]} images, got {H}x{W}; resize "
                f"the images, or make a copy for the new size with model.resized(({H}, {W})), "
                f"which interpolates E_pos to the new grid (lesson 06)")
        tokens = self.patch_embed(images)  # (B, N, D)
        tokens = self.class_token(tokens)  # (B, N + 1, D)
        if self.pos_embedding is not None:
            tokens = self.pos_embedding(tokens)  # + E_pos, (B, N + 1, D)
        return self.dropout(tokens)

    def forward_features(self, images: torch.Tensor, return_attention: bool = False):
        r"""Eq. 1–4 without the head: $y = \mathrm{LN}(z_L^0)$, ``(B, D)``; with
        ``return_attention=True`` also each layer's attention weights ``(B, h, T, T)``."""
        z = self.encoder(self.embed(images), return_attention=return_attention)
        if return_attention:
            z, maps = z
        y = self.norm(z[:, 0])  # Eq. 4: the class token's final state, (B, D)
        return (y, maps) if return_attention else y

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_features(images))  # (B, num_classes)

    def resized(self, image_size: int | tuple[int, int], mode: str = "bicubic",
                align_corners: bool = False, antialias: bool = False) -> "VisionTransformer":
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
        if self.pos_embedding is not None:
            key = "pos_embedding.pos_embed"
            if config.position_embedding == "sincos":  # a fixed table: rebuild, don't resize
                state[key] = _sincos_table(new_grid, config.embed_dim).to(state[key])
            else:
                state[key] = resize_pos_embed(state[key], new_grid, self.patch_embed.grid_size,
                                              num_prefix_tokens=1, mode=mode,
                                              align_corners=align_corners, antialias=antialias)
        return type(self).from_state_dict(config, state).train(self.training)

    @classmethod
    def from_state_dict(cls, config: ViTConfig, state_dict: dict) -> "VisionTransformer":
        """A model of ``config`` holding a copy of ``state_dict``'s tensors (built without
        initialising its weights first, which for ViT-B/16 saves about a second)."""
        with torch.device("meta"):  # shapes only: no memory, no random initialisation
            model = cls(config)
        state = {key: value.detach().clone() for key, value in state_dict.items()}
        model.load_state_dict(state, assign=True)  # raises on missing, unexpected or mis-sized keys
        if config.position_embedding == "sincos":
            model.pos_embedding.pos_embed.requires_grad_(False)
        return model


# --- the paper's sizes (Table 1) ---------------------------------------------------------

_TABLE_1 = {  # layers L, hidden size D, MLP size, heads h
    "B": dict(depth=12, embed_dim=768, mlp_dim=3072, num_heads=12),  # "86M"
    "L": dict(depth=24, embed_dim=1024, mlp_dim=4096, num_heads=16),  # "307M"
    "H": dict(depth=32, embed_dim=1280, mlp_dim=5120, num_heads=16),  # "632M"
}

CONFIGS = {  # name -> ViTConfig; "vit_b_16" = ViT-Base with 16×16 patches, as torchvision names them
    f"vit_{size.lower()}_{patch}": ViTConfig(patch_size=patch, **_TABLE_1[size])
    for size, patch in (("B", 16), ("B", 32), ("L", 16), ("L", 32), ("H", 14))
}


def _preset(name: str, overrides: dict) -> VisionTransformer:
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
TINY_VIT_SHA256 = "1b23c5288be612ad235cbba8edf74d9cfe97f983cac63e226f4ca65ced41a9f9"  # python -m vit_tutorial.train reproduces it on a 2-core x86_64 CPU


def _read_checkpoint(path: Path, sha256: str | None) -> dict:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; train one with "
                                f"`python -m vit_tutorial.train --output {path}`")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256:
        raise ValueError(f"checkpoint {path.name} is corrupt or was replaced: its SHA-256 is "
                         f"{digest[:16]}…, expected {sha256[:16]}…; reinstall the package "
                         f"(or pass sha256=None to load a checkpoint you trained yourself)")
    try:
        checkpoint = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a damaged file
        raise ValueError(f"checkpoint {path.name} could not be read ({type(error).__name__}); "
                         f"the file is corrupt: retrain it with `python -m vit_tutorial.train`"
                         ) from error
    if not isinstance(checkpoint, dict) or not {"config", "state_dict"} <= checkpoint.keys():
        raise ValueError(f"checkpoint {path.name} is not a TinyViT checkpoint: expected a dict "
                         f"with 'config' and 'state_dict'")
    return checkpoint


def load_tiny_vit(path: str | Path | None = None, sha256: str | None = "default",
                  config: ViTConfig = TINY_VIT_CONFIG) -> TinyViT:
    """The trained TinyViT, in eval mode.

    Args:
        path: a checkpoint file; default: the one shipped in the package.
        sha256: the file's expected SHA-256; ``"default"`` checks the shipped file's hash
            (only when ``path`` is the shipped file), ``None`` skips the check.
        config: the configuration the checkpoint must have been trained with.

    Raises:
        ValueError: corrupt file, wrong hash, or a checkpoint of another configuration.
    """
    shipped = path is None or Path(path).resolve() == TINY_VIT_CHECKPOINT.resolve()
    path = TINY_VIT_CHECKPOINT if path is None else Path(path)
    if sha256 == "default":
        sha256 = TINY_VIT_SHA256 if shipped else None
    checkpoint = _read_checkpoint(path, sha256)
    stored = checkpoint["config"]
    expected = asdict(config)
    stored = {k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()}
    if stored != expected:
        diffs = [f"{k}: checkpoint {stored.get(k)!r}, expected {expected.get(k)!r}"
                 for k in sorted(set(stored) | set(expected)) if stored.get(k) != expected.get(k)]
        raise ValueError(f"checkpoint {path.name} was trained with another configuration "
                         f"({'; '.join(diffs)}); pass config=ViTConfig(**checkpoint['config']) "
                         f"or retrain with `python -m vit_tutorial.train`")
    model = TinyViT(replace(config))
    model.load_state_dict(checkpoint["state_dict"])
    return model.eval()


def config_from_dict(values: dict) -> ViTConfig:
    """A :class:`ViTConfig` from a checkpoint's stored dict (lists become tuples)."""
    names = {f.name for f in fields(ViTConfig)}
    unknown = set(values) - names
    if unknown:
        raise ValueError(f"unknown ViTConfig fields {sorted(unknown)}")
    return ViTConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


# --- Figure 7 (left): what the patch-embedding filters look like ---------------------------


def plot_principal_components(components: torch.Tensor, explained: torch.Tensor, *,
                              ncols: int = 8, title: str | None = None, fig=None):
    r"""Draw Figure 7 (left): the principal components of the patch-embedding filters $E$.

    Each component is a ``(C, P, P)`` filter, drawn as a small image with its number and
    the share of variance it explains. Grayscale filters (``C = 1``) share one colour scale,
    symmetric about 0 (black negative, mid-grey 0, white positive), explained by one colour
    bar. RGB filters (``C = 3``) are drawn as colour images, each rescaled to [0, 1] on its
    own, as the paper does; they get no colour bar.

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

    from vit_tutorial._checks import check_positive_int

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
        ax.set_title(f"PC {index + 1}\n{100 * shares[index].item():.1f} %", fontsize=8)
    if C == 1:
        fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap="gray"), ax=axes, shrink=0.8,
                     label="filter weight")
    if title:
        fig.suptitle(title)
    return fig, axes
