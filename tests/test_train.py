"""Training: deterministic on one thread, the schedule and augmentation, atomic checkpoints,
and a command line that checks its arguments before the long work."""

import json
import os
import subprocess
import sys
from dataclasses import asdict, replace
from pathlib import Path

import pytest
import torch

from vit_tutorial import train as train_module
from vit_tutorial.model import TINY_VIT_CONFIG, TinyViT, load_tiny_vit
from vit_tutorial.train import (
    TrainConfig,
    _shift,
    lr_factor,
    param_groups,
    save_checkpoint,
    train,
)

QUICK = TrainConfig(epochs=3, warmup_epochs=0, lr=3e-3)
SMALL = replace(TINY_VIT_CONFIG, depth=1, embed_dim=16, num_heads=2, mlp_dim=32)


@pytest.mark.slow
def test_training_is_deterministic_and_learns():
    model_a, metrics_a = train(SMALL, QUICK, progress=False)
    model_b, metrics_b = train(SMALL, QUICK, progress=False)
    for (name, a), b in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert torch.equal(a, b), name
    assert metrics_a["test_accuracy"] == metrics_b["test_accuracy"] > 0.3  # chance is 0.1
    assert [h["epoch"] for h in metrics_a["history"]] == [1, 2, 3]
    assert metrics_a["history"][-1]["loss"] < metrics_a["history"][0]["loss"]
    assert torch.get_num_threads() >= 1  # the thread count is restored


@pytest.mark.slow
def test_a_non_square_image_size_trains():
    config = replace(SMALL, image_size=(28, 32))
    model, metrics = train(config, replace(QUICK, epochs=1), progress=False)
    assert model.patch_embed.grid_size == (7, 8) and 0 <= metrics["test_accuracy"] <= 1


def test_the_schedule_warms_up_then_decays_to_zero():
    factors = [lr_factor(step, total=10, warmup=2) for step in range(10)]
    assert factors[:2] == [0.5, 1.0] and factors[2] == 1.0
    assert all(a >= b for a, b in zip(factors[2:], factors[3:]))
    assert lr_factor(10, total=10, warmup=2) == pytest.approx(0.0)


def test_weight_decay_only_on_weight_matrices():
    model = TinyViT(SMALL)
    decay, no_decay = param_groups(model, 0.05)
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    assert all(p.ndim == 2 or p.ndim == 4 for p in decay["params"])
    names = {id(p): n for n, p in model.named_parameters()}
    undecayed = {names[id(p)] for p in no_decay["params"]}
    assert {"class_token.cls_token", "positional_embedding.pos_embed", "norm.weight",
            "head.bias"} <= undecayed


def test_shift_moves_whole_images():
    image = torch.zeros(1, 1, 6, 6)
    image[0, 0, 2, 3] = 1
    shifted = _shift(image.repeat(50, 1, 1, 1), 2, torch.Generator().manual_seed(0))
    assert shifted.shape == (50, 1, 6, 6)
    assert torch.all(shifted.sum(dim=(1, 2, 3)) == 1)  # a pixel 2 from the edge never leaves
    assert len({tuple(torch.nonzero(s[0])[0].tolist()) for s in shifted}) > 5


def test_save_is_atomic_and_refuses_to_overwrite(tmp_path):
    model = TinyViT(SMALL)  # untrained: saving doesn't need a trained model
    metrics = {"train_accuracy": 0.1, "test_accuracy": 0.1}
    path = tmp_path / "tiny.pt"
    save_checkpoint(model, metrics, QUICK, path)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.pt"]  # no temporary file left
    before = path.read_bytes()
    with pytest.raises(ValueError, match="exists; pass --force"):
        save_checkpoint(model, metrics, QUICK, path)
    assert path.read_bytes() == before
    save_checkpoint(model, metrics, QUICK, path, force=True)
    loaded = load_tiny_vit(path, config=SMALL)
    assert torch.equal(loaded.head.weight, model.head.weight)


@pytest.mark.parametrize("argv, message", [
    (["--epochs", "0"], "--epochs must be at least 1, got 0"),
    (["--seed", str(2 ** 64)], "--seed must be from 0 to"),
    (["--seed", "-1"], "--seed must be from 0 to"),
    (["--output", "."], "is a folder; give a file name"),
])
def test_command_refuses_bad_arguments_before_training(argv, message, capsys, monkeypatch):
    monkeypatch.setattr(train_module, "train", lambda *a, **k: pytest.fail("trained anyway"))
    with pytest.raises(SystemExit) as stop:
        train_module.main(argv)
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert "error: " in error and message in error and "Traceback" not in error


def test_command_refuses_an_existing_file_before_training(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(train_module, "train", lambda *a, **k: pytest.fail("trained anyway"))
    path = tmp_path / "tiny.pt"
    path.write_bytes(b"mine")
    with pytest.raises(SystemExit):
        train_module.main(["--output", str(path)])
    assert "exists; pass --force" in capsys.readouterr().err
    assert path.read_bytes() == b"mine"
    with pytest.raises(SystemExit):  # a path inside a file
        train_module.main(["--output", str(path / "x.pt")])
    assert "is a file, not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("changes, message", [
    ({"batch_size": 0}, "batch_size must be a positive int, got 0"),
    ({"epochs": 2.5}, "epochs must be a positive int"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"weight_decay": 1.5}, r"weight_decay must be a number in \[0, 1\)"),
    ({"max_shift": -1}, "max_shift must be a whole number >= 0"),
])
def test_recipe_is_checked_when_made(changes, message):
    with pytest.raises((TypeError, ValueError), match=message):
        replace(QUICK, **changes)


@pytest.mark.slow
def test_the_course_recipe_trains_and_writes_its_history(tmp_path, monkeypatch):
    recipe = replace(train_module.COURSE_RECIPE, epochs=1, warmup_epochs=0)
    model, metrics = train(SMALL, recipe, progress=False)
    assert len(metrics["history"]) == 1 and 0 <= metrics["test_accuracy"] <= 1
    assert model.patch_embed.proj.bias.abs().sum() != 0  # E's bias was trained from zero
    epoch = metrics["history"][0]  # both parts of the loss, each unweighted
    assert epoch["classification_loss"] > 0 and epoch["masked_patch_loss"] > 0
    assert epoch["loss"] == pytest.approx(
        epoch["classification_loss"] + recipe.mpp_weight * epoch["masked_patch_loss"], abs=1e-3)


def test_the_shipped_history_holds_both_parts_of_the_loss():
    history = json.loads((Path(train_module.__file__).parent / "results"
                          / "course_model_training.json").read_text())["history"]
    assert [h["epoch"] for h in history] == list(range(1, 81))
    for h in history:  # loss = CE + 10 x MSE, each part a mean over the epoch's steps
        assert h["loss"] == pytest.approx(h["classification_loss"]
                                          + 10 * h["masked_patch_loss"], abs=1e-3)
    assert history[-1]["classification_loss"] < history[0]["classification_loss"]


@pytest.mark.slow
def test_the_same_machine_retrains_the_same_file(tmp_path):
    """What README promises on one machine: the same seed gives the same bytes."""
    for name in ("a.pt", "b.pt"):
        model, metrics = train(SMALL, replace(QUICK, epochs=1), progress=False)
        save_checkpoint(model, metrics, QUICK, tmp_path / name)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()


#: Another CPU (other vector instructions) rounds differently, and the differences grow
#: with training: README's measured full retrain is one test digit off (98.61 % vs 98.33 %)
#: with weights up to 0.08 apart. After QUICK's 3 epochs they were 0.0015 (AVX2's kernels)
#: and 0.0018 (these) apart, the accuracy the same.
OTHER_CPU_WEIGHTS, OTHER_CPU_ACCURACY = 0.01, 0.01
OLDEST_X86_64 = {"ATEN_CPU_CAPABILITY": "default",  # torch's kernels without AVX,
                 "ONEDNN_MAX_CPU_ISA": "SSE41",  # oneDNN's (the convolution) and MKL's
                 "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"}  # (the matrix products) capped too


@pytest.mark.slow
def test_another_cpus_kernels_give_the_same_numbers_within_the_stated_tolerance(tmp_path):
    script = (f"import torch\nfrom vit_tutorial.train import TrainConfig, train\n"
              f"from vit_tutorial.model import ViTConfig\n"
              f"model, metrics = train(ViTConfig(**{asdict(SMALL)!r}), "
              f"TrainConfig(**{asdict(QUICK)!r}), progress=False)\n"
              f"torch.save([model.state_dict(), metrics['test_accuracy'], "
              f"torch.backends.cpu.get_cpu_capability()], {str(tmp_path / 'other.pt')!r})\n")
    subprocess.run([sys.executable, "-c", script], check=True,
                   env={**os.environ, **OLDEST_X86_64})
    other, other_accuracy, capability = torch.load(tmp_path / "other.pt")
    model, metrics = train(SMALL, QUICK, progress=False)
    here = model.state_dict()
    assert capability == "DEFAULT"  # the setting took: no AVX in torch's own kernels
    gap = max((other[key] - here[key]).abs().max().item() for key in here)
    assert gap < OTHER_CPU_WEIGHTS
    assert abs(other_accuracy - metrics["test_accuracy"]) <= OTHER_CPU_ACCURACY

