"""The course model of lesson 09, measured: Figure 7's three panels and Figure 6 as numbers.

Run (about 8 minutes per seed on a free CPU core; writes ``results/course_model.json``)::

    python -m vit_tutorial.course_model --force

Each seed trains the course model with :data:`vit_tutorial.train.COURSE_RECIPE` and
measures what lesson 09 shows, so the lesson can state each pattern as a mean and a range
over seeds before it reads one model's pictures: accuracy (digits placed anywhere, and
centred), the locality and row/column scores of $E_\\text{pos}$ (centre), each head's mean
attention distance over all query patches and over the patches that hold ink (right), the
variance the top components of $E$ explain, trained and at initialisation (left), and the
share of the attention rollout that falls on the strokes (Figure 6).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from vit_tutorial.attention_maps import (
    attention_rollout,
    mass_on_ink,
    mean_attention_distance,
    rollout_map,
    row_column_score,
    uniform_attention_distance,
)
from vit_tutorial.data import digits, place_digits
from vit_tutorial.files import (
    OutputPathError,
    atomic_write,
    check_outputs,
    interruptible,
    output_file,
)
from vit_tutorial.model import TINY_VIT_CONFIG, evaluate
from vit_tutorial.patch_embedding import principal_components
from vit_tutorial.similarity import locality_score, pos_embed_of, position_similarity
from vit_tutorial.train import COURSE_RECIPE, MAX_SEED, initial_model, train, training_data

__all__ = ["RESULTS", "INK", "ink_patches", "measure", "run", "load_results", "main"]

RESULTS = Path(__file__).parent / "results" / "course_model.json"
SEEDS = (0, 1, 2)
INK = 0.25  # a pixel brighter than this is ink


def ink_patches(images: torch.Tensor, patch_size: int, threshold: float = INK) -> torch.Tensor:
    """``(B, N)`` booleans: which patches of each image hold ink (in row-major order)."""
    B, _, H, W = images.shape
    P = patch_size
    blocks = images.amax(dim=1).reshape(B, H // P, P, W // P, P)  # (B, H/P, P, W/P, P)
    return (blocks.amax(dim=(2, 4)) > threshold).reshape(B, -1)  # (B, N)


@torch.no_grad()
def _attention(model, images: torch.Tensor) -> dict:
    _, maps = model.forward_features(images, return_attention=True)  # L x (B, h, T, T)
    grid, P = model.patch_embed.grid_size, model.patch_embed.patch_size[0]
    uniform = uniform_attention_distance(grid, P)
    every = mean_attention_distance(maps, grid, P)  # (L, h)
    ink = mean_attention_distance(maps, grid, P, query_mask=ink_patches(images, P))
    mass, share = mass_on_ink(rollout_map(attention_rollout(maps), grid), images, P)
    return {"uniform_px": uniform, "distance_px": every.tolist(), "ink_distance_px": ink.tolist(),
            "first_layer_min_ratio": every[0].min().item() / uniform,
            "layer_mean_px": every.mean(dim=1).tolist(),
            "rollout_on_ink": mass.mean().item(), "ink_share": share.mean().item()}


def measure(model, init_model, model_config=TINY_VIT_CONFIG, recipe=COURSE_RECIPE) -> dict:
    """Everything lesson 09 reports about one trained course model (and its start); another
    placing recipe and model size are measured on their own held-out digits."""
    images, labels = training_data(model_config, recipe, "test")  # placed
    small, _ = digits("test", recipe.digit_size)
    centred = place_digits(small, model.patch_embed.image_size[0], centred=True)
    sim = position_similarity(*pos_embed_of(model))
    shares = principal_components(model.patch_embed, k=3)[1]
    start = principal_components(init_model.patch_embed, k=3)[1]
    return {"test_accuracy": evaluate(model, images, labels),
            "centred_accuracy": evaluate(model, centred, labels),
            "locality": locality_score(sim), "row_column": row_column_score(sim),
            "rows": row_column_score(sim, "rows"), "columns": row_column_score(sim, "columns"),
            "pc_top3": shares.tolist(), "pc_top3_init": start.tolist(),
            **_attention(model, images)}


def _summary(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "min": min(values), "max": max(values),
            "per_seed": values}


def run(seeds=SEEDS, recipe=COURSE_RECIPE, progress: bool = True) -> dict:
    """Train the course model once per seed and measure each (see :func:`measure`)."""
    per_seed = []
    for seed in seeds:
        seeded = replace(recipe, seed=seed)
        torch.manual_seed(seed)  # the same seed and first draws as training's start
        init_model = initial_model(TINY_VIT_CONFIG, seeded)
        model, metrics = train(TINY_VIT_CONFIG, seeded, progress=progress)
        per_seed.append({"seed": seed, "train_seconds": metrics["train_seconds"],
                         **measure(model, init_model)})
        print(f"  seed {seed}: test accuracy {per_seed[-1]['test_accuracy']:.2%}, locality "
              f"{per_seed[-1]['locality']:.2f}", file=sys.stderr)
    scalars = [k for k, v in per_seed[0].items() if isinstance(v, float) and k != "seed"]
    return {"experiment": "the course model (lesson 09), Figure 7 and Figure 6 measured",
            "recipe": asdict(recipe), "seeds": list(seeds),
            "summary": {k: _summary([s[k] for s in per_seed]) for k in scalars},
            "per_seed": per_seed}


def load_results(path: Path = RESULTS) -> dict:
    """The stored measurements (``python -m vit_tutorial.course_model`` makes them)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"no stored results at {path}; run "
                                f"`python -m vit_tutorial.course_model`")
    return json.loads(Path(path).read_text(encoding="utf-8"))


@interruptible
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vit_tutorial.course_model",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=str(RESULTS),
                        help=f"a file, or a folder ending in / for {RESULTS.name} inside it "
                             f"(default: the package's results/{RESULTS.name})")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    args = parser.parse_args(argv)
    if any(not 0 <= s <= MAX_SEED for s in args.seeds):
        parser.error(f"--seeds must be from 0 to {MAX_SEED}")
    try:  # before the training, not after it
        args.output = output_file(args.output, RESULTS.name)
        check_outputs({"--output": args.output}, force=args.force)
    except OutputPathError as error:
        parser.error(str(error))
    start = time.perf_counter()
    results = run(tuple(args.seeds))
    results["seconds"] = round(time.perf_counter() - start)
    results["machine"] = f"{platform.machine()}, one CPU thread, torch {torch.__version__}"
    results["command"] = "python -m vit_tutorial.course_model"
    text = json.dumps(results, indent=1) + "\n"
    print(text, end="")  # first on the screen, so nothing is lost if the write fails
    atomic_write(args.output, text, force=args.force)
    return 0


if __name__ == "__main__":
    sys.exit(main())
