"""The course's wiring: one GitHub address, generated links, and the README's two commands."""

import json
import re
import sys
from pathlib import Path

import pytest

from vit_tutorial import course

ROOT = Path(__file__).resolve().parents[1]


def test_generated_parts_agree_with_repository():
    """README table, Colab badges and setup cells are what course.py generates."""
    assert course.out_of_date(ROOT) == []


def test_every_notebook_is_a_lesson_with_a_module_and_a_test_file():
    names = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert names == [lesson.name for lesson in course.LESSONS]


@pytest.mark.parametrize("lesson", [lesson.name for lesson in course.LESSONS])
def test_notebook_layout(lesson):
    nb = json.loads((ROOT / "notebooks" / f"{lesson}.ipynb").read_text(encoding="utf-8"))
    cells = nb["cells"]
    source = lambda cell: "".join(cell["source"])  # noqa: E731
    assert source(cells[0]) == course.badge_markdown(lesson)
    assert course.REPOSITORY in source(cells[0])
    code = [c for c in cells if c["cell_type"] == "code"]
    assert source(code[0]) == course.setup_cell_source()
    assert "Learning goals" in source(cells[1])
    # stored executed, top to bottom in one go
    counts = [c["execution_count"] for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{lesson}: restart and run all"
    for cell in code:
        for out in cell["outputs"]:
            assert out["output_type"] != "error", f"{lesson}: a stored error"
            if out["output_type"] == "stream":
                assert out["name"] == "stdout", f"{lesson}: output on stderr"


def test_colab_links():
    url = course.colab_url("01_patches")
    assert url == (f"https://colab.research.google.com/github/{course.REPOSITORY}/blob/"
                   f"{course.BRANCH}/notebooks/01_patches.ipynb")
    assert re.fullmatch(r"[\w.-]+/[\w.-]+", course.REPOSITORY)
    setup = course.setup_cell_source()
    assert 'if "google.colab" in sys.modules:' in setup
    assert f"git+https://github.com/{course.REPOSITORY}@{course.BRANCH}" in setup


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
    assert lab.endswith("jupyter lab notebooks/")
    assert test.endswith("python -m pytest")
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
        assert course_reqs.get(name) == bound, f"{name}: pyproject {bound}, requirements {course_reqs.get(name)}"
    assert "-e ." in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()


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
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "README.md").write_text("# x\n<!-- lessons:start -->\nold\n<!-- lessons:end -->\n")
    assert course.main(["--root", str(tmp_path)]) == 1
    assert "out of date: README.md" in capsys.readouterr().err
