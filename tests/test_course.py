"""The course's wiring: one GitHub address, generated links, and the README's two commands."""

import json
import re
import sys
from pathlib import Path

import pytest

from vit_tutorial import course, lesson_time, lessons

ROOT = Path(__file__).resolve().parents[1]


def test_generated_parts_agree_with_repository():
    """README table, badge lines, lesson cards, setup and pipeline cells are what course.py
    generates."""
    assert course.out_of_date(ROOT) == []


@pytest.mark.parametrize("edition", list(lessons.EDITIONS))
@pytest.mark.parametrize("lesson", lessons.LESSONS, ids=lambda lesson: lesson.name)
def test_notebook_layout(lesson, edition):
    nb = json.loads((ROOT / edition / f"{lesson.name}.ipynb").read_text(encoding="utf-8"))
    cells = nb["cells"]
    source = lambda cell: "".join(cell["source"])  # noqa: E731
    kinds = [c["metadata"].get("vit_tutorial") for c in cells[:5]]
    assert kinds == ["badge", None, "card", "setup", "pipeline"]
    assert source(cells[0]) == course.badge_markdown(lesson.name, edition)
    assert source(cells[1]).startswith(f"# {lesson.number:02d} · {lesson.title}")
    assert "Learning goals" in source(cells[1])
    code = [c for c in cells if c["cell_type"] == "code"]
    assert source(code[0]) == course.setup_cell_source()
    counts = [c["execution_count"] for c in code]  # stored executed, top to bottom in one go
    assert counts == list(range(1, len(code) + 1)), f"{lesson.name}: restart and run all"
    assert any("image/png" in out.get("data", {}) for out in code[1]["outputs"])  # the picture
    for cell in code:
        for out in cell["outputs"]:
            assert out["output_type"] != "error", f"{lesson.name}: a stored error"
            if out["output_type"] == "stream":
                assert out["name"] == "stdout", f"{lesson.name}: output on stderr"


def test_every_main_line_fits_45_minutes_and_the_cards_and_readme_say_so():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, minutes in course.lesson_minutes(ROOT).items():
        assert minutes.main <= 45, f"{name}: {minutes}"  # Going deeper takes the rest
        card = "".join(json.loads((ROOT / lessons.SOURCE / f"{name}.ipynb").read_text())
                       ["cells"][2]["source"])
        assert f"**About {minutes.total} minutes**" in card
        assert (f"({minutes.main} reading and running, {minutes.exercises} exercises"
                in card)
        assert f"| {minutes.total}" in readme


def test_minutes_are_measured_from_the_notebook():
    figure = {"output_type": "display_data", "data": {"image/png": "", "text/plain": ""}}
    nb = {"cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "word " * 420},  # 3 min at 140 wpm
        {"cell_type": "code", "metadata": {}, "source": "x = 1\n\ny = 2",  # 45 + 2 x 3 s
         "outputs": [figure]},  # + 60 s
        {"cell_type": "markdown", "metadata": {}, "source": "## Exercises"},  # 2 words
        {"cell_type": "code", "metadata": {}, "source": "check_a_answers({})\ncheck_b(f)",
         "outputs": []},  # 45 s to run, 6 + 15 minutes to answer
        {"cell_type": "markdown", "metadata": {}, "source": "## Going deeper (optional)\n" +
         "word " * 136},  # 140 words: 1 minute
        {"cell_type": "markdown", "metadata": {"vit_tutorial": "card"}, "source": "x " * 900},
    ]}
    minutes = lesson_time.measure(nb)
    # main: 180 + 111 s = 4.85 min; exercises: 1/70 + 0.75 + 21 = 21.8 min
    assert (minutes.main, minutes.exercises, minutes.optional) == (5, 22, 1)
    assert minutes.total == 30  # (5 + 22) rounded up to 5; the generated card doesn't count


def test_colab_links():
    url = course.colab_url("01_patches")
    assert url == (f"https://colab.research.google.com/github/{course.REPOSITORY}/blob/"
                   f"{course.BRANCH}/notebooks/01_patches.ipynb")
    assert course.colab_url("01_patches", "solutions").endswith("/solutions/01_patches.ipynb")
    assert "solutions/01_patches.ipynb" in course.badge_markdown("01_patches")
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", course.REPOSITORY)
    setup = course.setup_cell_source()
    assert 'if "google.colab" in sys.modules:' in setup
    assert f"git+https://github.com/{course.REPOSITORY}@{course.BRANCH}" in setup
    with pytest.raises(ValueError, match="edition must be one of 'notebooks', 'solutions'"):
        course.colab_url("01_patches", "answers")


def test_setup_cell_does_nothing_outside_colab():
    """Run the setup cell's Python (its %pip line is IPython syntax) without google.colab."""
    assert "google.colab" not in sys.modules
    python = course.setup_cell_source().replace("%pip install", "raise AssertionError #")
    exec(compile(python, "setup-cell", "exec"), {})


def _commands(text):
    return re.findall(r"^python3 -m venv .*$", text, flags=re.MULTILINE)


def test_readme_has_exactly_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = _commands(readme)
    assert len(commands) == 2
    lab, test = commands
    assert lab.endswith("jupyter lab notebooks/")  # the exercises edition opens first
    assert "pip install -r requirements.txt &&" in lab  # the learner's install
    assert test.endswith("python -m pytest")
    assert "pip install -r requirements-dev.txt &&" in test  # everything, for the tests
    assert test in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def _requirements(text):
    reqs = {}
    for line in text.splitlines():
        line = line.split("#")[0].strip()
        match = re.match(r"([A-Za-z0-9_.-]+)\s*(\[[^]]*\])?\s*(.*)", line)
        if line and not line.startswith("-") and match:
            reqs[match.group(1).lower()] = match.group(3).replace(" ", "")
    return reqs


def test_requirements_and_pyproject_share_bounds():
    """The package's dependencies carry the same Colab-friendly bounds as requirements.txt."""
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    deps = re.search(r"^dependencies = \[(.*?)\]", pyproject, flags=re.S | re.M).group(1)
    package = _requirements("\n".join(re.findall(r'"([^"]+)"', deps)))
    course_reqs = _requirements((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    assert package, "no dependencies found in pyproject.toml"
    for name, bound in package.items():
        assert course_reqs.get(name) == bound, (
            f"{name}: pyproject {bound}, requirements {course_reqs.get(name)}")
    assert "-e ." in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()


# Tools a learner doesn't need: tests, linter, teacher's and website's tools.
DEV_ONLY = {"pytest", "nbval", "ruff", "playwright", "nbgrader", "sphinx", "myst-nb",
            "sphinx-book-theme", "sphinx-design", "sphinx-copybutton", "django-static-mathjax"}


def test_the_learner_install_has_no_teacher_or_developer_tools():
    """requirements.txt runs the lessons in JupyterLab; requirements-dev.txt adds the rest
    (nbgrader's server extension would show teacher menus in every learner's JupyterLab)."""
    learner = _requirements((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    assert {"torch", "torchvision", "matplotlib", "ipywidgets", "jupyterlab", "scikit-learn",
            "tqdm", "timm"} <= set(learner)  # timm: lessons 06, 08 and 10 import it
    assert not DEV_ONLY & set(learner), DEV_ONLY & set(learner)
    text = (ROOT / "requirements-dev.txt").read_text(encoding="utf-8")
    assert "-r requirements.txt" in text.splitlines()
    dev = _requirements(text)
    assert set(dev) == DEV_ONLY
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extras = re.search(r"^\[project.optional-dependencies\]\n(.*?)\n\n", pyproject,
                       flags=re.S | re.M).group(1)
    extra = _requirements("\n".join(re.findall(r'"([^"]+)"', extras)))
    assert extra == dev, "pyproject.toml's extras and requirements-dev.txt differ"


@pytest.mark.parametrize("lesson", lessons.LESSONS, ids=lambda lesson: lesson.name)
def test_the_card_says_what_the_exercises_are_worth(lesson):
    from vit_tutorial.exercises import CHECKERS

    points = CHECKERS[lesson.name][1]
    for edition in lessons.EDITIONS:
        nb = json.loads((ROOT / edition / f"{lesson.name}.ipynb").read_text(encoding="utf-8"))
        card = "".join(nb["cells"][2]["source"])
        assert card.endswith(f"**Exercises:** {len(points)}, worth {sum(points.values())} "
                             f"points in a graded class.")


def test_colab_versions_meet_the_lower_bounds():
    """Colab ships torch 2.11, torchvision 0.26, matplotlib 3.10, ipywidgets 7.7.1 (COURSE.md):
    every lower bound must be at or below those, so the setup cell never upgrades them."""
    colab = {"torch": (2, 11), "torchvision": (0, 26), "matplotlib": (3, 10), "ipywidgets": (7, 7)}
    reqs = _requirements((ROOT / "requirements.txt").read_text(encoding="utf-8"))
    for name, version in colab.items():
        if name not in reqs:
            continue
        lower = re.search(r">=([\d.]+)", reqs[name])
        assert lower, f"{name} needs a lower bound"
        assert tuple(int(v) for v in lower.group(1).split(".")[:2]) <= version
        upper = re.search(r"<([\d.]+)", reqs[name])
        if upper:
            assert tuple(int(v) for v in upper.group(1).split(".")[:2]) > version


def test_course_command_reports_stale_files(tmp_path, capsys):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "notebooks").mkdir()
    parts = "".join(f"<!-- {name}:start -->\nold\n<!-- {name}:end -->\n"
                    for name in ("lessons", "goals", "points", "api"))
    (tmp_path / "README.md").write_text(f"# x\n{parts}")
    assert course.main(["--root", str(tmp_path)]) == 1
    assert "out of date: README.md" in capsys.readouterr().err


def test_course_command_from_another_folder_finds_the_repository(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert course.find_root() == ROOT
    with pytest.raises(SystemExit) as stop:
        course.main(["--root", str(tmp_path)])  # not a course: a clear error, exit 2
    assert stop.value.code == 2


def test_the_readme_states_the_time_rule_lesson_time_uses():
    from vit_tutorial import lesson_time as rule

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    for said in (f"prose at {rule.WORDS_PER_MINUTE} words a minute",
                 f"{rule.SECONDS_PER_CODE_CELL} s to run a code cell",
                 f"plus {rule.SECONDS_PER_CODE_LINE} s per line",
                 f"{rule.SECONDS_PER_FIGURE} s per figure",
                 f'{rule.MINUTES_PER_EXERCISE["answers"]} minutes per "check your understanding"',
                 f'{rule.MINUTES_PER_EXERCISE["implement"]} per "implement it"', "Carver"):
        assert said in readme, said
    assert "Carver" in rule.__doc__
