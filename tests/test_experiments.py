"""The measured results the lessons show, and the command that reproduces them."""

import json

import pytest

from vit_tutorial import experiments
from vit_tutorial.train import TrainConfig


@pytest.mark.parametrize("name", sorted(experiments.EXPERIMENTS))
def test_stored_results_are_whole_and_consistent(name):
    results = experiments.load_results(name)
    assert results["seeds"] == [0, 1, 2]
    assert results["command"] == f"python -m vit_tutorial.experiments {name}"

    def summaries(node):
        if isinstance(node, dict) and {"mean", "min", "max", "per_seed"} <= node.keys():
            yield node
        elif isinstance(node, dict):
            for value in node.values():
                yield from summaries(value)

    found = list(summaries(results))
    assert found, f"{name}: no per-seed summaries"
    for summary in found:
        assert len(summary["per_seed"]) == len(results["seeds"])
        assert summary["min"] <= summary["mean"] <= summary["max"]
        assert summary["mean"] == pytest.approx(sum(summary["per_seed"]) / 3)


def test_unknown_experiment():
    with pytest.raises(ValueError, match="unknown experiment 'nope'; choose one of"):
        experiments.load_results("nope")


def test_command_checks_the_output_before_the_work(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(experiments.EXPERIMENTS, "ablation",
                        lambda seeds: pytest.fail("ran anyway"))
    (tmp_path / "taken.json").write_text("{}")
    for argv, message in ((["ablation", "--output", str(tmp_path / "taken.json")], "exists"),
                          (["ablation", "--output", str(tmp_path)], "is a folder"),
                          (["ablation", "--seeds", "-1"], "--seeds must be from 0")):
        with pytest.raises(SystemExit) as stop:
            experiments.main(argv)
        assert stop.value.code == 2 and message in capsys.readouterr().err


def test_command_prints_then_writes(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(experiments.EXPERIMENTS, "ablation",
                        lambda seeds: {"seeds": list(seeds), "numbers": [1, 2]})
    output = tmp_path / "out.json"
    assert experiments.main(["ablation", "--output", str(output), "--seeds", "3"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(output.read_text()) == printed and printed["seeds"] == [3]


@pytest.mark.slow
def test_ablation_runs_end_to_end_on_a_tiny_recipe():
    results = experiments.run_ablation(seeds=(0,), recipe=TrainConfig(epochs=1, warmup_epochs=0))
    assert set(results["test_accuracy"]) == {"none", "learned", "sincos"}
