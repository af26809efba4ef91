r"""Lesson 08 — the whole Vision Transformer: the model, Table 1's sizes, and the course's two
trained models.

:class:`ViTConfig` and :class:`VisionTransformer` compose the lessons' modules into Eq. 1–4
(the class alone is :mod:`vit_tutorial.vision_transformer`; import it from here, its public
home). :data:`CONFIGS` holds the paper's sizes (Table 1) and :func:`vit_b_16` builds ViT-B/16.
The course's two trained models are this class with one small configuration
(:data:`TINY_VIT_CONFIG`), trained on scikit-learn's handwritten digits by
``python -m vit_tutorial.train``: TinyViT (lessons 04–06, :func:`load_tiny_vit`) and the
course model (lesson 09, :func:`load_course_model`); their checkpoints ship in the package.

See ``notebooks/08_model.ipynb`` (lesson 08).
"""

from __future__ import annotations

import os
from dataclasses import asdict, fields, replace
from pathlib import Path

import torch
from torch import nn

from vit_tutorial.checkpoints import read_checkpoint
from vit_tutorial.checks import check_has_values, check_positive_int, check_tensor
from vit_tutorial.names import moved
from vit_tutorial.vision_transformer import VisionTransformer, ViTConfig

__all__ = ["ViTConfig", "VisionTransformer", "CONFIGS", "vit_b_16", "TinyViT",
           "TINY_VIT_CONFIG", "TINY_VIT_CHECKPOINT", "load_tiny_vit", "COURSE_MODEL_CHECKPOINT",
           "load_course_model", "stored_config", "evaluate"]
# Old names: one spelling per size (CONFIGS), and the model's parts in their own module.
__getattr__ = moved(__name__, {
    **{name: f"VisionTransformer(CONFIGS[{name!r}])" for name in (
        "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14")},
    "POSITIONAL_EMBEDDINGS": "vit_tutorial.vision_transformer.POSITIONAL_EMBEDDINGS",
    "mask_patch_tokens": "vit_tutorial.vision_transformer.mask_patch_tokens",
    "state_dict_sha256": "vit_tutorial.checkpoints.state_dict_sha256"})


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
