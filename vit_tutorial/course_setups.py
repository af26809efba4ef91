"""The training set-ups tried for the course model (lesson 09, *Going deeper*), measured.

Run (hours on one CPU thread: each run trains a model for several minutes, and the file
records each run's seconds; writes ``results/course_setups.json`` after every run, so
``--resume`` continues a run that was cut short, or adds seeds to a row)::

    python -m vit_tutorial.course_setups --force
    python -m vit_tutorial.course_setups --resume
    python -m vit_tutorial.course_setups --setups no_mpp mpp_25 --seeds 0 --output x.json

Each set-up changes one or two things in :data:`vit_tutorial.train.COURSE_RECIPE` or in
TinyViT's sizes, trains once per seed and is measured with
:func:`vit_tutorial.course_model.measure`: accuracy on its held-out placed digits, the
locality and row/column scores of $E_\\text{pos}$, the most local head of layer 0 as a
multiple of uniform attention, and the variance the top components of $E$ explain. The
course recipe's own row is read from ``results/course_model.json``, which
``python -m vit_tutorial.course_model`` makes from the same recipe, seeds and measurements.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch
from torch import nn

from vit_tutorial.course_model import RESULTS as COURSE_RESULTS
from vit_tutorial.course_model import load_results, measure
from vit_tutorial.files import OutputPathError, atomic_write, check_output_path
from vit_tutorial.model import TINY_VIT_CONFIG, ViTConfig
from vit_tutorial.train import COURSE_RECIPE, MAX_SEED, TrainConfig, initial_model, train

__all__ = ["Setup", "SETUPS", "RESULTS", "run_setup", "run", "main"]

RESULTS = COURSE_RESULTS.with_name("course_setups.json")
SEEDS = (0, 1, 2)
NO_MPP = {"mask_ratio": 0.0, "mpp_weight": 0.0}
SCALARS = ("test_accuracy", "centred_accuracy", "locality", "rows", "columns",
           "first_layer_min_ratio")


@dataclass(frozen=True)
class Setup:
    """One row of the table: what differs from the course recipe and TinyViT's sizes."""

    label: str
    recipe: dict = field(default_factory=dict)  # TrainConfig fields that differ
    model: dict = field(default_factory=dict)  # ViTConfig fields that differ
    pos_embed_std: float | None = None  # draw E_pos from N(0, std²) instead


SETUPS = {
    "no_mpp": Setup("no MPP", NO_MPP),
    "mpp_25": Setup("MPP, 25 % hidden", {"mask_ratio": 0.25}),
    "course": Setup("MPP, 50 % hidden (the course recipe)"),
    "no_mpp_batch_32": Setup("no MPP, batch 32, 120 epochs",
                             {**NO_MPP, "batch_size": 32, "epochs": 120}),
    "no_mpp_6_layers": Setup("no MPP, 6 layers", NO_MPP, {"depth": 6}),
    "no_mpp_canvas_40": Setup("no MPP, 40-px canvas (10 × 10 grid), 28-px digits",
                              {**NO_MPP, "digit_size": 28}, {"image_size": 40}),
    "no_mpp_canvas_40_small": Setup("no MPP, 40-px canvas, 20-px digits", NO_MPP,
                                    {"image_size": 40}),
    "no_mpp_pos_n01": Setup("no MPP, E_pos drawn from N(0, 1)", NO_MPP, pos_embed_std=1.0),
}


def _configs(setup: Setup, seed: int, epochs: int | None) -> tuple[ViTConfig, TrainConfig]:
    recipe = replace(COURSE_RECIPE, **setup.recipe, seed=seed)
    if epochs is not None:  # a quick check of the machinery, not a result
        recipe = replace(recipe, epochs=epochs, warmup_epochs=min(recipe.warmup_epochs, epochs))
    return replace(TINY_VIT_CONFIG, **setup.model), recipe


def run_setup(setup: Setup, seed: int, epochs: int | None = None,
              progress: bool = False) -> dict:
    """Train one set-up with one seed and measure it (see :func:`measure`)."""
    config, recipe = _configs(setup, seed, epochs)
    torch.manual_seed(seed)  # the same start as training's own
    start = initial_model(config, recipe)
    if setup.pos_embed_std is not None:
        with torch.no_grad():
            nn.init.normal_(start.positional_embedding.pos_embed, std=setup.pos_embed_std)
    init_copy = initial_model(config, recipe)
    init_copy.load_state_dict(start.state_dict())  # measured at initialisation later
    model, metrics = train(config, recipe, progress=progress, model=start)
    return {"seed": seed, "train_seconds": metrics["train_seconds"],
            **measure(model, init_copy, config, recipe)}


def _rising(run: dict) -> bool:
    means = run["layer_mean_px"]
    return all(a < b for a, b in zip(means, means[1:]))


def _row(setup: Setup, per_seed: list[dict]) -> dict:
    def summary(values):
        return {"mean": statistics.mean(values), "min": min(values), "max": max(values)}

    return {"label": setup.label, "recipe": setup.recipe, "model": setup.model,
            "pos_embed_std": setup.pos_embed_std, "seeds": [s["seed"] for s in per_seed],
            **{key: summary([s[key] for s in per_seed]) for key in SCALARS},
            "pc_top3_mean": [statistics.mean(s["pc_top3"][i] for s in per_seed)
                             for i in range(3)],
            "rising_with_depth": sum(_rising(s) for s in per_seed),
            "per_seed": per_seed}


def run(names=tuple(SETUPS), seeds=SEEDS, epochs: int | None = None,
        course_results: Path = COURSE_RESULTS, done: dict | None = None,
        save=None) -> dict:
    """Every named set-up over ``seeds``; the course recipe's row from its stored results.

    Seed 0 of every set-up runs first, then seed 1 of every set-up, and so on, so that a run
    cut short still covers every row. ``done`` holds runs already measured
    (``{name: [per-seed dicts]}``, from an earlier file: they are kept, not rerun, and so are
    rows not named now), and ``save(results)`` is called after every run with the results so
    far. Each row records the seeds it was measured with.
    """
    per_seed = {name: list(runs) for name, runs in (done or {}).items() if name in SETUPS}
    for name in names:
        per_seed.setdefault(name, [])
    if "course" in names and epochs is None:
        stored = load_results(course_results)["per_seed"]
        per_seed["course"] = [s for s in stored if s["seed"] in seeds]

    def results() -> dict:
        rows = {name: _row(SETUPS[name], sorted(per_seed[name], key=lambda s: s["seed"]))
                for name in SETUPS if per_seed.get(name)}  # in the table's order
        return {"experiment": "training set-ups for the course model (lesson 09)",
                "base_recipe": asdict(COURSE_RECIPE), "setups": rows}

    for seed in seeds:
        for name in names:
            if any(s["seed"] == seed for s in per_seed[name]):
                continue
            per_seed[name].append(run_setup(SETUPS[name], seed, epochs))
            print(f"  {name} seed {seed}: accuracy {per_seed[name][-1]['test_accuracy']:.1%}, "
                  f"locality {per_seed[name][-1]['locality']:.2f}", file=sys.stderr)
            if save is not None:
                save(results())
    return results()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vit_tutorial.course_setups",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--setups", nargs="+", choices=list(SETUPS), default=list(SETUPS))
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument("--resume", action="store_true",
                        help="keep the runs an existing output file holds and add the missing "
                             "ones (the file is rewritten after every run)")
    args = parser.parse_args(argv)
    if any(not 0 <= s <= MAX_SEED for s in args.seeds):
        parser.error(f"--seeds must be from 0 to {MAX_SEED}")
    done = None
    if args.resume and args.output.is_file():
        stored = json.loads(args.output.read_text(encoding="utf-8"))["setups"]
        done = {name: row["per_seed"] for name, row in stored.items()}
    try:  # before the training, not after it
        check_output_path(args.output, force=args.force or args.resume)
    except OutputPathError as error:
        parser.error(str(error))
    start = time.perf_counter()

    def save(results: dict) -> None:
        results["seconds"] = round(time.perf_counter() - start)  # this session's
        results["machine"] = f"{platform.machine()}, one CPU thread, torch {torch.__version__}"
        results["command"] = "python -m vit_tutorial.course_setups"
        atomic_write(args.output, json.dumps(results, indent=1) + "\n", force=True)

    results = run(tuple(args.setups), tuple(args.seeds), done=done, save=save)
    save(results)
    print(json.dumps({name: {"seeds": row["seeds"], "test_accuracy": row["test_accuracy"]}
                      for name, row in results["setups"].items()}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
