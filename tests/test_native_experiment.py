"""Lesson 11's experiment (``vit_tutorial.native_experiment``, run as ``python -m
vit_tutorial.experiments native``): the canvases, the two pipelines, the padding counts, a
run on a tiny recipe, and the shipped results against what the lesson prints."""

import contextlib
import io
import json
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from vit_tutorial import experiments
from vit_tutorial import native_experiment as ne
from vit_tutorial.train import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def test_training_canvases_stay_within_the_sides_and_the_aspect():
    shapes = ne.canvas_shapes(500, torch.Generator().manual_seed(0))
    assert all(14 <= min(s) and max(s) <= 40 and max(s) <= 2 * min(s) for s in shapes)
    assert len(set(shapes)) > 50  # many shapes, both orientations
    assert any(h > w for h, w in shapes) and any(h < w for h, w in shapes)


def test_a_digit_fills_the_short_side_somewhere_along_the_long_one():
    drawn = {14: torch.rand(3, 1, 14, 14), 20: torch.rand(3, 1, 20, 20)}
    shapes = [(14, 28), (40, 20), (20, 20)]
    canvases = ne.draw_canvases(drawn, torch.tensor([0, 1, 2]), shapes,
                                torch.Generator().manual_seed(1))
    for canvas, (H, W), digit in zip(canvases, shapes, (drawn[14][0], drawn[20][1],
                                                         drawn[20][2])):
        assert canvas.shape == (1, H, W)
        assert canvas.sum() == pytest.approx(digit.sum().item())  # all of it, nothing cut


def test_the_two_pipelines_give_49_tokens_at_most():
    canvases = [torch.rand(1, h, w) for h, w in ne.TEST_SHAPES]
    assert ne.to_square(canvases).shape == (len(canvases), 1, 28, 28)
    batch = ne.to_naflex(canvases)
    lengths = batch["patch_valid"].sum(dim=1).tolist()
    assert max(lengths) <= ne.BUDGET and min(lengths) >= 45
    assert lengths[0] == 45 and lengths[2] == 49  # 14×28 -> 5×9; 28×28 -> 7×7


def test_padding_counts_padded_and_packed_slots():
    result = ne.padding([(8, 8), (4, 8), (4, 4)], 4, None)  # 2×2, 1×2, 1×1 patches
    assert result["tokens"] == [5, 3, 2] and result["max_len"] == 5
    assert result["padded"] == pytest.approx(1 - 10 / 15)
    assert result["packed"] == 0.0  # [5], [3, 2]
    naflex = ne.padding([(600, 512)], 16, 256)
    assert naflex["tokens"] == [17 * 15 + 1]
    assert ne.padding([(14, 28)], 4, None)["tokens"] == [4 * 7 + 1]  # sides padded up


@pytest.mark.slow  # about a minute: three models trained for one epoch, four evaluated
def test_a_run_on_a_tiny_recipe_has_every_part(monkeypatch):
    digits = ne.digits
    monkeypatch.setattr(ne, "digits", lambda split, size: tuple(t[:40] for t in digits(split,
                                                                                      size)))
    results = ne.run_native(seeds=(0, 1), recipe=TrainConfig(epochs=1, warmup_epochs=0,
                                                             batch_size=20))
    shapes = {f"{h}x{w}" for h, w in ne.TEST_SHAPES} | {"mean"}
    assert set(results["test_accuracy"]) == {"square", "naflex", "factorized"}
    for row in results["test_accuracy"].values():
        assert set(row) == shapes and all(len(s["per_seed"]) == 2 for s in row.values())
    assert set(results["test_accuracy_tinyvit"]) == shapes  # the shipped model: no seeds
    assert results["test_accuracy_tinyvit"]["28x28"] > 0.5  # TinyViT's own size
    assert results["padding"]["digits_naflex"]["max_len"] == ne.BUDGET + 1


def test_the_command_runs_the_native_experiment(tmp_path, monkeypatch):
    monkeypatch.setitem(experiments.EXPERIMENTS, "native", lambda seeds: {"seeds": list(seeds)})
    experiments.main(["native", "--output", str(tmp_path / "native.json"), "--seeds", "4"])
    stored = json.loads((tmp_path / "native.json").read_text())
    assert stored["command"] == "python -m vit_tutorial.experiments native"


def test_the_shipped_results_are_a_full_run():
    results = experiments.load_results("native")
    assert results["seeds"] == [0, 1, 2] and results["recipe"] == asdict(TrainConfig())
    assert results["command"] == "python -m vit_tutorial.experiments native"
    assert results["seconds"] > 600 and "CPU threads" in results["machine"]  # a real run
    assert results["test_shapes"] == [list(s) for s in ne.TEST_SHAPES]
    assert results["budget"] == 49 and results["patch_size"] == 4  # TinyViT's 7 × 7 tokens
    for row in results["test_accuracy"].values():
        for i in range(3):  # "mean" is the mean over the canvases, seed by seed
            shapes = [row[f"{h}x{w}"]["per_seed"][i] for h, w in ne.TEST_SHAPES]
            assert row["mean"]["per_seed"][i] == pytest.approx(sum(shapes) / len(shapes))
    padding = results["padding"]  # no training: recomputed exactly
    assert padding["digits_naflex"] == ne.padding(ne.TEST_SHAPES, 4, 49)
    assert padding["digits_native"] == ne.padding(ne.TEST_SHAPES, 4, None)
    assert padding["photos_naflex"] == ne.padding(ne.PHOTO_SHAPES, 16, 256)


def _cells(edition: str) -> list[dict]:
    nb = json.loads((ROOT / edition / "11_native_resolution.ipynb").read_text(encoding="utf-8"))
    return [c for c in nb["cells"] if c["cell_type"] == "code"]


@pytest.mark.parametrize("edition", ["solutions", "notebooks"])
def test_the_lesson_prints_the_shipped_results(edition):
    """The cells that print the tables, run again on the shipped file, print what the lesson
    stores (strict nbval checks the same on a full run of the notebook)."""
    cells = [c for c in _cells(edition)
             if "native = load_results" in "".join(c["source"])
             or 'pad = native["padding"]' in "".join(c["source"])]
    assert len(cells) == 2
    namespace = {"load_results": experiments.load_results}
    for cell in cells:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec("".join(cell["source"]), namespace)  # noqa: S102 - the lesson's own cell
        stored = "".join("".join(o["text"]) for o in cell["outputs"] if o.get("name") == "stdout")
        assert out.getvalue() == stored
