"""Train the course's two models on scikit-learn's handwritten digits, on one CPU thread.

Run::

    python -m vit_tutorial.train                    # TinyViT (lessons 04–06), ~2 min
    python -m vit_tutorial.train --model course     # the course model (lesson 09), ~8 min
    python -m vit_tutorial.train --output runs/ --force --history runs/

Seeded and deterministic: one thread does the sums in one order, so the same kind of machine
gives the same file, byte for byte; another CPU gives the same accuracy within half a point,
not the same bytes (README, "The trained models", has the measurements and the times). The
command says whether the file equals the shipped one (``vit_tutorial/checkpoints/``). Every
output path is checked before the training starts (a path ending in ``/`` is a folder that
gets the default name); files are written atomically and never replaced without
``--force``; Ctrl-C stops it with one line. Lesson 09 walks through the loop:
``notebooks/09_attention_maps.ipynb``.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import numbers
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vit_tutorial.checkpoints import state_dict_sha256
from vit_tutorial.checks import check_positive_int, check_positive_number, to_pair
from vit_tutorial.data import digits, place_digits
from vit_tutorial.files import (
    OutputPathError,
    atomic_write,
    check_outputs,
    interruptible,
    output_file,
)
from vit_tutorial.model import (
    COURSE_MODEL_SHA256,
    TINY_VIT_CONFIG,
    TINY_VIT_SHA256,
    TinyViT,
    VisionTransformer,
    ViTConfig,
    evaluate,
)
from vit_tutorial.patches import image_to_patches
from vit_tutorial.similarity import locality_score, position_similarity
from vit_tutorial.threads import single_thread

MAX_SEED = 2 ** 63 - 1  # torch.manual_seed takes a 64-bit seed

__all__ = ["TrainConfig", "COURSE_RECIPE", "MaskedPatchPrediction", "training_data", "train",
           "param_groups", "lr_factor", "initial_model", "save_checkpoint", "main"]


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe: AdamW, a linear warm-up then a cosine decay, and augmentation.

    TinyViT's (the defaults): each digit fills the image and moves by a few pixels. The
    course model's (:data:`COURSE_RECIPE`): each digit, smaller, lands anywhere on the
    canvas, and masked patch prediction (Sec. 4.6) is trained beside classification.
    """

    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3  # peak learning rate
    weight_decay: float = 0.05  # on the weight matrices only
    warmup_epochs: int = 3
    max_shift: int = 2  # TinyViT: random translation of ±2 pixels (at 28×28) per image
    digit_size: int | None = None  # course model: digits this big, placed anywhere
    overhang: int = 0  # ... and sticking out of the canvas by up to this many pixels
    embed_init_std: float | None = None  # E ~ N(0, std²); None: PyTorch's Conv2d default
    mask_ratio: float = 0.0  # masked patch prediction: the share of patches hidden
    mpp_weight: float = 0.0  # ... and the weight of its loss beside the classification's
    seed: int = 0

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            check_positive_int(getattr(self, name), name)
        if self.digit_size is not None:
            check_positive_int(self.digit_size, "digit_size")
        if self.embed_init_std is not None:
            check_positive_number(self.embed_init_std, "embed_init_std", "e.g. 0.02")
        for name in ("mask_ratio", "mpp_weight"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0 \
                    or (name == "mask_ratio" and value >= 1):
                raise ValueError(f"{name} must be a number >= 0 (mask_ratio below 1), got "
                                 f"{value!r}")
        for name in ("warmup_epochs", "max_shift", "overhang", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
                raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed must be from 0 to {MAX_SEED}, got {self.seed}")
        check_positive_number(self.lr, "lr", "e.g. 2e-3")
        if isinstance(self.weight_decay, bool) or not isinstance(self.weight_decay,
                                                                 numbers.Real) \
                or not 0 <= self.weight_decay < 1:
            raise ValueError(f"weight_decay must be a number in [0, 1), got "
                             f"{self.weight_decay!r}; e.g. 0.05")


def _shift(images: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Translate each image by a random whole number of pixels, filling with zeros."""
    if max_shift == 0:
        return images
    B, _, H, W = images.shape
    padded = F.pad(images, (max_shift,) * 4)  # (B, 1, H + 2s, W + 2s)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, B), generator=generator)
    rows = (dy[:, None] + torch.arange(H))[:, :, None]  # (B, H, 1)
    cols = (dx[:, None] + torch.arange(W))[:, None, :]  # (B, 1, W)
    batch = torch.arange(B)[:, None, None]  # (B, 1, 1)
    return padded[:, 0][batch, rows, cols].unsqueeze(1)  # (B, H, W) -> (B, 1, H, W)


#: The course model's recipe (lesson 09): found by measurement over three seeds, it gives
#: local first-layer heads, smooth E filters and local E_pos (Figure 7) at 97 % accuracy.
COURSE_RECIPE = TrainConfig(epochs=80, max_shift=0, digit_size=20, overhang=3,
                            embed_init_std=0.02, mask_ratio=0.5, mpp_weight=10.0)
TEST_PLACEMENT_SEED = 12345  # the placed test digits are the same for every run


def training_data(model_config: ViTConfig, recipe: TrainConfig, split: str
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """The digits a recipe trains on (``"train"``: before augmentation) or is tested on
    (``"test"``: for a placing recipe, each digit at a fixed random place)."""
    if recipe.digit_size is None:
        return digits(split, model_config.image_size)
    images, labels = digits(split, recipe.digit_size)
    if split == "train":
        return images, labels
    generator = torch.Generator().manual_seed(TEST_PLACEMENT_SEED)
    side = to_pair(model_config.image_size, "image_size")[0]
    return place_digits(images, side, recipe.overhang, generator), labels


def _augment(images: torch.Tensor, model_config: ViTConfig, recipe: TrainConfig,
             generator: torch.Generator) -> torch.Tensor:
    if recipe.digit_size is None:
        return _shift(images, recipe.max_shift, generator)
    side = to_pair(model_config.image_size, "image_size")[0]
    return place_digits(images, side, recipe.overhang, generator)


class MaskedPatchPrediction(nn.Module):
    r"""Masked patch prediction (after Sec. 4.6): hide some patches behind a learned
    embedding and predict their pixels from the encoder's output at their place.

    Only training uses it: the mask embedding and the linear map to pixels are not part of
    the ViT, so the saved model is an ordinary ViT.

    Args:
        embed_dim: $D$.
        patch_dim: $P^2 \cdot C$, the pixels of one patch.

    Note:
        The paper corrupts 50 % of the patch embeddings (mostly with a mask embedding) and
        predicts each one's mean colour, 3 bits per channel; here every hidden patch is
        replaced by the mask embedding and its $P^2 \cdot C$ pixels are predicted (mean
        squared error), which a 1-channel digits model needs fewer tricks for.
    """

    def __init__(self, embed_dim: int, patch_dim: int):
        super().__init__()
        self.mask_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.pred = nn.Linear(embed_dim, patch_dim)

    def loss(self, model: VisionTransformer, images: torch.Tensor, ratio: float,
             generator: torch.Generator) -> torch.Tensor:
        """Mean squared error of the predicted pixels of the hidden patches."""
        B, N = images.shape[0], model.patch_embed.num_patches
        mask = torch.rand(B, N, generator=generator) < ratio  # (B, N), True = hidden
        z = model.encoder(model.embed(images, mask=mask, mask_token=self.mask_token))
        k = model.num_prefix_tokens
        predicted = self.pred(model.norm(z[:, k:]))  # (B, k + N, D) -> (B, N, P·P·C)
        target = image_to_patches(images, model.patch_embed.patch_size)  # (B, N, P·P·C)
        return ((predicted - target) ** 2).mean(-1)[mask].mean()


def param_groups(model: VisionTransformer, weight_decay: float) -> list[dict]:
    """AdamW's two groups: weight decay on the weight matrices, none on biases, LayerNorms,
    the class token and E_pos (as the original code and timm do)."""
    table = model.positional_embedding  # E_pos: one table, or a row and a column table
    pos = [] if table is None else list(table.parameters())
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2 and all(p is not q for q in pos) and p is not
             model.class_token.cls_token]
    no_decay = [p for p in params if all(p is not q for q in decay)]
    return [{"params": decay, "weight_decay": weight_decay},
            {"params": no_decay, "weight_decay": 0.0}]


def lr_factor(step: int, total: int, warmup: int) -> float:
    """The learning rate at ``step``, as a fraction of the peak: a linear warm-up over
    ``warmup`` steps, then a cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def train(model_config: ViTConfig = TINY_VIT_CONFIG, recipe: TrainConfig = TrainConfig(),
          progress: bool = True, model: VisionTransformer | None = None
          ) -> tuple[VisionTransformer, dict]:
    """Train a ViT on the digits' train split, on one CPU thread; returns ``(model, metrics)``.

    Args:
        model_config: the model's sizes (the image size is read from it).
        recipe: the training recipe.
        progress: show a tqdm progress bar.
        model: start from this model (e.g. for fine-tuning) instead of a fresh one.

    Returns:
        The model (in eval mode) and ``{"train_accuracy", "test_accuracy", "train_seconds",
        "history"}``; ``history`` has one ``{"epoch", "loss", "lr", "test_accuracy"}`` per
        epoch, the loss a mean over the epoch's steps; with masked patch prediction also its
        two parts, ``"classification_loss"`` (cross-entropy) and ``"masked_patch_loss"``
        (the unweighted mean squared error), so ``loss = classification_loss + mpp_weight *
        masked_patch_loss``.
    """
    with single_thread():  # tiny model: as fast, and the same numbers on every machine
        return _train(model_config, recipe, progress, model)


def _train(model_config, recipe, progress, model):
    from tqdm.auto import tqdm

    train_x, train_y = training_data(model_config, recipe, "train")
    test_x, test_y = training_data(model_config, recipe, "test")
    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    model = initial_model(model_config, recipe) if model is None else model
    mpp = None
    if recipe.mpp_weight > 0:
        C = model_config.in_channels
        P = math.prod(to_pair(model_config.patch_size, "patch_size"))
        mpp = MaskedPatchPrediction(model_config.embed_dim, C * P)
    groups = param_groups(model, recipe.weight_decay)
    if mpp is not None:
        groups[0]["params"] += [mpp.pred.weight]
        groups[1]["params"] += [mpp.mask_token, mpp.pred.bias]
    optimizer = torch.optim.AdamW(groups, lr=recipe.lr)
    steps = math.ceil(len(train_y) / recipe.batch_size)
    total, warmup = recipe.epochs * steps, recipe.warmup_epochs * steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total, warmup))
    start, history = time.perf_counter(), []
    bar = tqdm(range(recipe.epochs), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        model.train()
        losses, parts = [], []  # parts: (classification, masked-patch) per step
        order = torch.randperm(len(train_y), generator=generator)
        for i in range(0, len(order), recipe.batch_size):
            index = order[i:i + recipe.batch_size]
            images = _augment(train_x[index], model_config, recipe, generator)
            loss = ce = F.cross_entropy(model(images), train_y[index])
            if mpp is not None:
                mse = mpp.loss(model, images, recipe.mask_ratio, generator)
                loss = ce + recipe.mpp_weight * mse
                parts.append((ce.item(), mse.item()))  # read only: the sums are unchanged
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        history.append({"epoch": epoch + 1, "loss": round(sum(losses) / len(losses), 4),
                        "lr": round(scheduler.get_last_lr()[0], 6),
                        "test_accuracy": round(evaluate(model, test_x, test_y), 4)})
        if parts:  # the two parts of the loss, each unweighted: loss = CE + mpp_weight * MSE
            history[-1]["classification_loss"] = round(sum(p[0] for p in parts) / len(parts), 4)
            history[-1]["masked_patch_loss"] = round(sum(p[1] for p in parts) / len(parts), 5)
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
    seconds = time.perf_counter() - start
    model.eval()
    metrics = {"train_accuracy": evaluate(model, _augment(train_x, model_config, recipe,
                                                          torch.Generator().manual_seed(0))
                                          if recipe.digit_size else train_x, train_y),
               "test_accuracy": evaluate(model, test_x, test_y),
               "train_seconds": round(seconds, 1), "history": history}
    return model, metrics


def initial_model(model_config: ViTConfig, recipe: TrainConfig) -> VisionTransformer:
    """A fresh model, its patch-embedding filters drawn with the recipe's spread."""
    model = TinyViT(model_config)
    if recipe.embed_init_std is not None:
        with torch.no_grad():
            nn.init.normal_(model.patch_embed.proj.weight, std=recipe.embed_init_std)
            nn.init.zeros_(model.patch_embed.proj.bias)
    return model


STORED_METRICS = ("train_accuracy", "test_accuracy")  # not the time: the file stays reproducible


def save_checkpoint(model: TinyViT, metrics: dict, recipe: TrainConfig, path: Path,
                    force: bool = False) -> None:
    """Write ``{config, state_dict, content_sha256, metrics, recipe}`` atomically (see
    :func:`vit_tutorial.files.atomic_write`); never replace a file unless ``force``.

    ``content_sha256`` is the hash of the weights themselves, which every loader checks, so
    a damaged copy of any checkpoint is caught, not only the shipped one."""
    stored = {k: metrics[k] for k in STORED_METRICS if k in metrics}
    state = model.state_dict()
    buffer = io.BytesIO()
    torch.save({"config": asdict(model.config), "state_dict": state,
                "content_sha256": state_dict_sha256(state), "metrics": stored,
                "recipe": asdict(recipe)}, buffer)
    atomic_write(path, buffer.getvalue(), force=force)


MODELS = {  # --model: (recipe, default output, shipped SHA-256)
    "tiny": (TrainConfig(), Path("tiny_vit_digits.pt"), TINY_VIT_SHA256),
    "course": (COURSE_RECIPE, Path("course_model_digits.pt"), COURSE_MODEL_SHA256),
}


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m vit_tutorial.train",
        description="Train the course's TinyViT (lessons 04–06, about 2 minutes on a free "
                    "core) or its course model (lesson 09, about 8) on the digits, on one CPU "
                    "thread.")
    parser.add_argument("--model", choices=sorted(MODELS), default="tiny",
                        help="which model (default: tiny)")
    parser.add_argument("--output", default=None,
                        help="where to write the checkpoint: a file, or a folder ending in / "
                             "for the default name inside it (default: ./tiny_vit_digits.pt "
                             "or ./course_model_digits.pt)")
    parser.add_argument("--history", default=None,
                        help="also write the per-epoch loss and accuracy as JSON here (a "
                             "folder ending in / holds MODEL_history.json)")
    parser.add_argument("--force", action="store_true", help="replace existing files")
    parser.add_argument("--epochs", type=int, default=None, help="at least 1 (default: the "
                                                                  "recipe's)")
    parser.add_argument("--seed", type=int, default=0, help=f"0 … {MAX_SEED}")
    args = parser.parse_args(argv)
    recipe, output, _ = MODELS[args.model]
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if not 0 <= args.seed <= MAX_SEED:
        parser.error(f"--seed must be from 0 to {MAX_SEED}, got {args.seed}")
    try:  # before the training, not after it
        args.output = output if args.output is None else output_file(args.output, output.name)
        if args.history is not None:
            args.history = output_file(args.history, f"{output.stem}_history.json")
        check_outputs({"--output": args.output, "--history": args.history}, force=args.force)
    except OutputPathError as error:
        parser.error(str(error))
    args.recipe = replace(recipe, seed=args.seed, epochs=args.epochs or recipe.epochs)
    return args


@interruptible
def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    model, metrics = train(TINY_VIT_CONFIG, args.recipe)
    save_checkpoint(model, metrics, args.recipe, args.output, force=args.force)
    if args.history is not None:
        text = json.dumps({"recipe": asdict(args.recipe), "history": metrics["history"]},
                          indent=1) + "\n"
        atomic_write(args.history, text, force=args.force)
    grid = model.patch_embed.grid_size
    score = locality_score(position_similarity(model.positional_embedding.pos_embed.detach(),
                                               grid))
    print(f"test accuracy {metrics['test_accuracy']:.2%} (train "
          f"{metrics['train_accuracy']:.2%}), {metrics['train_seconds']:.0f} s of training; "
          f"E_pos locality score {score:.3f}; saved to {args.output}")
    digest = hashlib.sha256(args.output.read_bytes()).hexdigest()
    same = "identical to" if digest == MODELS[args.model][2] else "different from"
    print(f"SHA-256 {digest[:16]}…: {same} the shipped checkpoint")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
