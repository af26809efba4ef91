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
import io
import math
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from vit_tutorial.data import digits
from vit_tutorial.model import TINY_VIT_CONFIG, TinyViT, ViTConfig

__all__ = ["TrainConfig", "train", "evaluate", "save_checkpoint", "main"]


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


@torch.no_grad()
def evaluate(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor,
             batch_size: int = 512) -> float:
    """Accuracy of ``model`` on ``(images, labels)``, in [0, 1]."""
    was_training = model.training
    model.eval()
    correct = 0
    for start in range(0, len(labels), batch_size):
        logits = model(images[start:start + batch_size])
        correct += (logits.argmax(-1) == labels[start:start + batch_size]).sum().item()
    model.train(was_training)
    return correct / len(labels)


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
    decay = [p for p in params if p.ndim >= 2 and p is not getattr(model.pos_embedding, "pos_embed", None)]
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
    """Write ``{config, state_dict, metrics, recipe}`` atomically; never replace a file
    unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path} exists; pass --force to replace it, or --output another path")
    buffer = io.BytesIO()
    stored = {k: metrics[k] for k in STORED_METRICS if k in metrics}
    torch.save({"config": asdict(model.config), "state_dict": model.state_dict(),
                "metrics": stored, "recipe": asdict(recipe)}, buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(buffer.getvalue())
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a checkpoint is for sharing
        os.replace(tmp, path)  # atomic on the same file system
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vit_tutorial.train",
                                     description="Train TinyViT on the digits (CPU, ~1 minute).")
    parser.add_argument("--output", type=Path, default=Path("tiny_vit_digits.pt"),
                        help="where to write the checkpoint (default: ./tiny_vit_digits.pt)")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    parser.add_argument("--seed", type=int, default=TrainConfig.seed)
    args = parser.parse_args(argv)
    if args.output.exists() and not args.force:
        print(f"error: {args.output} exists; pass --force to replace it, or --output another path",
              file=sys.stderr)
        return 1
    recipe = TrainConfig(epochs=args.epochs, seed=args.seed)
    model, metrics = train(TINY_VIT_CONFIG, recipe)
    save_checkpoint(model, metrics, recipe, args.output, force=args.force)
    from vit_tutorial.similarity import locality_score, position_similarity

    grid = model.patch_embed.grid_size
    score = locality_score(position_similarity(model.pos_embedding.pos_embed.detach(), grid))
    print(f"test accuracy {metrics['test_accuracy']:.2%} (train {metrics['train_accuracy']:.2%}), "
          f"{metrics['train_seconds']:.0f} s of training; E_pos locality score {score:.3f}; "
          f"saved to {args.output}")
    import hashlib

    from vit_tutorial.model import TINY_VIT_SHA256

    digest = hashlib.sha256(args.output.read_bytes()).hexdigest()
    same = "identical to" if digest == TINY_VIT_SHA256 else "different from"
    print(f"SHA-256 {digest[:16]}…: {same} the shipped checkpoint")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
