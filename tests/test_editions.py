"""The two committed editions (``vit_tutorial.editions``): notebooks/ is made from solutions/."""

import copy
import json
from pathlib import Path

import pytest

from vit_tutorial import course, editions, lessons

ROOT = Path(__file__).resolve().parents[1]


def test_the_exercises_edition_is_up_to_date_with_the_solutions():
    assert editions.problems(ROOT) == []


def _lesson(name: str) -> tuple[lessons.Lesson, dict, dict]:
    lesson = next(x for x in lessons.LESSONS if x.name == name)
    read = lambda folder: json.loads((ROOT / folder / f"{name}.ipynb").read_text())  # noqa: E731
    return lesson, read("solutions"), read("notebooks")


def test_the_exercises_edition_has_no_solution_and_says_not_implemented():
    lesson, teacher, student = _lesson("01_patches")
    text = json.dumps(student, ensure_ascii=False)
    assert "BEGIN SOLUTION" not in text and "raise NotImplementedError" in text
    assert "not implemented yet" in text
    assert course.badge_markdown(lesson.name, "notebooks") in text


@pytest.mark.parametrize("change", ["source", "output"])
def test_a_stale_exercises_edition_is_caught(tmp_path, change):
    for folder in ("solutions", "notebooks"):
        (tmp_path / folder).mkdir()
    (tmp_path / "README.md").write_text((ROOT / "README.md").read_text())
    lesson, teacher, student = _lesson("03_class_token")
    student = copy.deepcopy(student)
    first_code = next(i for i, c in enumerate(student["cells"])
                      if c["cell_type"] == "code" and "vit_tutorial" not in c["metadata"]
                      and c["outputs"])
    if change == "source":
        student["cells"][first_code]["source"] = "print('edited by hand')"
    else:
        student["cells"][first_code]["outputs"] = []
    for folder, nb in (("solutions", teacher), ("notebooks", student)):
        (tmp_path / folder / f"{lesson.name}.ipynb").write_text(json.dumps(nb))
    found = editions.problems(tmp_path, [lesson])
    assert found and lesson.name in found[0]


def test_command_line_checks_and_rejects_unknown_lessons(capsys):
    assert editions.main(["01_patches"]) == 0
    with pytest.raises(SystemExit) as stop:
        editions.main(["99_nothing"])
    assert stop.value.code == 2 and "unknown lesson '99_nothing'" in capsys.readouterr().err


def test_a_just_executed_notebook_with_list_sources_makes_the_same_edition():
    """execute() hands back cell sources as lists of lines; the edition must not care."""
    lesson, teacher, student = _lesson("07_encoder")
    as_lists = copy.deepcopy(teacher)
    for cell in as_lists["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        cell["source"] = source.splitlines(keepends=True)
    joined = editions.exercises_edition(teacher, lesson, ROOT)
    listed = editions.exercises_edition(as_lists, lesson, ROOT)
    assert [c["source"] for c in joined["cells"]] == [c["source"] for c in listed["cells"]]
