"""The set-ups tried for the course model (``vit_tutorial.course_setups``): what each changes,
the order runs are made in, resuming, the command's checks, and the shipped results."""

import json

import pytest
import torch

from vit_tutorial import course_model, course_setups
from vit_tutorial.course_setups import SETUPS
from vit_tutorial.train import COURSE_RECIPE


def fake_run(setup, seed, epochs=None, progress=False):
    return {"seed": seed, "train_seconds": 1.0, "test_accuracy": 0.5 + seed / 10,
            "centred_accuracy": 0.5, "locality": 0.1 * seed, "rows": 0.0, "columns": 0.0,
            "first_layer_min_ratio": 1.0, "pc_top3": [0.3, 0.2, 0.1],
            "layer_mean_px": [1.0, 2.0, 3.0, 4.0 - seed]}


@pytest.mark.parametrize("name", sorted(SETUPS))
def test_each_setup_changes_what_its_label_says(name):
    config, recipe = course_setups._configs(SETUPS[name], seed=3, epochs=None)
    assert recipe.seed == 3
    if "no MPP" in SETUPS[name].label:
        assert recipe.mpp_weight == 0 and recipe.mask_ratio == 0
    if name == "course":
        assert recipe == COURSE_RECIPE.__class__(**{**COURSE_RECIPE.__dict__, "seed": 3})
    if "40-px canvas" in SETUPS[name].label:
        assert config.image_size == 40
    assert (name == "no_mpp_pos_n01") == (SETUPS[name].pos_embed_std is not None)


def test_seed_0_of_every_row_runs_first_and_a_resumed_run_keeps_what_it_had(monkeypatch):
    calls, saved = [], []
    monkeypatch.setattr(course_setups, "run_setup",
                        lambda setup, seed, epochs=None: calls.append((setup.label, seed))
                        or fake_run(setup, seed))
    names = ("no_mpp", "mpp_25")
    done = {"no_mpp": [fake_run(None, 0)], "no_mpp_6_layers": [fake_run(None, 0)]}
    results = course_setups.run(names, seeds=(0, 1), done=done, save=saved.append)
    assert calls == [(SETUPS["mpp_25"].label, 0), (SETUPS["no_mpp"].label, 1),
                     (SETUPS["mpp_25"].label, 1)]  # no_mpp seed 0 was done
    assert len(saved) == 3  # after every run
    rows = results["setups"]
    assert list(rows) == ["no_mpp", "mpp_25", "no_mpp_6_layers"]  # the table's order, all kept
    assert rows["no_mpp"]["seeds"] == [0, 1] and rows["no_mpp_6_layers"]["seeds"] == [0]
    accuracy = rows["mpp_25"]["test_accuracy"]
    assert (accuracy["min"], accuracy["max"]) == (0.5, 0.6)
    assert accuracy["mean"] == pytest.approx(0.55)
    assert rows["no_mpp"]["rising_with_depth"] == 1  # seed 0's layer means rise, seed 1's not


def test_the_course_row_is_read_from_the_course_models_results(monkeypatch):
    monkeypatch.setattr(course_setups, "run_setup", lambda *a, **k: pytest.fail("trained"))
    row = course_setups.run(("course",))["setups"]["course"]
    stored = course_model.load_results()
    assert row["seeds"] == stored["seeds"]
    assert row["test_accuracy"]["mean"] == pytest.approx(
        stored["summary"]["test_accuracy"]["mean"])


@pytest.mark.slow
def test_one_epoch_of_a_setup_trains_and_is_measured():
    found = course_setups.run_setup(SETUPS["no_mpp_pos_n01"], seed=0, epochs=1)
    assert found["seed"] == 0 and 0 <= found["test_accuracy"] <= 1
    assert len(found["layer_mean_px"]) == 4 and len(found["pc_top3_init"]) == 3


def test_the_command_checks_its_output_first(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(course_setups, "run", lambda *a, **k: pytest.fail("ran anyway"))
    with pytest.raises(SystemExit) as stop:
        course_setups.main(["--output", str(tmp_path)])
    assert stop.value.code == 2 and "is a folder" in capsys.readouterr().err
    out = tmp_path / "r.json"
    out.write_text("{}")
    with pytest.raises(SystemExit) as stop:  # an existing file is not replaced unasked
        course_setups.main(["--output", str(out)])
    assert stop.value.code == 2


def test_the_command_resumes_from_its_own_file(tmp_path, monkeypatch):
    monkeypatch.setattr(course_setups, "run_setup",
                        lambda setup, seed, epochs=None: fake_run(setup, seed))
    out = tmp_path / "r.json"
    assert course_setups.main(["--setups", "no_mpp", "--seeds", "0", "--output", str(out)]) == 0
    assert course_setups.main(["--setups", "mpp_25", "--seeds", "0", "--output", str(out),
                               "--resume"]) == 0
    rows = json.loads(out.read_text())["setups"]
    assert set(rows) == {"no_mpp", "mpp_25"}
    assert json.loads(out.read_text())["command"] == "python -m vit_tutorial.course_setups"


def test_the_shipped_results_hold_every_row_with_its_seeds():
    results = json.loads(course_setups.RESULTS.read_text(encoding="utf-8"))
    rows = results["setups"]
    assert list(rows) == [name for name in SETUPS if name in rows] and "course" in rows
    for name, row in rows.items():
        assert row["label"] == SETUPS[name].label
        assert row["seeds"] == [s["seed"] for s in row["per_seed"]] and row["seeds"]
        for key in course_setups.SCALARS:
            values = [s[key] for s in row["per_seed"]]
            assert row[key]["min"] == min(values) and row[key]["max"] == max(values)
    no_mpp = torch.tensor([s["first_layer_min_ratio"] for s in rows["no_mpp"]["per_seed"]])
    assert no_mpp.numel() >= 1
