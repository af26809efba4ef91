"""The measured results that lessons 04, 06, 10 and 11 show, and the script that reproduces them.

Run (each writes a JSON file next to this module, in ``results/``; ``--force`` to replace)::

    python -m vit_tutorial.experiments ablation     # lesson 04: no E_pos / learned 1-D / sin-cos
    python -m vit_tutorial.experiments resolution   # lesson 06: TinyViT at 56×56 (14×14 grid)
    python -m vit_tutorial.experiments flexivit     # lesson 10: other patch sizes, PI/plain resize
    python -m vit_tutorial.experiments rope         # lesson 10: E_pos vs 2-D RoPE at other sizes
    python -m vit_tutorial.experiments registers    # lesson 10: token norms, 0 and 4 registers
    python -m vit_tutorial.experiments native       # lesson 11: square resize vs NaFlex
    python -m vit_tutorial.experiments flexivit registers rope  # models they share trained once

All train several TinyViTs with the recipe of ``python -m vit_tutorial.train`` on
scikit-learn's digits, over several seeds (``native`` is in
:mod:`vit_tutorial.native_experiment`), so that a lesson can say how much results vary
before it says which setting wins. The notebooks load the JSON files instead of training
in a cell: the files record what was run, how long it took, and the numbers.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import torch

from vit_tutorial.after_the_paper import RoPEViT, high_norm_tokens, with_patch_size
from vit_tutorial.data import digits, place_digits
from vit_tutorial.files import (
    OutputPathError,
    atomic_write,
    check_outputs,
    interruptible,
    output_file,
)
from vit_tutorial.model import TINY_VIT_CONFIG, VisionTransformer, evaluate
from vit_tutorial.native_experiment import run_native
from vit_tutorial.train import MAX_SEED, TrainConfig, train

__all__ = ["RESULTS", "run_ablation", "run_resolution", "run_flexivit", "run_rope",
           "run_registers", "load_results", "main"]

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
    return {"experiment": f"TinyViT trained at 28×28 (7×7 grid), evaluated at "
                          f"{new_size}×{new_size} ({new_size // 4}×{new_size // 4} grid)",
            "recipe": asdict(recipe), "finetune_recipe": asdict(finetune), "seeds": list(seeds),
            "test_accuracy_at_28": _summary(base),
            "zero_shot": {v: _summary(a) for v, a in zero_shot.items()},
            "finetuned": {v: _summary(a) for v, a in finetuned.items()}}


# --- lesson 10: after the paper ------------------------------------------------------------

_TRAINED: dict = {}  # (config, recipe, rope) -> (model, metrics): each training runs once
_REUSED = {"seconds": 0.0}  # training time saved by _TRAINED in the current experiment


def _trained(config, recipe: TrainConfig, rope: str | None = None):
    """A TinyViT (or, with ``rope``, a RoPEViT) trained on the digits; the same training
    asked for twice in one process (e.g. the base models of all three lesson-10
    experiments) runs once. Returns a copy of the model and its metrics."""
    key = (config, recipe, rope)
    if key in _TRAINED:
        _REUSED["seconds"] += _TRAINED[key][1]["train_seconds"]
    else:
        model = None
        if rope is not None:
            torch.manual_seed(recipe.seed)  # as train() does before building a TinyViT
            model = RoPEViT(config, rope=rope)
        _TRAINED[key] = train(config, recipe, progress=False, model=model)
    model, metrics = _TRAINED[key]
    return copy.deepcopy(model), metrics


def _bar(total: int, name: str):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=name, unit="model", file=sys.stderr)


def run_flexivit(seeds=SEEDS, recipe: TrainConfig = TrainConfig(), same_grid=(2, 8),
                 same_image=(2, 7), fresh=(7,)) -> dict:
    """FlexiViT (Beyer et al. 2023) in miniature: TinyViTs trained with P = 4 (28×28, 7×7
    grid) run with other patch sizes P', their filters E resized by PI-resize or plainly
    (:func:`~vit_tutorial.after_the_paper.with_patch_size`). ``same_grid``: the image grows
    with P' (7P' pixels), the grid and E_pos stay. ``same_image``: 28×28 images, a new grid,
    E_pos resized as in lesson 06 (bicubic). ``fresh``: patch sizes at which a new TinyViT
    is also trained with the same recipe (28×28 images)."""
    variants = [(p, 7 * p) for p in same_grid] + [(p, 28) for p in same_image]
    scores = {f"P={p} at {s}": {"pi": [], "plain": []} for p, s in variants}
    for p in fresh:
        scores[f"P={p} at 28"]["fresh"] = []
    base = []
    bar = _bar(len(seeds) * (1 + len(fresh)), "flexivit")
    for seed in seeds:
        model, metrics = _trained(TINY_VIT_CONFIG, replace(recipe, seed=seed))
        base.append(metrics["test_accuracy"])
        bar.update()
        for p, size in variants:
            data = digits("test", size)
            for method in ("pi", "plain"):
                moved = with_patch_size(model, p, image_size=size, method=method)
                scores[f"P={p} at {size}"][method].append(evaluate(moved, *data))
        for p in fresh:
            config = replace(TINY_VIT_CONFIG, patch_size=p)
            scores[f"P={p} at 28"]["fresh"].append(
                _trained(config, replace(recipe, seed=seed))[1]["test_accuracy"])
            bar.update()
        bar.write(f"  seed {seed}: P=4 {base[-1]:.2%}; " + "; ".join(
            f"{name} " + "/".join(f"{a[-1]:.2%}" for a in row.values())
            for name, row in scores.items()), file=sys.stderr)
    bar.close()
    return {"experiment": "TinyViT trained at 28×28 with P=4 (7×7 grid), run with other patch "
                          "sizes P': E by PI-resize or plain resize; E_pos resized to a new "
                          "grid as in lesson 06 (bicubic); fresh = a TinyViT trained with P'",
            "recipe": asdict(recipe), "seeds": list(seeds),
            "test_accuracy_P4": _summary(base),
            "variants": {name: {"patch_size": p, "image_size": size, "grid": size // p,
                                **{k: _summary(v) for k, v in scores[name].items()}}
                         for (p, size), name in zip(variants, scores)}}


ROPE_KINDS = {"learned": None, "sincos": None, "axial": "axial", "mixed": "mixed"}


def run_rope(seeds=SEEDS, recipe: TrainConfig = TrainConfig(), sizes=(20, 28, 36, 44, 56),
             canvases=(28, 36, 44, 56), kinds=tuple(ROPE_KINDS)) -> dict:
    """Heo et al.'s resolution test in miniature: TinyViTs with learned E_pos, fixed 2-D
    sine–cosine E_pos, and RoPEViTs with axial (and mixed) 2-D RoPE, all trained at 28×28
    (P = 4), then tested without fine-tuning at other sizes (E_pos interpolated bicubically
    or rebuilt with ``model.resized``, as in lesson 06; RoPE unchanged), two ways:
    ``sizes``: the test digits drawn at that size (a zoom: the digit grows with the image);
    ``canvases``: the 28×28 test digits pasted at random places (seeded) on a larger empty
    canvas (more room: the digit keeps its size)."""
    test_x, labels = digits("test", TINY_VIT_CONFIG.image_size)
    zoomed = {size: digits("test", size)[0] for size in sizes}
    placed = {size: place_digits(test_x, size, generator=torch.Generator().manual_seed(0))
              for size in canvases}
    scores = {kind: {"zoom": {str(s): [] for s in sizes},
                     "canvas": {str(s): [] for s in canvases}} for kind in kinds}
    bar = _bar(len(kinds) * len(seeds), "rope")
    for kind in kinds:
        rope = ROPE_KINDS[kind]
        config = replace(TINY_VIT_CONFIG, positional_embedding="none" if rope else kind)
        for seed in seeds:
            model, _ = _trained(config, replace(recipe, seed=seed), rope=rope)
            for test, images in (("zoom", zoomed), ("canvas", placed)):
                for size, x in images.items():
                    scores[kind][test][str(size)].append(evaluate(model.resized(size), x, labels))
            bar.update()
            bar.write(f"  {kind:<8} seed {seed}: " + "; ".join(
                f"{test} " + ", ".join(f"{size} {a[-1]:.1%}" for size, a in row.items())
                for test, row in scores[kind].items()), file=sys.stderr)
    bar.close()
    return {"experiment": "position information at other resolutions: trained at 28×28 "
                          "(P = 4, 7×7 grid), tested without fine-tuning on digits drawn "
                          "larger (zoom) and on 28×28 digits placed on a larger canvas",
            "recipe": asdict(recipe), "seeds": list(seeds), "sizes": list(sizes),
            "canvases": list(canvases),
            "test_accuracy": {kind: {size: _summary(v) for size, v in row["zoom"].items()}
                              for kind, row in scores.items()},
            "test_accuracy_canvas": {kind: {size: _summary(v)
                                            for size, v in row["canvas"].items()}
                                     for kind, row in scores.items()}}


def _norm_statistics(model: VisionTransformer, images: torch.Tensor, factor: float,
                     bins: torch.Tensor) -> dict:
    """Token norms after every block: outliers (> ``factor`` × the image's median norm) and,
    for the last block, a histogram of norm / median."""
    k = model.num_prefix_tokens
    with torch.no_grad():
        z = model.embed(images)  # (B, k + N, D)
        layers = []
        for block in model.encoder.blocks:
            z = block(z)  # (B, k + N, D)
            found = high_norm_tokens(z, k, factor=factor)
            ratio = found.norms / found.median[:, None]  # (B, N): norm / the image's median
            layers.append({"share_above": found.share.item(),
                           "max_ratio": ratio.max().item(),
                           "mean_max_ratio": ratio.max(dim=1).values.mean().item(),
                           "median_norm": found.median.median().item(),
                           "class_token_ratio": (z[:, 0].norm(dim=-1)
                                                 / found.median).median().item(),
                           "register_ratio": ((z[:, 1:k].norm(dim=-1) / found.median[:, None])
                                              .median().item() if k > 1 else None)})
    counts = torch.histogram(ratio.flatten().clamp(max=bins[-1].item()), bins)[0]
    return {"layers": layers, "histogram": counts.int().tolist()}


def run_registers(seeds=SEEDS, recipe: TrainConfig = TrainConfig(), registers=(0, 4),
                  factor: float = 2.0) -> dict:
    """Registers (Darcet et al. 2024) in miniature: TinyViTs with 0 and 4 register tokens;
    test accuracy, and the norms of the patch tokens after every block on the test digits —
    how many exceed ``factor`` × their image's median norm (the high-norm artefact)."""
    images, labels = digits("test", TINY_VIT_CONFIG.image_size)
    bins = torch.linspace(0, 3, 31)  # norm / median in steps of 0.1; the last bin takes >= 2.9
    rows = {}
    bar = _bar(len(registers) * len(seeds), "registers")
    for count in registers:
        config = replace(TINY_VIT_CONFIG, num_register_tokens=count)
        accuracies, stats = [], []
        for seed in seeds:
            model, metrics = _trained(config, replace(recipe, seed=seed))
            accuracies.append(metrics["test_accuracy"])
            stats.append(_norm_statistics(model, images, factor, bins))
            last = stats[-1]["layers"][-1]
            bar.update()
            bar.write(f"  {count} registers, seed {seed}: test accuracy {accuracies[-1]:.2%}; "
                      f"last block: {last['share_above']:.2%} of patch tokens above {factor}× "
                      f"the median, largest ratio {last['max_ratio']:.2f}", file=sys.stderr)
        rows[str(count)] = {"test_accuracy": _summary(accuracies), "per_seed": stats}
    bar.close()
    return {"experiment": f"TinyViT (28×28, 7×7 grid) with 0 and {max(registers)} registers: "
                          f"norms of the patch tokens after each block on the 360 test digits; "
                          f"outlier = norm > {factor}× the image's median patch-token norm",
            "recipe": asdict(recipe), "seeds": list(seeds), "factor": factor,
            "histogram_bins": [round(b, 2) for b in bins.tolist()], "registers": rows}


EXPERIMENTS = {"ablation": run_ablation, "resolution": run_resolution, "flexivit": run_flexivit,
               "rope": run_rope, "registers": run_registers, "native": run_native}


def load_results(name: str) -> dict:
    """The stored results of experiment ``name`` (one of ``EXPERIMENTS``: "ablation",
    "resolution", "flexivit", "rope", "registers", "native")."""
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
    parser.add_argument("names", nargs="+", choices=sorted(EXPERIMENTS), metavar="name",
                        help=f"one or more of {', '.join(sorted(EXPERIMENTS))}")
    parser.add_argument("--output",
                        help="a file (one name only), or a folder ending in / for NAME.json "
                             "inside it; default: vit_tutorial/results/NAME.json")
    parser.add_argument("--force", action="store_true", help="replace an existing file")
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    args = parser.parse_args(argv)
    bad = [s for s in args.seeds if not 0 <= s <= MAX_SEED]
    if bad:
        parser.error(f"--seeds must be from 0 to {MAX_SEED}, got {bad[0]}")
    args.names = list(dict.fromkeys(args.names))  # each once, in the order given
    try:  # before the hour of training, not after it
        outputs = [RESULTS / f"{name}.json" if args.output is None
                   else output_file(args.output, f"{name}.json") for name in args.names]
        if len(set(outputs)) < len(outputs):
            parser.error(f"--output names one file, but {len(args.names)} experiments were "
                         f"asked for; give a folder ending in / (each writes NAME.json), "
                         f"leave it out, or run them one by one")
        args.outputs = list(check_outputs({f"{name}'s output": output for name, output
                                           in zip(args.names, outputs)},
                                          force=args.force).values())
    except OutputPathError as error:
        parser.error(str(error))
    return args


@interruptible
def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    for name, output in zip(args.names, args.outputs):
        _REUSED["seconds"] = 0.0
        start = time.perf_counter()
        results = EXPERIMENTS[name](seeds=tuple(args.seeds))
        # as if run alone: models trained for an earlier experiment of this run count too
        results["seconds"] = round(time.perf_counter() - start + _REUSED["seconds"])
        results["machine"] = (f"{platform.machine()}, {torch.get_num_threads()} CPU threads, "
                              f"torch {torch.__version__}")
        results["command"] = f"python -m vit_tutorial.experiments {name}"
        text = json.dumps(results, indent=2) + "\n"
        print(text, end="")  # first on the screen, so nothing is lost if the write fails
        atomic_write(output, text, force=args.force)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
