"""The measured results that lessons 04 and 06 show, and the script that reproduces them.

Run (each writes a JSON file next to this module, in ``results/``; ``--force`` to replace)::

    python -m vit_tutorial.experiments ablation     # lesson 04: no E_pos / learned 1-D / 2-D sin-cos
    python -m vit_tutorial.experiments resolution   # lesson 06: TinyViT at 56×56 (14×14 grid)

Both train several TinyViTs with the recipe of ``python -m vit_tutorial.train`` on
scikit-learn's digits, over several seeds, so that a lesson can say how much results vary
before it says which setting wins. The notebooks load the JSON files instead of training
in a cell: the files record what was run, how long it took, and the numbers.
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

from vit_tutorial.data import digits
from vit_tutorial.files import OutputPathError, atomic_write, check_output_path
from vit_tutorial.model import TINY_VIT_CONFIG, VisionTransformer, evaluate
from vit_tutorial.train import MAX_SEED, TrainConfig, train

__all__ = ["RESULTS", "run_ablation", "run_resolution", "load_results", "main"]

RESULTS = Path(__file__).parent / "results"
SEEDS = (0, 1, 2)


def _summary(values: list[float]) -> dict:
    return {"mean": statistics.mean(values), "min": min(values), "max": max(values),
            "per_seed": values}


def run_ablation(seeds=SEEDS, recipe: TrainConfig = TrainConfig()) -> dict:
    """Appendix D.4 in miniature: the same TinyViT trained with no E_pos, learned 1-D E_pos
    (the paper's choice) and fixed 2-D sine–cosine E_pos; test accuracy per seed."""
    rows = {}
    for kind in ("none", "learned", "sincos"):
        config = replace(TINY_VIT_CONFIG, positional_embedding=kind)
        accuracies = []
        for seed in seeds:
            _, metrics = train(config, replace(recipe, seed=seed), progress=False)
            accuracies.append(metrics["test_accuracy"])
            print(f"  {kind:<8} seed {seed}: test accuracy {metrics['test_accuracy']:.2%}",
                  file=sys.stderr)
        rows[kind] = _summary(accuracies)
    return {"experiment": "position-embedding ablation on digits (28×28, 7×7 grid)",
            "recipe": asdict(recipe), "seeds": list(seeds), "test_accuracy": rows}


def run_resolution(seeds=SEEDS, recipe: TrainConfig = TrainConfig(), new_size: int = 56,
                   finetune_epochs: int = 3) -> dict:
    """Sec. 3.2 in miniature: TinyViTs trained at 28×28 (7×7 grid) moved to ``new_size``
    (14×14 grid at 56) with E_pos interpolated (bicubic / bilinear / nearest) or replaced
    by a fresh random E_pos; test accuracy at once (zero-shot) and after a short fine-tune
    at the new resolution."""
    test_x, test_y = digits("test", new_size)
    scale = new_size // TINY_VIT_CONFIG.image_size
    finetune = replace(recipe, epochs=finetune_epochs, warmup_epochs=0, lr=recipe.lr / 4,
                       max_shift=recipe.max_shift * scale)
    variants = ("bicubic", "bilinear", "nearest", "fresh")
    zero_shot = {v: [] for v in variants}
    finetuned = {v: [] for v in variants}
    base = []
    for seed in seeds:
        model, metrics = train(TINY_VIT_CONFIG, replace(recipe, seed=seed), progress=False)
        base.append(metrics["test_accuracy"])
        for variant in variants:
            if variant == "fresh":
                torch.manual_seed(seed)
                fresh = VisionTransformer(replace(model.config, image_size=new_size))
                big = model.resized(new_size)
                big.positional_embedding.load_state_dict(fresh.positional_embedding.state_dict())
            else:
                big = model.resized(new_size, mode=variant)
            zero_shot[variant].append(evaluate(big, test_x, test_y))
            tuned, tuned_metrics = train(big.config, replace(finetune, seed=seed),
                                         progress=False, model=big)
            finetuned[variant].append(tuned_metrics["test_accuracy"])
            print(f"  seed {seed} {variant:<8}: zero-shot {zero_shot[variant][-1]:.2%}, "
                  f"fine-tuned {finetuned[variant][-1]:.2%}", file=sys.stderr)
    return {"experiment": f"TinyViT trained at 28×28 (7×7 grid), evaluated at {new_size}×{new_size} "
                          f"({new_size // 4}×{new_size // 4} grid)",
            "recipe": asdict(recipe), "finetune_recipe": asdict(finetune), "seeds": list(seeds),
            "test_accuracy_at_28": _summary(base),
            "zero_shot": {v: _summary(a) for v, a in zero_shot.items()},
            "finetuned": {v: _summary(a) for v, a in finetuned.items()}}


EXPERIMENTS = {"ablation": run_ablation, "resolution": run_resolution}


def load_results(name: str) -> dict:
    """The stored results of experiment ``name`` ("ablation" or "resolution")."""
    if name not in EXPERIMENTS:
        raise ValueError(f"unknown experiment {name!r}; choose one of {sorted(EXPERIMENTS)}")
    path = RESULTS / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"no stored results at {path}; run "
                                f"`python -m vit_tutorial.experiments {name}`")
    return json.loads(path.read_text(encoding="utf-8"))


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m vit_tutorial.experiments",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=sorted(EXPERIMENTS))
    parser.add_argument("--output", type=Path, help="default: vit_tutorial/results/NAME.json")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    args = parser.parse_args(argv)
    bad = [s for s in args.seeds if not 0 <= s <= MAX_SEED]
    if bad:
        parser.error(f"--seeds must be from 0 to {MAX_SEED}, got {bad[0]}")
    args.output = args.output or RESULTS / f"{args.name}.json"
    try:  # before the hour of training, not after it
        check_output_path(args.output, force=args.force)
    except OutputPathError as error:
        parser.error(str(error))
    return args


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    start = time.perf_counter()
    results = EXPERIMENTS[args.name](seeds=tuple(args.seeds))
    results["seconds"] = round(time.perf_counter() - start)
    results["machine"] = (f"{platform.machine()}, {torch.get_num_threads()} CPU threads, "
                          f"torch {torch.__version__}")
    results["command"] = f"python -m vit_tutorial.experiments {args.name}"
    text = json.dumps(results, indent=2) + "\n"
    print(text, end="")  # first on the screen, so nothing is lost if the write fails
    atomic_write(args.output, text, force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
