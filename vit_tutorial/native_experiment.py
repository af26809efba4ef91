"""Lesson 11's measurement: digits on canvases of other shapes, square resize vs NaFlex.

Run (``python -m vit_tutorial.experiments native``; writes ``results/native.json``)::

    python -m vit_tutorial.experiments native --force

Every digit is drawn as large as the short side of its canvas and placed at a random spot
along the long side, on canvases from 14 to 40 pixels a side with aspect ratios up to 2:1
either way. Three models of TinyViT's size (D = 64, 4 layers, P = 4) train on such canvases
with TinyViT's recipe, over three seeds, and one more is the shipped TinyViT:

- ``tinyvit`` — the shipped TinyViT (trained on square 28 × 28 digits), every canvas
  resized to 28 × 28: the paper's pipeline, untouched;
- ``square`` — trained on the canvases, each resized to 28 × 28 (its aspect ratio lost);
- ``naflex`` — trained on the canvases, each resized to keep its aspect ratio within 49
  tokens (the 7 × 7 of the square models), read as a NaFlex batch, with its learned
  E_pos resized to each image's grid (:mod:`vit_tutorial.native_resolution`);
- ``factorized`` — the same with NaViT's factorized E_pos.

All are tested on the 360 test digits on each canvas of :data:`TEST_SHAPES` (the shipped
TinyViT once: it has no seeds). The run also
counts the padding a batch carries, padded to one length or packed, for the test canvases
and for a mix of photo shapes.
"""

from __future__ import annotations

import math
import statistics
import sys
import time
from dataclasses import asdict, replace

import torch
import torch.nn.functional as F

from vit_tutorial.data import digits
from vit_tutorial.model import TINY_VIT_CONFIG, TinyViT, load_tiny_vit
from vit_tutorial.native_resolution import (
    fit_to_budget,
    naflex_batch,
    padding_share,
)
from vit_tutorial.threads import single_thread
from vit_tutorial.train import TrainConfig, lr_factor, param_groups

__all__ = ["TEST_SHAPES", "TRAIN_SIDES", "MAX_ASPECT", "BUDGET", "PHOTO_SHAPES", "MODELS",
           "canvas_shapes", "draw_canvases", "to_square", "to_naflex", "train_model",
           "accuracy", "padding", "run_native"]

SQUARE = TINY_VIT_CONFIG.image_size  # 28: the square models' input
P = TINY_VIT_CONFIG.patch_size  # 4
BUDGET = (SQUARE // P) ** 2  # 49 tokens: the 7 × 7 grid of the square models
#: The test canvases (H, W): aspect ratios from 1:2 to 2:1, sides from 14 to 40 pixels.
TEST_SHAPES = ((14, 28), (20, 28), (28, 28), (28, 20), (28, 14),
               (20, 20), (40, 40), (20, 40), (40, 20))
TRAIN_SIDES = tuple(range(14, 41, 2))  # a training canvas draws each side from these ...
MAX_ASPECT = 2  # ... with the long side at most twice the short
TEST_PLACEMENT_SEED = 12345  # where each test digit sits on its canvas: the same every run
#: Photo frames (H, W), one of each: 4:3, 3:2, 16:9 in both orientations, and 1:1.
PHOTO_SHAPES = ((3000, 4000), (4000, 3000), (2000, 3000), (3000, 2000), (1080, 1920),
                (1920, 1080), (2000, 2000))
PHOTO_PATCH, PHOTO_BUDGET = 16, 256  # SigLIP 2's NaFlex at 256 tokens
MODELS = ("tinyvit", "square", "naflex", "factorized")


def canvas_shapes(count: int, generator: torch.Generator) -> list[tuple[int, int]]:
    """``count`` random training canvases (H, W): sides from :data:`TRAIN_SIDES`, the long
    side at most :data:`MAX_ASPECT` times the short."""
    shapes = [(h, w) for h in TRAIN_SIDES for w in TRAIN_SIDES
              if max(h, w) <= MAX_ASPECT * min(h, w)]
    picks = torch.randint(len(shapes), (count,), generator=generator).tolist()
    return [shapes[i] for i in picks]


def draw_canvases(drawn: dict, index: torch.Tensor, shapes, generator: torch.Generator
                  ) -> list[torch.Tensor]:
    """Each digit ``index[i]`` as large as the short side of canvas ``shapes[i]``, at a
    random place along the long side; ``drawn[S]`` holds the digits drawn at S × S."""
    canvases = []
    for i, (H, W) in zip(index.tolist(), shapes):
        S = min(H, W)
        canvas = torch.zeros(1, H, W)
        offset = int(torch.randint(max(H, W) - S + 1, (1,), generator=generator))
        if H >= W:
            canvas[:, offset:offset + S, :] = drawn[S][i]
        else:
            canvas[:, :, offset:offset + S] = drawn[S][i]
        canvases.append(canvas)  # (1, H, W)
    return canvases


_SIZES: dict = {}  # (H, W) -> the NaFlex size: the bisection runs once per shape


def _resize(canvas: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    return F.interpolate(canvas[None], size=size, mode="bicubic", antialias=True)[0]


def to_square(canvases: list[torch.Tensor]) -> torch.Tensor:
    """The paper's pipeline: every canvas resized to 28 × 28. ``-> (B, 1, 28, 28)``"""
    return torch.stack([_resize(c, (SQUARE, SQUARE)) for c in canvases])


def to_naflex(canvases: list[torch.Tensor]) -> dict:
    """NaFlex: every canvas resized to keep its aspect ratio within :data:`BUDGET` tokens,
    patchified and padded into one batch (timm's ``ResizeToSequence``, bicubic)."""
    resized = []
    for canvas in canvases:
        shape = tuple(canvas.shape[-2:])
        if shape not in _SIZES:
            _SIZES[shape] = fit_to_budget(shape, P, BUDGET)
        resized.append(_resize(canvas, _SIZES[shape]))
    return naflex_batch(resized, P)


def _model(kind: str) -> TinyViT:
    if kind == "factorized":
        return TinyViT(replace(TINY_VIT_CONFIG, prefix_pos_embed=False,
                               positional_embedding="factorized"))
    return TinyViT(replace(TINY_VIT_CONFIG, prefix_pos_embed=False))


def train_model(kind: str, recipe: TrainConfig, drawn: dict, labels: torch.Tensor,
                bar=None) -> tuple[TinyViT, float]:
    """Train model ``kind`` ("square", "naflex", "factorized") on random canvases with
    TinyViT's recipe, on one CPU thread; returns the model (eval mode) and the seconds."""
    with single_thread():
        torch.manual_seed(recipe.seed)
        generator = torch.Generator().manual_seed(recipe.seed)
        model = _model(kind)
        optimizer = torch.optim.AdamW(param_groups(model, recipe.weight_decay), lr=recipe.lr)
        steps = math.ceil(len(labels) / recipe.batch_size)
        total, warmup = recipe.epochs * steps, recipe.warmup_epochs * steps
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: lr_factor(step, total, warmup))
        start = time.perf_counter()
        model.train()
        for _ in range(recipe.epochs):
            order = torch.randperm(len(labels), generator=generator)
            for i in range(0, len(order), recipe.batch_size):
                index = order[i:i + recipe.batch_size]
                canvases = draw_canvases(drawn, index, canvas_shapes(len(index), generator),
                                         generator)
                x = to_square(canvases) if kind == "square" else to_naflex(canvases)
                loss = F.cross_entropy(model(x), labels[index])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
            if bar is not None:
                bar.update()
        return model.eval(), time.perf_counter() - start


@torch.no_grad()
def accuracy(model, kind: str, tests: dict, labels: torch.Tensor) -> dict:
    """Test accuracy on each canvas shape (``tests[shape]``: the canvases), and their mean."""
    scores = {}
    with single_thread():
        for (H, W), canvases in tests.items():
            correct = 0
            for start in range(0, len(canvases), 120):
                part = canvases[start:start + 120]
                x = to_naflex(part) if kind in ("naflex", "factorized") else to_square(part)
                correct += (model(x).argmax(-1) == labels[start:start + 120]).sum().item()
            scores[f"{H}x{W}"] = correct / len(canvases)
    scores["mean"] = statistics.mean(scores.values())
    return scores


def padding(shapes, patch: int, budget: int | None) -> dict:
    """Tokens per image (patches + the class token) with NaFlex's budget, or at native
    resolution (``budget=None``: each side padded up to whole patches, as timm's patchify
    does), and the share of padding when a batch of these images is padded to the longest
    or packed into rows of that length."""
    lengths = []
    for H, W in shapes:
        if budget is None:
            gh, gw = math.ceil(H / patch), math.ceil(W / patch)
        else:
            gh, gw = (s // patch for s in fit_to_budget((H, W), patch, budget))
        lengths.append(gh * gw + 1)
    L = max(lengths)
    return {"tokens": lengths, "max_len": L, "padded": padding_share(lengths, L),
            "packed": padding_share(lengths, L, packed=True)}


def _summary(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "min": min(values), "max": max(values),
            "per_seed": values}


def _test_canvases(shapes) -> tuple[dict, torch.Tensor]:
    generator = torch.Generator().manual_seed(TEST_PLACEMENT_SEED)
    sides = sorted({min(shape) for shape in shapes})
    drawn = {S: digits("test", S)[0] for S in sides}
    labels = digits("test", SQUARE)[1]
    index = torch.arange(len(labels))
    return {shape: draw_canvases(drawn, index, [shape] * len(labels), generator)
            for shape in shapes}, labels


def run_native(seeds=(0, 1, 2), recipe: TrainConfig = TrainConfig(), models=MODELS) -> dict:
    """Train and test the models of the module docstring over ``seeds``."""
    from tqdm.auto import tqdm

    tests, test_labels = _test_canvases(TEST_SHAPES)
    drawn = {S: digits("train", S)[0] for S in TRAIN_SIDES}
    train_labels = digits("train", SQUARE)[1]
    trained = [m for m in models if m != "tinyvit"]
    bar = tqdm(total=len(seeds) * len(trained) * recipe.epochs, desc="native", unit="epoch",
               file=sys.stderr)
    rows, seconds, shipped = {}, {}, None
    if "tinyvit" in models:  # the shipped model: no training, no seeds
        shipped = accuracy(load_tiny_vit(), "tinyvit", tests, test_labels)
    for kind in trained:
        rows[kind], seconds[kind] = {"per_seed": []}, []
        for seed in seeds:
            model, took = train_model(kind, replace(recipe, seed=seed), drawn, train_labels,
                                      bar)
            rows[kind]["per_seed"].append(accuracy(model, kind, tests, test_labels))
            seconds[kind].append(round(took))
            bar.write(f"  {kind:<10} seed {seed}: mean test accuracy "
                      f"{rows[kind]['per_seed'][-1]['mean']:.2%}", file=sys.stderr)
    bar.close()
    for row in rows.values():
        per_seed = row.pop("per_seed")
        row.update({shape: _summary([s[shape] for s in per_seed]) for shape in per_seed[0]})
    digit_shapes = list(TEST_SHAPES)
    return {"experiment": "digits as large as the short side of canvases from 14x28 to 28x14 "
                          "and 20 to 40 pixels; 28x28 resize (square) vs NaFlex (aspect kept, "
                          f"at most {BUDGET} tokens, E_pos per image)",
            "recipe": asdict(recipe), "seeds": list(seeds), "budget": BUDGET,
            "patch_size": P, "test_shapes": [list(s) for s in TEST_SHAPES],
            "train_sides": list(TRAIN_SIDES), "max_aspect": MAX_ASPECT,
            "test_accuracy": rows, "test_accuracy_tinyvit": shipped, "train_seconds": seconds,
            "padding": {"digits_naflex": padding(digit_shapes, P, BUDGET),
                        "digits_native": padding(digit_shapes, P, None),
                        "photos_naflex": padding(PHOTO_SHAPES, PHOTO_PATCH, PHOTO_BUDGET),
                        "photo_shapes": [list(s) for s in PHOTO_SHAPES],
                        "photo_patch_size": PHOTO_PATCH, "photo_budget": PHOTO_BUDGET}}
