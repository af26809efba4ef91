"""An nbgrader course made from the lessons (``classroom nbgrader``), and nbgrader itself on it.

Every real lesson becomes an assignment source whose exercises are nbgrader answer cells,
each followed by a locked test cell worth the points declared in
``vit_tutorial.exercises.CHECKERS``; nbgrader's own validator and ``ClearSolutions`` (which
enforces the cell metadata) accept it. The slow test runs nbgrader's command line on two
lessons end to end: release, three students' submissions, autograde, feedback, export.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from vit_tutorial import classroom, course, lessons
from vit_tutorial.classroom import nbgrader_course
from vit_tutorial.exercises import CHECKERS

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS = ROOT / lessons.SOURCE


def _nbgrader(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


@pytest.fixture(scope="module")
def sources():
    """Each lesson of the solutions edition and its nbgrader source."""
    made = {}
    for lesson in lessons.LESSONS:
        teacher = nbformat.read(SOLUTIONS / f"{lesson.name}.ipynb", as_version=4)
        made[lesson.name] = (teacher, classroom.nbgrader_source(teacher, lesson.name))
    return made


@pytest.mark.parametrize("lesson", [x.name for x in lessons.LESSONS])
def test_every_exercise_is_an_answer_cell_then_a_locked_test_cell_with_its_points(
        sources, lesson):
    teacher, nb = sources[lesson]
    points = lessons.lesson_named(lesson).points
    graded = [c for c in nb.cells if _nbgrader(c)]
    assert len(graded) == 2 * len(points)
    assert len(nb.cells) == len(teacher.cells) + len(points)  # one test cell per exercise
    for (answer, test), (checker, value) in zip(zip(graded[::2], graded[1::2]), points.items()):
        exercise = checker.removeprefix("check_")
        assert _nbgrader(answer) == {"grade": False, "grade_id": f"{lesson}-{exercise}",
                                     "locked": False, "schema_version": 3, "solution": True}
        assert "### BEGIN SOLUTION" in answer.source and checker not in answer.source
        assert answer.outputs == [] and answer.execution_count is None
        assert nb.cells.index(test) == nb.cells.index(answer) + 1
        assert _nbgrader(test) == {"grade": True, "grade_id": f"{lesson}-{exercise}-test",
                                   "locked": True, "points": value, "schema_version": 3,
                                   "solution": False}
        module = CHECKERS[lesson][0]
        assert f"from vit_tutorial.exercises.{module} import {checker}\n" in test.source
        assert re.search(rf"^assert {checker}\((my_)?{exercise}\), \($", test.source, re.M)
        assert f"graded, {value} point" in test.source


@pytest.mark.parametrize("lesson", [x.name for x in lessons.LESSONS])
def test_the_rest_of_the_lesson_is_kept_and_the_banner_links_nowhere(sources, lesson):
    teacher, nb = sources[lesson]
    assert nb.cells[0].source == course.classroom_banner(lesson)
    assert "solutions/" not in json.dumps(nb) and "Solutions edition" not in json.dumps(nb)
    kept = [c for c in nb.cells[1:] if not _nbgrader(c)]
    originals = [c for c in teacher.cells[1:] if not classroom.solution_regions(c)]
    assert kept == originals  # sources, outputs (figures too) and ids unchanged
    for cell in nb.cells:  # nbgrader enforces this: markers only in answer cells
        assert ("BEGIN SOLUTION" in cell.source) == bool(_nbgrader(cell).get("solution"))


def test_nbgrader_accepts_the_sources_with_its_metadata_enforced(sources):
    from nbgrader.nbgraderformat import MetadataValidator
    from nbgrader.preprocessors import ClearSolutions

    for lesson, (_, nb) in sources.items():
        MetadataValidator().validate_nb(nb)
        released, _ = ClearSolutions().preprocess(nbformat.reads(nbformat.writes(nb), 4), {})
        # (enforce_metadata=True, nbgrader's default)
        assert "BEGIN SOLUTION" not in nbformat.writes(released), lesson


def test_the_readme_states_the_points_as_declared():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("<!-- points:start -->\n")[1].split("\n<!-- points:end -->")[0]
    assert table == course.points_table(), (
        "the README's table of points is out of date: run `python -m vit_tutorial.course "
        "--write`")
    total = sum(sum(x.points.values()) for x in lessons.LESSONS)
    assert table.endswith(f"| all | | {total} |")


def _tiny(*cells) -> nbformat.NotebookNode:
    return new_notebook(cells=[new_markdown_cell("# 99 · Tiny"), *cells])


def test_a_solution_and_its_checker_in_separate_cells():
    nb = classroom.nbgrader_source(_tiny(
        new_code_cell("def num_patches_answers():\n    ### BEGIN SOLUTION\n    return {}\n"
                      "    ### END SOLUTION"),
        new_code_cell("x = 1\ncheck_num_patches_answers(num_patches_answers)  # check it")),
        "99_tiny")
    kinds = [(c.source.split("\n")[0], _nbgrader(c).get("grade_id")) for c in nb.cells]
    assert kinds == [("# 99 · Tiny", None),
                     ("def num_patches_answers():", "99_tiny-num_patches_answers"),
                     ("x = 1", None),
                     ("# Run this cell after yours: the checker tests your "
                      "`num_patches_answers` (graded, 1 point; this cell is locked).",
                      "99_tiny-num_patches_answers-test")]


@pytest.mark.parametrize("cells, message", [
    ([new_markdown_cell("<!-- ### BEGIN SOLUTION -->\nBecause.\n<!-- ### END SOLUTION -->")],
     "cell 1: a solution in a Markdown cell"),
    ([new_code_cell("def f():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n"
                    "check_mine(f)")],
     "check_mine is not a checker of the lesson registry"),
    ([new_code_cell("check_image_to_patches(f)"), new_code_cell("check_image_to_patches(g)")],
     "two exercises share the grade id '99_tiny-image_to_patches-test'"),
    ([new_code_cell("def f():\n    ### BEGIN SOLUTION\n    pass")],
     "cell 1: '### BEGIN SOLUTION' without a '### END SOLUTION'"),
])
def test_what_cannot_become_an_assignment_is_said(cells, message):
    with pytest.raises(classroom.ClassroomError, match=re.escape(message)):
        classroom.nbgrader_source(_tiny(*cells), "99_tiny")


@pytest.mark.parametrize("wanted, chosen", [
    ([], [x.name for x in lessons.LESSONS]),
    (["3", "01"], ["01_patches", "03_class_token"]),
    (["03_class_token.ipynb", "3"], ["03_class_token"]),
])
def test_lessons_by_name_or_number_in_course_order(wanted, chosen):
    notebooks = sorted(SOLUTIONS.glob("*.ipynb"))
    assert [p.stem for p in nbgrader_course.select_lessons(notebooks, wanted)] == chosen


def test_the_course_folder_and_what_it_refuses(tmp_path, capsys):
    dest = tmp_path / "class"
    assert classroom.main(["nbgrader", str(dest), "3"]) == 0
    out = capsys.readouterr().out
    assert "03_class_token: 2 graded exercise(s), 3 point(s)" in out
    assert "next, in that folder: nbgrader generate_assignment 03_class_token" in out
    written = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert written == ["nbgrader_config.py", "source/03_class_token/03_class_token.ipynb"]
    before = {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()}

    assert classroom.main(["nbgrader", str(dest), "3", "1"]) == 1  # exists: not replaced
    assert f"1 file(s) exist already ({dest / 'source' / '03_class_token'}" in \
        capsys.readouterr().err
    assert {p: p.read_bytes() for p in dest.rglob("*") if p.is_file()} == before
    assert not (dest / "source" / "01_patches").exists()

    (dest / "nbgrader_config.py").write_text("c = get_config()  # the teacher's own\n")
    assert classroom.main(["nbgrader", str(dest), "1"]) == 0  # a lesson added to the course
    assert f"note: kept the existing {dest / 'nbgrader_config.py'}" in capsys.readouterr().out
    assert (dest / "nbgrader_config.py").read_text() == "c = get_config()  # the teacher's own\n"
    assert (dest / "source" / "01_patches" / "01_patches.ipynb").exists()
    assert classroom.main(["nbgrader", str(dest), "3", "--force"]) == 0
    assert (dest / "nbgrader_config.py").read_text() == nbgrader_course.config_text()

    assert classroom.main(["nbgrader", str(tmp_path / "x"), "99"]) == 1
    assert "no lesson '99' (give its name or number); the lessons are 01_patches" in \
        capsys.readouterr().err
    with pytest.raises(SystemExit):  # argparse: the lessons come after DIR
        classroom.main(["nbgrader"])


def test_the_config_keeps_figures_sets_a_cell_timeout_and_an_exchange():
    from nbgrader.converters import GenerateAssignment
    from nbgrader.preprocessors import ClearOutput
    from traitlets.config import Config

    from vit_tutorial.classroom.release import ClearExerciseOutputs, release_preprocessors

    config = Config()
    namespace = {"get_config": lambda: config}
    exec(compile(nbgrader_course.config_text("/srv/ex"), "nbgrader_config.py", "exec"),
         namespace)
    assert config.Execute.timeout == nbgrader_course.CELL_TIMEOUT > 30  # nbgrader's default
    assert config.Exchange.root == "/srv/ex"
    assert config.CourseDirectory.course_id == nbgrader_course.COURSE_ID
    default = GenerateAssignment().preprocessors
    assert config.GenerateAssignment.preprocessors == release_preprocessors() == [
        ClearExerciseOutputs if p is ClearOutput else p for p in default]
    assert "# c.Exchange.root" in nbgrader_course.config_text()  # nbgrader's default stays


def test_a_release_clears_the_exercises_outputs_only(sources):
    from vit_tutorial.classroom.release import ClearExerciseOutputs

    _, nb = sources["03_class_token"]
    nb = nbformat.reads(nbformat.writes(nb), 4)
    for cell in nb.cells:
        if _nbgrader(cell) and cell.cell_type == "code":  # as if the teacher ran the source
            cell.outputs = [nbformat.v4.new_output("stream", text="✓ a teacher's run\n")]
    kept = [c.get("outputs") for c in nb.cells if not _nbgrader(c)]
    released, _ = ClearExerciseOutputs().preprocess(nb, {})
    assert [c.get("outputs") for c in released.cells if not _nbgrader(c)] == kept
    assert sum("image/png" in json.dumps(outputs) for outputs in kept) >= 2  # the figures
    assert all(c.outputs == [] for c in released.cells if _nbgrader(c))


# --- nbgrader's own commands, end to end ----------------------------------------------------

LESSONS = ("02_patch_embeddings", "03_class_token")  # two of the shortest to run
GRADED = "03_class_token"  # each submission runs the lesson (~10 s): three of this one
WRONG = ("return torch.cat([tokens, cls_token.expand(B, -1, -1)], dim=1)",  # appended
         "the class token was appended; it is prepended")  # what the checker says


def _run(*command: str, cwd: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}"}  # nbgrader calls jupyter
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, f"{' '.join(command)}:\n{done.stdout}\n{done.stderr}"


def _submit(dest: Path, student: str, answers: dict[str, str]) -> None:
    """A student's copy of the release, with ``answers`` (grade id -> source) filled in."""
    nb = nbformat.read(dest / "release" / GRADED / f"{GRADED}.ipynb", as_version=4)
    for cell in nb.cells:
        if _nbgrader(cell).get("grade_id") in answers:
            cell.source = answers[_nbgrader(cell)["grade_id"]]
    folder = dest / "submitted" / student / GRADED
    folder.mkdir(parents=True)
    nbformat.write(nb, folder / f"{GRADED}.ipynb")


@pytest.mark.slow
def test_nbgrader_releases_autogrades_and_exports_the_scores(tmp_path):
    """The teacher's commands of the README, in a course of two lessons: the solutions score
    full marks, the untouched release 0, one exercise right of two its points."""
    dest = tmp_path / "class"
    assert classroom.main(["nbgrader", str(dest), *LESSONS]) == 0
    for lesson in LESSONS:
        _run("nbgrader", "generate_assignment", lesson, cwd=dest)
        release = (dest / "release" / lesson / f"{lesson}.ipynb").read_text()
        assert "image/png" in release and "BEGIN SOLUTION" not in release  # figures kept

    source = nbformat.read(dest / "source" / GRADED / f"{GRADED}.ipynb", as_version=4)
    solutions = {_nbgrader(c)["grade_id"]: c.source for c in source.cells
                 if _nbgrader(c).get("solution")}  # the teacher's answers, by grade id
    half = dict(solutions)
    key = f"{GRADED}-prepend_class_token"
    body = re.search(r"### BEGIN SOLUTION\n(.*)\n\s*### END SOLUTION", half[key], re.S)
    half[key] = half[key].replace(body.group(1), f"    B = tokens.shape[0]\n    {WRONG[0]}")
    _submit(dest, "ada", solutions)  # the teacher's own solutions
    _submit(dest, "ben", {})  # the release, untouched
    _submit(dest, "cy", half)  # the answers right, the function wrong

    _run("nbgrader", "autograde", GRADED, cwd=dest)
    _run("nbgrader", "generate_feedback", GRADED, cwd=dest)
    _run("nbgrader", "export", cwd=dest)
    with open(dest / "grades.csv", newline="") as file:
        scores = {(row["student_id"], row["assignment"]): (float(row["score"]),
                                                           float(row["max_score"]))
                  for row in csv.DictReader(file)}
    full = {lesson: float(sum(lessons.lesson_named(lesson).points.values())) for lesson in LESSONS}
    other = LESSONS[0]  # released, not submitted: 0 for everyone
    assert scores == {("ada", GRADED): (full[GRADED], full[GRADED]),
                      ("ben", GRADED): (0.0, full[GRADED]),
                      ("cy", GRADED): (1.0, full[GRADED]),  # the answers' 1 point
                      **{(student, other): (0.0, full[other]) for student in ("ada", "ben", "cy")}}

    feedback = (dest / "feedback" / "cy" / GRADED / f"{GRADED}.html").read_text()
    assert f"Score: 1.0 / {full[GRADED]}" in feedback
    assert WRONG[1] in feedback  # the checker's words
    untouched = (dest / "feedback" / "ben" / GRADED / f"{GRADED}.html").read_text()
    assert "not implemented yet" in untouched
    shutil.copy(dest / "grades.csv", tmp_path / "grades.csv")
    shutil.rmtree(dest / "autograded")  # megabytes of executed notebooks: not kept in tmp
