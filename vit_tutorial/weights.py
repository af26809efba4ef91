"""Real weights in the course's ViT: torchvision's and timm's models, converted key by key.

:func:`from_torchvision` and :func:`from_timm` take a torchvision or timm
``VisionTransformer`` *object* (any size: the config is read from it) and return the
course's :class:`~vit_tutorial.model.VisionTransformer` holding the same weights, so it
gives the same logits. The key mapping is the tables below. timm's register tokens
(``reg_tokens``, lesson 10) and position embeddings without prefix rows
(``no_embed_class``) convert too, and so does timm's ``NaFlexVit`` (lesson 11: learned or
factorized E_pos on a base grid, patches in (C, P, P) order), whose NaFlex batches the
course's model then reads; variants the course's model doesn't implement (average
pooling, layer scale, qk-norm, …) raise an error naming the variant — never silently wrong
logits. Lessons: ``notebooks/08_model.ipynb`` (and 10 for registers).

Pretrained weights are loaded only when allowed: the course runs offline and its tests and
CI never download anything. :func:`torchvision_pretrained_state_dict` uses torch's cache,
downloads only when asked (the lessons ask on Colab), and otherwise raises
:class:`WeightsUnavailable` with the reason, so a lesson can fall back to what it can show
offline.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from vit_tutorial.model import VisionTransformer, ViTConfig

__all__ = ["TORCHVISION_KEYS", "TIMM_KEYS", "TIMM_NAFLEX_KEYS", "convert_state_dict",
           "from_torchvision", "from_timm", "from_timm_naflex", "WeightsUnavailable",
           "torchvision_pretrained_state_dict"]

# Our key (left) <- the library's key (right). {i} is the block index, {wb} weight or bias.
TORCHVISION_KEYS = (
    ("patch_embed.proj.{wb}", "conv_proj.{wb}"),
    ("class_token.cls_token", "class_token"),
    ("positional_embedding.pos_embed", "encoder.pos_embedding"),
    ("encoder.blocks.{i}.norm1.{wb}", "encoder.layers.encoder_layer_{i}.ln_1.{wb}"),
    ("encoder.blocks.{i}.attn.qkv.weight",
     "encoder.layers.encoder_layer_{i}.self_attention.in_proj_weight"),
    ("encoder.blocks.{i}.attn.qkv.bias",
     "encoder.layers.encoder_layer_{i}.self_attention.in_proj_bias"),
    ("encoder.blocks.{i}.attn.proj.{wb}",
     "encoder.layers.encoder_layer_{i}.self_attention.out_proj.{wb}"),
    ("encoder.blocks.{i}.norm2.{wb}", "encoder.layers.encoder_layer_{i}.ln_2.{wb}"),
    ("encoder.blocks.{i}.mlp.fc1.{wb}", "encoder.layers.encoder_layer_{i}.mlp.0.{wb}"),
    ("encoder.blocks.{i}.mlp.fc2.{wb}", "encoder.layers.encoder_layer_{i}.mlp.3.{wb}"),
    ("norm.{wb}", "encoder.ln.{wb}"),
    ("head.{wb}", "heads.head.{wb}"),
)

TIMM_KEYS = (  # our names follow timm's, so only the module paths differ
    ("patch_embed.proj.{wb}", "patch_embed.proj.{wb}"),
    ("class_token.cls_token", "cls_token"),
    ("reg_token", "reg_token"),  # registers (lesson 10), when the model has them
    ("positional_embedding.pos_embed", "pos_embed"),
    ("encoder.blocks.{i}.{rest}", "blocks.{i}.{rest}"),
    ("norm.{wb}", "norm.{wb}"),
    ("head.{wb}", "head.{wb}"),
)

TIMM_NAFLEX_KEYS = (  # timm's NaFlexVit (lesson 11): the embeddings sit in its ``embeds``
    ("patch_embed.proj.{wb}", "embeds.proj.{wb}"),  # a Linear (D, C·P·P): reshaped to a Conv2d
    ("class_token.cls_token", "embeds.cls_token"),
    ("reg_token", "embeds.reg_token"),
    ("positional_embedding.pos_embed", "embeds.pos_embed"),  # (1, h, w, D): flattened
    ("positional_embedding.pos_embed_{yx}", "embeds.pos_embed_{yx}"),  # factorized (NaViT)
    ("encoder.blocks.{i}.{rest}", "blocks.{i}.{rest}"),
    ("norm.{wb}", "norm.{wb}"),
    ("head.{wb}", "head.{wb}"),
)

_TABLES = {"torchvision": TORCHVISION_KEYS, "timm": TIMM_KEYS, "timm-naflex": TIMM_NAFLEX_KEYS}
_REQUIRED = ("patch_embed.proj.weight", "patch_embed.proj.bias", "class_token.cls_token",
             "positional_embedding.pos_embed", "norm.weight", "norm.bias",
             "head.weight", "head.bias")
_OPTIONAL_E_POS = {"timm-naflex"}  # sources whose models may have no (or a factorized) E_pos
_FIELDS = {"{i}": r"(?P<i>\d+)", "{wb}": r"(?P<wb>weight|bias)", "{yx}": r"(?P<yx>[yx])",
           "{rest}": r"(?P<rest>(?:norm1|norm2|attn\.qkv|attn\.proj|mlp\.fc1|mlp\.fc2)"
                     r"\.(?:weight|bias))"}


def _pattern(key: str) -> re.Pattern:
    regex = re.escape(key)
    for field, group in _FIELDS.items():
        regex = regex.replace(re.escape(field), group)
    return re.compile(regex + "$")


def _guess_source(keys) -> str | None:
    keys = list(keys)
    if any(k.startswith("module.") for k in keys):
        return "the keys start with 'module.' (saved from DataParallel): strip that prefix first"
    if any(k.startswith("conv_proj.") or k.startswith("encoder.layers.") for k in keys):
        return ("these look like torchvision keys (conv_proj.*, encoder.layers.*): "
                "use source='torchvision' / from_torchvision")
    if any(k.startswith("blocks.") for k in keys) and "cls_token" in keys:
        return "these look like timm keys (blocks.*, cls_token): use source='timm' / from_timm"
    if any(k.startswith("encoder.blocks.") for k in keys):
        return "these are already the course's keys: load them with model.load_state_dict"
    return None


def convert_state_dict(state_dict: dict, source: str) -> dict:
    """Rename a torchvision or timm ViT's state-dict keys to the course's, by the tables above.

    Args:
        state_dict: the library model's ``state_dict()``.
        source: ``"torchvision"``, ``"timm"`` or ``"timm-naflex"`` (the keys are renamed;
            :func:`from_timm` also reshapes a NaFlexVit's tensors).

    Returns:
        A new dict with the course's keys (the tensors are shared, not copied).

    Raises:
        ValueError: for keys the table doesn't know, or table entries missing from the
            state dict — listing the first few and the likely cause.
    """
    if source not in _TABLES:
        raise ValueError(f"source must be 'torchvision', 'timm' or 'timm-naflex', got "
                         f"{source!r}")
    rules = [(ours, _pattern(theirs)) for ours, theirs in _TABLES[source]]
    converted, unexpected = {}, []
    for key, value in state_dict.items():
        for ours, pattern in rules:
            match = pattern.match(key)
            if match:
                converted[ours.format(**match.groupdict())] = value
                break
        else:
            unexpected.append(key)
    missing = [key for key in _REQUIRED if key not in converted and not (
        source in _OPTIONAL_E_POS and key.startswith("positional_embedding."))]
    if not any(key.startswith("encoder.blocks.") for key in converted):
        missing.append("encoder.blocks.0.*")
    if unexpected or missing:
        cause = _guess_source(state_dict) or "the model is a variant the course doesn't implement"
        raise ValueError(
            f"the state dict doesn't match the {source} ViT layout: "
            f"{len(missing)} missing (first: {missing[:3]}), {len(unexpected)} unexpected "
            f"(first: {unexpected[:3]}); likely cause: {cause}")
    return converted


def _load(config: ViTConfig, state: dict, source: str) -> VisionTransformer:
    try:
        return VisionTransformer.from_state_dict(config, state)
    except RuntimeError as error:  # size mismatch, or keys of another depth
        first = str(error).splitlines()[1:3]
        raise ValueError(f"the {source} weights don't fit a ViT of config {config}: "
                         f"{' '.join(line.strip() for line in first)}") from error


def _unsupported(source: str, variant: str) -> ValueError:
    return ValueError(f"unsupported {source} ViT variant: {variant}. The course's ViT is the "
                      f"paper's architecture as torchvision and timm implement it (class token, "
                      f"learned 1-D E_pos, pre-norm LayerNorm blocks with exact GELU, linear head "
                      f"on the class token); converting this model would give wrong logits")


def _check_norm_and_act(source: str, norms, acts) -> None:
    for norm in norms:
        if not isinstance(norm, nn.LayerNorm) or abs(norm.eps - 1e-6) > 1e-12:
            raise _unsupported(source, f"a different norm layer ({norm!r}; expected "
                                       f"LayerNorm with eps=1e-6)")
    for act in acts:
        if type(act) is not nn.GELU or act.approximate != "none":
            raise _unsupported(source, f"a different activation ({act!r}; expected exact GELU)")


def from_torchvision(model: nn.Module) -> VisionTransformer:
    """The course's ViT holding the weights of a ``torchvision.models.VisionTransformer``.

    Example:
        >>> ours = from_torchvision(torchvision.models.vit_b_16().eval()).eval()
    """
    from torchvision.models.vision_transformer import EncoderBlock
    from torchvision.models.vision_transformer import VisionTransformer as TV

    if not isinstance(model, TV):
        raise TypeError(f"from_torchvision expects a torchvision VisionTransformer, got "
                        f"{type(model).__name__}"
                        + ("; use from_timm for timm models"
                           if type(model).__module__.startswith("timm") else ""))
    if not isinstance(model.conv_proj, nn.Conv2d):
        raise _unsupported("torchvision", "a convolutional stem (conv_stem_configs)")
    if list(dict(model.heads.named_children())) != ["head"]:
        raise _unsupported("torchvision", "a head with a pre-logits layer (representation_size)")
    layers = list(model.encoder.layers)
    if not all(type(layer) is EncoderBlock for layer in layers):
        raise _unsupported("torchvision", "custom encoder blocks")
    norms = [model.encoder.ln] + [n for layer in layers for n in (layer.ln_1, layer.ln_2)]
    _check_norm_and_act("torchvision", norms, [layer.mlp[1] for layer in layers])
    if any(layer.self_attention.in_proj_bias is None for layer in layers):
        raise _unsupported("torchvision", "attention without bias")
    config = ViTConfig(image_size=model.image_size, patch_size=model.patch_size,
                       in_channels=model.conv_proj.in_channels, num_classes=model.num_classes,
                       embed_dim=model.hidden_dim, depth=len(layers),
                       num_heads=layers[0].num_heads, mlp_dim=model.mlp_dim)
    state = convert_state_dict(model.state_dict(), "torchvision")
    return _load(config, state, "torchvision").train(model.training)


def _check_timm_blocks(model: nn.Module) -> None:
    """The blocks of a timm ViT or NaFlexVit are the paper's (pre-norm, exact GELU, …)."""
    from timm.layers import Mlp
    from timm.models.vision_transformer import Attention, Block

    for block in model.blocks:
        if (type(block) is not Block or type(block.attn) is not Attention
                or type(block.mlp) is not Mlp):
            raise _unsupported("timm", f"blocks of type {type(block).__name__} "
                                       f"(attention {type(block.attn).__name__}, "
                                       f"MLP {type(block.mlp).__name__})")
        if not (isinstance(block.ls1, nn.Identity) and isinstance(block.ls2, nn.Identity)):
            raise _unsupported("timm", "layer scale (init_values)")
        if not (isinstance(block.attn.q_norm, nn.Identity)
                and isinstance(block.attn.k_norm, nn.Identity)):
            raise _unsupported("timm", "qk-norm")
        if not isinstance(getattr(block.attn, "norm", nn.Identity()), nn.Identity) \
                or not isinstance(getattr(block.mlp, "norm", nn.Identity()), nn.Identity):
            raise _unsupported("timm", "extra norms inside attention or MLP "
                                       "(scale_attn_norm / scale_mlp_norm)")
        if getattr(block.attn, "gate", None) is not None:
            raise _unsupported("timm", "gated attention")
        if block.attn.qkv.bias is None:
            raise _unsupported("timm", "attention without qkv bias (qkv_bias=False)")
    norms = [model.norm] + [n for b in model.blocks for n in (b.norm1, b.norm2)]
    _check_norm_and_act("timm", norms, [b.mlp.act for b in model.blocks])


def from_timm(model: nn.Module) -> VisionTransformer:
    """The course's ViT holding the weights of a timm ``VisionTransformer``
    (e.g. ``timm.create_model("vit_base_patch16_224")``), or of a timm ``NaFlexVit``
    (lesson 11; see :func:`from_timm_naflex`).
    """
    from timm.models.naflexvit import NaFlexVit
    from timm.models.vision_transformer import VisionTransformer as TimmViT

    if isinstance(model, NaFlexVit):
        return from_timm_naflex(model)
    if not isinstance(model, TimmViT):
        raise TypeError(f"from_timm expects a timm VisionTransformer, got {type(model).__name__}"
                        + ("; use from_torchvision for torchvision models"
                           if type(model).__module__.startswith("torchvision") else ""))
    checks = [
        (model.has_class_token and model.cls_token is not None,
         "no class token (class_token=False)"),
        (model.global_pool == "token",
         f"global pooling {model.global_pool!r} instead of the class token"),
        (model.attn_pool is None, "attention pooling (global_pool='map')"),
        (model.pos_embed is not None, "no position embedding (pos_embed='none')"),
        (not model.dynamic_img_size, "dynamic image size"),
        (isinstance(model.head, nn.Linear) and model.num_classes > 0,
         "no classification head (num_classes=0)"),
        (isinstance(model.norm_pre, nn.Identity),
         "a LayerNorm before the blocks (pre_norm, as in CLIP)"),
        (isinstance(model.fc_norm, nn.Identity), "a norm after pooling (fc_norm)"),
        (isinstance(model.patch_embed.norm, nn.Identity),
         "a norm in the patch embedding (embed_norm)"),
        (model.patch_embed.proj.bias is not None, "a patch embedding without bias"),
    ]
    for ok, variant in checks:
        if not ok:
            raise _unsupported("timm", variant)
    _check_timm_blocks(model)
    embed = model.patch_embed
    config = ViTConfig(image_size=tuple(embed.img_size), patch_size=tuple(embed.patch_size),
                       in_channels=embed.proj.in_channels, num_classes=model.num_classes,
                       embed_dim=model.embed_dim, depth=len(model.blocks),
                       num_heads=model.blocks[0].attn.num_heads,
                       mlp_dim=model.blocks[0].mlp.fc1.out_features,
                       num_register_tokens=getattr(model, "num_reg_tokens", 0),
                       prefix_pos_embed=not model.no_embed_class)
    state = convert_state_dict(model.state_dict(), "timm")
    return _load(config, state, "timm").train(model.training)


def from_timm_naflex(model: nn.Module) -> VisionTransformer:
    """The course's ViT holding the weights of a timm ``NaFlexVit`` (lesson 11): a class
    token read by the head (``global_pool='token'``), a learned (``pos_embed='learned'``,
    resized per image as timm's defaults do) or factorized E_pos, or none, and patches
    flattened in (C, P, P) order (``patchify_channels_last=False``). The converted model
    reads timm's NaFlex batches and gives the same logits; its ``image_size`` is the base
    grid of E_pos times P (timm's ``pos_embed_grid_size``), where it also reads images.

    Example:
        >>> cfg = NaFlexVitCfg(class_token=True, global_pool="token",
        ...                    patchify_channels_last=False)
        >>> ours = from_timm(NaFlexVit(cfg).eval()).eval()
    """
    embeds = model.embeds
    checks = [
        (model.has_class_token and model.global_pool == "token" and model.attn_pool is None,
         f"pooling {model.global_pool!r} (the course's ViT reads the class token: "
         f"class_token=True, global_pool='token')"),
        (embeds.is_linear, "a Conv2d patch embedding (embed_proj_type='conv'), which reads "
                           "images only; use 'linear'"),
        (not embeds.channels_last, "patches flattened channels last, (P, P, C); the course's "
                                   "patches are (C, P, P): patchify_channels_last=False"),
        (embeds.pos_embed_type in ("learned", "factorized", "none"),
         f"position embedding {embeds.pos_embed_type!r}"),
        ((embeds.pos_embed_interp_mode, embeds.pos_embed_antialias,
          embeds.pos_embed_align_corners, embeds.pos_embed_ar_preserving,
          embeds.pos_embed_use_grid_sample) == ("bicubic", True, False, False, False),
         "E_pos resized other than timm's default (bicubic, antialias, no align_corners, "
         "no aspect-preserving grid, no grid_sample)"),
        (embeds.norm_input is None and isinstance(embeds.norm, nn.Identity)
         and isinstance(model.norm_pre, nn.Identity) and isinstance(model.fc_norm, nn.Identity),
         "extra norms around the patch embedding or the pooling"),
        (embeds.proj.bias is not None, "a patch embedding without bias"),
        (embeds.patch_interpolator is None, "a patch-size interpolator (FlexiViT)"),
        (model.rope is None and model.patch_drop is None, "RoPE or patch dropout"),
        (isinstance(model.head, nn.Linear) and model.num_classes > 0,
         "no classification head (num_classes=0)"),
    ]
    for ok, variant in checks:
        if not ok:
            raise _unsupported("timm NaFlexVit", variant)
    _check_timm_blocks(model)
    P = tuple(embeds.patch_size)
    grid = tuple(embeds.pos_embed_grid_size)
    kind = {"learned": "learned", "factorized": "factorized"}.get(embeds.pos_embed_type, "none")
    config = ViTConfig(image_size=(grid[0] * P[0], grid[1] * P[1]), patch_size=P,
                       in_channels=embeds.in_chans, num_classes=model.num_classes,
                       embed_dim=model.embed_dim, depth=len(model.blocks),
                       num_heads=model.blocks[0].attn.num_heads,
                       mlp_dim=model.blocks[0].mlp.fc1.out_features,
                       num_register_tokens=model.num_reg_tokens,
                       positional_embedding=kind, prefix_pos_embed=False)
    state = convert_state_dict(model.state_dict(), "timm-naflex")
    D = model.embed_dim
    state["patch_embed.proj.weight"] = state["patch_embed.proj.weight"].reshape(
        D, embeds.in_chans, *P)  # (D, C·P·P) -> (D, C, P, P): E as a Conv2d weight
    if kind == "learned":
        key = "positional_embedding.pos_embed"
        state[key] = state[key].reshape(1, -1, D)  # (1, h, w, D) -> (1, N, D), row-major
    return _load(config, state, "timm NaFlexVit").train(model.training)


class WeightsUnavailable(RuntimeError):
    """Pretrained weights can't be had here (offline, under CI, or not asked to download)."""


def _reachable(host: str, timeout: float) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def torchvision_pretrained_state_dict(name: str = "vit_b_16", weights: str = "IMAGENET1K_V1",
                                      download: bool = False, timeout: float = 5.0) -> dict:
    """The state dict of one of torchvision's pretrained ViTs.

    Args:
        name: the torchvision builder, e.g. ``"vit_b_16"``.
        weights: the weights' name in its enum, e.g. ``"IMAGENET1K_V1"``.
        download: fetch the file (330 MB for ViT-B/16) if it is not in torch's cache.
            Never under CI (``CI=true``).
        timeout: seconds to wait for the download server to answer.

    Raises:
        WeightsUnavailable: with the reason, when the weights can't be loaded here.
    """
    from torchvision.models import get_model_weights

    try:
        entry = get_model_weights(name)[weights]
    except (ValueError, KeyError) as error:
        raise ValueError(f"torchvision has no weights {name}.{weights}; try "
                         f"name='vit_b_16', weights='IMAGENET1K_V1'") from error
    url = entry.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name
    if cached.is_file():
        return torch.load(cached, map_location="cpu", weights_only=True)
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise WeightsUnavailable("running under CI, where nothing is downloaded")
    if not download:
        raise WeightsUnavailable("not in torch's cache, and download=False")
    if not _reachable(urlparse(url).hostname, timeout):
        raise WeightsUnavailable(f"no connection to {urlparse(url).hostname} (offline?)")
    return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False,
                                              check_hash=True, weights_only=True)
