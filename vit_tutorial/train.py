"""Train TinyViT on scikit-learn's handwritten digits, on a CPU, in about a minute.

Run::

    python -m vit_tutorial.train                      # writes ./tiny_vit_digits.pt
    python -m vit_tutorial.train --output PATH --force  # replace an existing file

Seeded and deterministic on the CPU: the same machine gives the same weights. The file is
written atomically (to a temporary name, then renamed), and an existing file is never
replaced unless ``--force`` is given. The shipped checkpoint,
``vit_tutorial/checkpoints/tiny_vit_digits.pt``, was made by this command.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import math
import numbers
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from vit_tutorial._checks import check_positive_int, check_positive_number
from vit_tutorial.data import digits
from vit_tutorial.files import OutputPathError, atomic_write, check_output_path
from vit_tutorial.model import (
    TINY_VIT_CONFIG,
    TINY_VIT_SHA256,
    TinyViT,
    VisionTransformer,
    ViTConfig,
    evaluate,
    state_dict_sha256,
)
from vit_tutorial.similarity import locality_score, position_similarity
from vit_tutorial.threads import single_thread

MAX_SEED = 2 ** 63 - 1  # torch.manual_seed takes a 64-bit seed

__all__ = ["TrainConfig", "train", "param_groups", "lr_factor", "save_checkpoint", "main"]


@dataclass(frozen=True)
class TrainConfig:
    """The training recipe (AdamW + cosine schedule, random shifts as augmentation)."""

    epochs: int = 40
    batch_size: int = 64
    lr: float = 2e-3  # peak learning rate
    weight_decay: float = 0.05
    warmup_epochs: int = 3
    max_shift: int = 2  # random translation of ±2 pixels (at 28×28) per image
    seed: int = 0

    def __post_init__(self):
        for name in ("epochs", "batch_size"):
            check_positive_int(getattr(self, name), name)
        for name in ("warmup_epochs", "max_shift", "seed"):
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


def param_groups(model: VisionTransformer, weight_decay: float) -> list[dict]:
    """AdamW's two groups: weight decay on the weight matrices, none on biases, LayerNorms,
    the class token and E_pos (as the original code and timm do)."""
    pos = getattr(model.positional_embedding, "pos_embed", None)
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2 and p is not pos and p is not
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
        epoch.
    """
    with single_thread():  # tiny model: as fast, and the same numbers on every machine
        return _train(model_config, recipe, progress, model)


def _train(model_config, recipe, progress, model):
    from tqdm.auto import tqdm

    train_x, train_y = digits("train", model_config.image_size)
    test_x, test_y = digits("test", model_config.image_size)
    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    model = TinyViT(model_config) if model is None else model
    optimizer = torch.optim.AdamW(param_groups(model, recipe.weight_decay), lr=recipe.lr)
    steps = math.ceil(len(train_y) / recipe.batch_size)
    total, warmup = recipe.epochs * steps, recipe.warmup_epochs * steps
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total, warmup))
    start, history = time.perf_counter(), []
    bar = tqdm(range(recipe.epochs), desc="training", unit="epoch", disable=not progress)
    for epoch in bar:
        model.train()
        losses = []
        order = torch.randperm(len(train_y), generator=generator)
        for i in range(0, len(order), recipe.batch_size):
            index = order[i:i + recipe.batch_size]
            images = _shift(train_x[index], recipe.max_shift, generator)
            loss = F.cross_entropy(model(images), train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            losses.append(loss.item())
        history.append({"epoch": epoch + 1, "loss": round(sum(losses) / len(losses), 4),
                        "lr": round(scheduler.get_last_lr()[0], 6),
                        "test_accuracy": round(evaluate(model, test_x, test_y), 4)})
        bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
    seconds = time.perf_counter() - start
    model.eval()
    metrics = {"train_accuracy": evaluate(model, train_x, train_y),
               "test_accuracy": evaluate(model, test_x, test_y),
               "train_seconds": round(seconds, 1), "history": history}
    return model, metrics


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


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m vit_tutorial.train",
                                     description="Train TinyViT on the digits (CPU, ~1 minute).")
    parser.add_argument("--output", type=Path, default=Path("tiny_vit_digits.pt"),
                        help="where to write the checkpoint (default: ./tiny_vit_digits.pt)")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs, help="at least 1")
    parser.add_argument("--seed", type=int, default=TrainConfig.seed,
                        help=f"0 … {MAX_SEED}")
    args = parser.parse_args(argv)
    if args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}")
    if not 0 <= args.seed <= MAX_SEED:
        parser.error(f"--seed must be from 0 to {MAX_SEED}, got {args.seed}")
    try:  # before the training, not after it
        check_output_path(args.output, force=args.force)
    except OutputPathError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    recipe = TrainConfig(epochs=args.epochs, seed=args.seed)
    model, metrics = train(TINY_VIT_CONFIG, recipe)
    save_checkpoint(model, metrics, recipe, args.output, force=args.force)
    grid = model.patch_embed.grid_size
    score = locality_score(position_similarity(model.positional_embedding.pos_embed.detach(), grid))
    print(f"test accuracy {metrics['test_accuracy']:.2%} (train {metrics['train_accuracy']:.2%}), "
          f"{metrics['train_seconds']:.0f} s of training; E_pos locality score {score:.3f}; "
          f"saved to {args.output}")
    digest = hashlib.sha256(args.output.read_bytes()).hexdigest()
    same = "identical to" if digest == TINY_VIT_SHA256 else "different from"
    print(f"SHA-256 {digest[:16]}…: {same} the shipped checkpoint")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
