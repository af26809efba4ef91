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
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from vit_tutorial.data import digits
from vit_tutorial.files import OutputPathError, atomic_write, check_output_path
from vit_tutorial.model import (
    TINY_VIT_CONFIG,
    TINY_VIT_SHA256,
    TinyViT,
    ViTConfig,
    evaluate,
    state_dict_sha256,
)
from vit_tutorial.similarity import locality_score, position_similarity

__all__ = ["TrainConfig", "train", "save_checkpoint", "main"]


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


def train(model_config: ViTConfig = TINY_VIT_CONFIG, recipe: TrainConfig = TrainConfig(),
          progress: bool = True, model: TinyViT | None = None) -> tuple[TinyViT, dict]:
    """Train a TinyViT on the digits' train split; returns ``(model, metrics)``.

    Args:
        model_config: the model's sizes (the image size is read from it).
        recipe: the training recipe.
        progress: show a tqdm progress bar.
        model: start from this model (e.g. for fine-tuning) instead of a fresh one.
    """
    from tqdm.auto import tqdm

    image_size = model_config.image_size
    train_x, train_y = digits("train", image_size)
    test_x, test_y = digits("test", image_size)
    torch.manual_seed(recipe.seed)
    generator = torch.Generator().manual_seed(recipe.seed)
    model = TinyViT(model_config) if model is None else model
    params = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in params if p.ndim >= 2 and p is not getattr(model.positional_embedding, "pos_embed", None)]
    no_decay = [p for p in params if all(p is not q for q in decay)]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": recipe.weight_decay},
                                   {"params": no_decay, "weight_decay": 0.0}], lr=recipe.lr)
    steps_per_epoch = math.ceil(len(train_y) / recipe.batch_size)
    total, warmup = recipe.epochs * steps_per_epoch, recipe.warmup_epochs * steps_per_epoch

    def lr_at(step: int) -> float:  # linear warm-up, then cosine decay to 0
        if step < warmup:
            return (step + 1) / warmup
        return 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_at)
    start = time.perf_counter()
    model.train()
    bar = tqdm(range(recipe.epochs), desc="training TinyViT", unit="epoch", disable=not progress)
    for _ in bar:
        order = torch.randperm(len(train_y), generator=generator)
        for i in range(0, len(order), recipe.batch_size):
            index = order[i:i + recipe.batch_size]
            images = _shift(train_x[index], recipe.max_shift, generator)
            loss = F.cross_entropy(model(images), train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    seconds = time.perf_counter() - start
    model.eval()
    metrics = {"train_accuracy": evaluate(model, train_x, train_y),
               "test_accuracy": evaluate(model, test_x, test_y),
               "train_seconds": round(seconds, 1)}
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


MAX_SEED = 2 ** 63 - 1  # torch.manual_seed takes a 64-bit seed


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
