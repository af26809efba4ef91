"""The course model of lesson 09, measured (``vit_tutorial.course_model``), and its recipe."""

import json

import pytest
import torch

from vit_tutorial import course_model
from vit_tutorial.model import TINY_VIT_CONFIG, load_course_model
from vit_tutorial.train import COURSE_RECIPE, MaskedPatchPrediction, initial_model, training_data


def test_the_shipped_course_model_shows_what_lesson_09_says():
    model = load_course_model()
    torch.manual_seed(0)
    found = course_model.measure(model, initial_model(TINY_VIT_CONFIG, COURSE_RECIPE))
    assert found["test_accuracy"] >= 0.95 and found["centred_accuracy"] >= 0.95
    assert found["locality"] >= 0.7 and found["rows"] > 0 and found["columns"] > 0
    assert found["first_layer_min_ratio"] <= 0.6  # a local head in the lowest layer
    assert sum(found["pc_top3"]) > 1.5 * sum(found["pc_top3_init"])  # E learned structure
    assert found["rollout_on_ink"] > 1.5 * found["ink_share"]  # rollout follows the strokes


def test_stored_results_match_the_shipped_model_for_seed_0():
    results = course_model.load_results()
    seed_0 = next(s for s in results["per_seed"] if s["seed"] == 0)
    model = load_course_model()
    torch.manual_seed(0)
    again = course_model.measure(model, initial_model(TINY_VIT_CONFIG, COURSE_RECIPE))
    for key in ("test_accuracy", "locality", "first_layer_min_ratio", "rollout_on_ink"):
        assert again[key] == pytest.approx(seed_0[key], abs=1e-6), key
    assert results["seeds"] == [0, 1, 2]
    for summary in results["summary"].values():
        assert summary["min"] <= summary["mean"] <= summary["max"]


def test_ink_patches():
    images = torch.zeros(1, 1, 8, 8)
    images[0, 0, 5, 1] = 1.0  # bottom-left 4x4 patch of a 2x2 grid
    assert course_model.ink_patches(images, 4).tolist() == [[False, False, True, False]]


def test_the_placed_test_set_is_fixed():
    a, labels = training_data(TINY_VIT_CONFIG, COURSE_RECIPE, "test")
    b, _ = training_data(TINY_VIT_CONFIG, COURSE_RECIPE, "test")
    assert a.shape == (360, 1, 28, 28) and torch.equal(a, b) and len(labels) == 360


def test_masked_patch_prediction_loss_hides_patches_and_predicts_pixels():
    torch.manual_seed(0)
    model = initial_model(TINY_VIT_CONFIG, COURSE_RECIPE)
    mpp = MaskedPatchPrediction(64, 16)
    images = torch.rand(4, 1, 28, 28)
    loss = mpp.loss(model, images, 0.5, torch.Generator().manual_seed(0))
    assert loss.ndim == 0 and loss.item() > 0
    loss.backward()  # the mask embedding and the map to pixels learn, and so does E
    assert mpp.mask_token.grad.abs().sum() > 0 and model.patch_embed.proj.weight.grad is not None


def test_command_checks_its_output_first(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(course_model, "run", lambda seeds: pytest.fail("ran anyway"))
    with pytest.raises(SystemExit) as stop:
        course_model.main(["--output", str(tmp_path)])
    assert stop.value.code == 2 and "is a folder" in capsys.readouterr().err
    monkeypatch.setattr(course_model, "run", lambda seeds: {"seeds": list(seeds)})
    out = tmp_path / "r.json"
    assert course_model.main(["--output", str(out), "--seeds", "4"]) == 0
    assert json.loads(out.read_text())["seeds"] == [4]
