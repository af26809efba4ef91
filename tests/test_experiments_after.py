"""Lesson 10's experiments (``vit_tutorial.experiments``: flexivit, rope, registers): their
logic on untrained models (fast), the cache of trained models, several experiments in one
command, and the shipped result files."""

from dataclasses import asdict, replace

import pytest
import torch

from vit_tutorial import experiments
from vit_tutorial.after_the_paper import RoPEViT
from vit_tutorial.model import TINY_VIT_CONFIG, TinyViT
from vit_tutorial.train import TrainConfig

SEEDS = (0, 1)
FEW = 12  # test digits the fast tests evaluate on


@pytest.fixture
def untrained(monkeypatch):
    """``_trained`` without the training: a freshly built model, a made-up accuracy; and
    only a few test digits to evaluate on."""
    calls = []
    digits = experiments.digits
    monkeypatch.setattr(experiments, "digits",
                        lambda split, size: tuple(t[:FEW] for t in digits(split, size)))

    def fake(config, recipe, rope=None):
        calls.append((config, recipe.seed, rope))
        torch.manual_seed(recipe.seed)
        model = RoPEViT(config, rope=rope) if rope else TinyViT(config)
        return model.eval(), {"test_accuracy": 0.5 + recipe.seed / 10, "train_seconds": 1.0}

    monkeypatch.setattr(experiments, "_trained", fake)
    return calls


@pytest.mark.slow  # a few seconds: models built and evaluated at four patch sizes
def test_flexivit_runs_every_variant(untrained):
    results = experiments.run_flexivit(seeds=(1,))
    assert results["seeds"] == [1] and results["test_accuracy_P4"]["per_seed"] == [0.6]
    variants = results["variants"]
    assert {(v["patch_size"], v["image_size"], v["grid"]) for v in variants.values()} == {
        (2, 14, 7), (8, 56, 7), (2, 28, 14), (7, 28, 4)}
    for v in variants.values():
        assert len(v["pi"]["per_seed"]) == len(v["plain"]["per_seed"]) == 1
        assert v["pi"]["min"] <= v["pi"]["mean"] <= v["pi"]["max"]
    assert variants["P=7 at 28"]["fresh"]["per_seed"] == [0.6]  # the fresh P' = 7 model
    assert "fresh" not in variants["P=2 at 28"]
    assert (replace(TINY_VIT_CONFIG, patch_size=7), 1, None) in untrained


@pytest.mark.slow  # a few seconds: four kinds of model, each evaluated at four sizes
def test_rope_evaluates_every_kind_at_every_size(untrained):
    results = experiments.run_rope(seeds=(1,), sizes=(20, 36), canvases=(28, 40))
    assert results["sizes"] == [20, 36] and results["canvases"] == [28, 40]
    for key, sizes in (("test_accuracy", {"20", "36"}), ("test_accuracy_canvas", {"28", "40"})):
        assert set(results[key]) == {"learned", "sincos", "axial", "mixed"}
        for row in results[key].values():
            assert set(row) == sizes and all(s["per_seed"] for s in row.values())
    configs = {rope: config for config, _, rope in untrained}
    assert configs["axial"].positional_embedding == "none" == configs["mixed"].positional_embedding
    assert (replace(TINY_VIT_CONFIG, positional_embedding="sincos"), 1, None) in untrained


@pytest.mark.slow  # a second or two: two models, norms after every block
def test_registers_measure_norms_after_every_block(untrained):
    results = experiments.run_registers(seeds=SEEDS)
    assert set(results["registers"]) == {"0", "4"} and results["factor"] == 2.0
    bins = results["histogram_bins"]
    for count, row in results["registers"].items():
        for seed in row["per_seed"]:
            assert len(seed["layers"]) == TINY_VIT_CONFIG.depth
            assert sum(seed["histogram"]) == FEW * 49 and len(seed["histogram"]) == len(bins) - 1
            last = seed["layers"][-1]
            assert 0 <= last["share_above"] <= 1 and last["max_ratio"] >= 1
            assert (last["register_ratio"] is None) == (count == "0")


@pytest.mark.slow
def test_a_training_asked_twice_runs_once(monkeypatch):
    monkeypatch.setattr(experiments, "_TRAINED", {})
    experiments._REUSED["seconds"] = 0.0
    recipe = TrainConfig(epochs=1)
    config = replace(TINY_VIT_CONFIG, positional_embedding="none", depth=1)
    first, metrics = experiments._trained(config, recipe, rope="axial")
    second, again = experiments._trained(config, recipe, rope="axial")
    assert isinstance(first, RoPEViT) and first is not second and again is metrics
    assert experiments._REUSED["seconds"] == metrics["train_seconds"]
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)


def test_command_line_refuses_bad_requests(tmp_path, capsys):
    with pytest.raises(SystemExit):
        experiments.main(["rope", "registers", "--output", str(tmp_path / "x.json")])
    assert "--output names one file" in capsys.readouterr().err
    existing = tmp_path / "rope.json"
    existing.write_text("{}")
    with pytest.raises(SystemExit):
        experiments.main(["rope", "--output", str(existing)])
    assert "rope.json" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        experiments.main(["patches"])


def test_command_line_writes_each_result(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(experiments.EXPERIMENTS, "rope", lambda seeds: {"seeds": list(seeds)})
    experiments.main(["rope", "--output", str(tmp_path / "rope.json"), "--seeds", "3"])
    stored = experiments.json.loads((tmp_path / "rope.json").read_text())
    assert stored["seeds"] == [3] and stored["command"] == "python -m vit_tutorial.experiments rope"
    assert isinstance(stored["seconds"], int)


@pytest.mark.parametrize("name", ["flexivit", "rope", "registers"])
def test_shipped_lesson_10_results_are_full_runs(name):
    """The files the lesson loads: three seeds, the default recipe, the command that made them."""
    results = experiments.load_results(name)
    assert results["seeds"] == [0, 1, 2]
    defaults = asdict(TrainConfig())  # fields added to the recipe later keep their defaults
    assert {**defaults, **results["recipe"]} == defaults
    assert results["command"] == f"python -m vit_tutorial.experiments {name}"
    assert results["seconds"] > 60 and "CPU threads" in results["machine"]  # a real run
