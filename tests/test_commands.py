
"""Every command that writes checks its outputs before the long work, and Ctrl-C ends any
command with one line and exit status 130 (``vit_tutorial.files``, used by each).

The long work (training, building, drawing, timing) is replaced by a stand-in that fails
the test if it runs when it shouldn't, so these take seconds; one slow test sends a real
SIGINT to a real training run.
"""

import errno
import importlib
import json
import signal
import subprocess
import sys
import tempfile

import pytest

from vit_tutorial import (
    benchmark,
    course,
    course_model,
    diagram,
    editions,
    experiments,
)
from vit_tutorial import train as train_module
from vit_tutorial.model import TINY_VIT_CONFIG, TinyViT


def _trained(*args, **kwargs):
    return TinyViT(TINY_VIT_CONFIG).eval(), {"train_accuracy": 0.1, "test_accuracy": 0.1,
                                             "train_seconds": 0.0, "history": []}


def _results(seeds):
    return {"seeds": list(seeds)}


def _stand_in(monkeypatch, name, work):
    """Replace command ``name``'s long work with ``work``; return its ``main``."""
    if name == "train":
        monkeypatch.setattr(train_module, "train", work)
        return train_module.main
    if name == "experiments":
        monkeypatch.setitem(experiments.EXPERIMENTS, "ablation", work)
        monkeypatch.setitem(experiments.EXPERIMENTS, "rope", work)
        return experiments.main
    if name == "benchmark":
        monkeypatch.setitem(benchmark.CASES, "resize", work)  # building its cases takes long
        return benchmark.main
    site_build = importlib.import_module("vit_tutorial.site.build")  # the module, not build()
    module, attribute = {"course_model": (course_model, "run"), "site": (site_build, "build"),
                         "editions": (editions, "write"), "diagram": (diagram, "write"),
                         "course": (course, "out_of_date")}[name]
    monkeypatch.setattr(module, attribute, work)
    return module.main


def _not_run(*args, **kwargs):
    pytest.fail("the long work started anyway")


def _interrupt(*args, **kwargs):
    raise KeyboardInterrupt


def _argv(name, out):
    """Arguments that make command ``name`` write under the folder ``out``."""
    return {"train": ["--output", f"{out}/x.pt", "--history", f"{out}/h.json"],
            "experiments": ["ablation", "--output", f"{out}/x.json"],
            "course_model": ["--output", f"{out}/x.json"],
            "site": ["--output", f"{out}/site"],
            "editions": ["--write", "01_patches"], "diagram": ["--write"],
            "benchmark": ["--only", "resize"],
            "course": []}[name]


@pytest.mark.parametrize("name", ["train", "experiments", "course_model", "site", "editions",
                                  "diagram", "benchmark", "course"])
def test_ctrl_c_ends_with_one_line_and_status_130(name, tmp_path, monkeypatch, capsys):
    main = _stand_in(monkeypatch, name, _interrupt)
    assert main(_argv(name, tmp_path)) == 130
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "interrupted; nothing written"
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_ctrl_c_after_a_first_result_says_it_was_written(tmp_path, monkeypatch, capsys):
    calls = []

    def first_then_interrupt(seeds):
        calls.append(seeds)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return {"seeds": list(seeds)}

    main = _stand_in(monkeypatch, "experiments", first_then_interrupt)
    assert main(["ablation", "rope", "--output", f"{tmp_path}/"]) == 130
    err = capsys.readouterr().err.splitlines()[-1]
    assert err == f"interrupted; written before it: {tmp_path / 'ablation.json'}; nothing else"
    assert [p.name for p in tmp_path.iterdir()] == ["ablation.json"]


@pytest.mark.parametrize("name", ["train", "experiments", "course_model", "site"])
def test_an_output_that_cannot_be_made_is_refused_before_the_work(name, tmp_path, monkeypatch,
                                                                  capsys):
    """Found by making a test file, not by permission bits: Colab runs as root."""
    main = _stand_in(monkeypatch, name, _not_run)
    with pytest.raises(SystemExit) as stop:
        main(_argv(name, "/proc"))
    assert stop.value.code == 2
    assert "cannot write /proc/" in capsys.readouterr().err

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(SystemExit) as stop:
        main(_argv(name, tmp_path))
    assert stop.value.code == 2 and "Read-only file system" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["editions", "diagram"])
def test_in_place_writers_try_their_folders_first(name, monkeypatch, capsys):
    main = _stand_in(monkeypatch, name, _not_run)

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(SystemExit) as stop:
        main(_argv(name, ""))
    assert stop.value.code == 2 and "Read-only file system" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["train", "experiments", "course_model", "site"])
def test_a_folder_holding_the_lessons_is_refused(name, tmp_path, monkeypatch, capsys):
    lessons = tmp_path / "my_solutions"  # a teacher's copy of solutions/
    lessons.mkdir()
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
            "source": "def f():\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION"}
    (lessons / "01_patches.ipynb").write_text(json.dumps({"cells": [cell], "metadata": {},
                                                          "nbformat": 4, "nbformat_minor": 5}))
    main = _stand_in(monkeypatch, name, _not_run)
    with pytest.raises(SystemExit) as stop:
        main(_argv(name, lessons))
    assert stop.value.code == 2
    assert "holds the lessons' solutions edition" in capsys.readouterr().err
    assert [p.name for p in lessons.iterdir()] == ["01_patches.ipynb"]


def test_train_refuses_one_file_for_the_checkpoint_and_the_history(tmp_path, monkeypatch,
                                                                    capsys):
    main = _stand_in(monkeypatch, "train", _not_run)
    same = tmp_path / "same.pt"
    for force in ([], ["--force"]):
        with pytest.raises(SystemExit) as stop:
            main(["--output", str(same), "--history", str(same), *force])
        assert stop.value.code == 2
        assert "--output and --history name the same file" in capsys.readouterr().err
    assert not same.exists()


def test_site_refuses_a_folder_inside_what_it_reads(tmp_path, monkeypatch, capsys):
    main = _stand_in(monkeypatch, "site", _not_run)
    (tmp_path / "images").mkdir()
    with pytest.raises(SystemExit) as stop:
        main(["--root", str(tmp_path), "--output", str(tmp_path / "images" / "site")])
    assert stop.value.code == 2 and "which this command reads" in capsys.readouterr().err


def test_a_trailing_slash_writes_the_default_name_into_a_new_folder(tmp_path, monkeypatch,
                                                                     capsys):
    main = _stand_in(monkeypatch, "train", _trained)
    assert main(["--output", f"{tmp_path}/runs/", "--history", f"{tmp_path}/logs/"]) == 0
    assert (tmp_path / "runs" / "tiny_vit_digits.pt").is_file()
    assert (tmp_path / "logs" / "tiny_vit_digits_history.json").is_file()
    assert f"saved to {tmp_path / 'runs' / 'tiny_vit_digits.pt'}" in capsys.readouterr().out
    main = _stand_in(monkeypatch, "experiments", _results)
    assert main(["ablation", "rope", "--output", f"{tmp_path}/results/"]) == 0
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == ["ablation.json",
                                                                        "rope.json"]
    main = _stand_in(monkeypatch, "course_model", _results)
    assert main(["--output", f"{tmp_path}/course/"]) == 0
    assert (tmp_path / "course" / "course_model.json").is_file()


@pytest.mark.slow
def test_a_real_ctrl_c_during_training(tmp_path):
    """SIGINT to a real run: one line, status 130, no file, no traceback."""
    code = ("import signal, runpy; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "runpy.run_module('vit_tutorial.train', run_name='__main__')")
    run = subprocess.Popen([sys.executable, "-c", code, "--output", str(tmp_path / "x.pt")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started = ""
    while "training" not in started:  # the progress bar: the training has begun
        started += run.stderr.read(1) or pytest.fail(f"no training: {started}")
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=60)
    assert run.returncode == 130
    assert err.splitlines()[-1] == "interrupted; nothing written"
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []
