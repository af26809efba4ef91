"""Student notebooks generated from the lessons: solutions out, stubs in, the rest intact.

A tiny lesson is built in a temporary folder — a solution cell with nbgrader's markers and
its checker call, an answers function, a Markdown answer, ordinary cells with outputs — and
its student version is checked cell by cell, then run end to end in a kernel. The real
lessons give the classroom banner, and the commands' refusals are tried on real folders.
"""

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from vit_tutorial import classroom, course
from vit_tutorial import lessons as registry

SOLUTION = """\
    single = images.ndim == 3
    batch = images.unsqueeze(0) if single else images
    B, C, H, W = batch.shape
    P = patch_size
    grid = batch.reshape(B, C, H // P, P, W // P, P).permute(0, 2, 4, 1, 3, 5)
    patches = grid.reshape(B, (H // P) * (W // P), C * P * P)
    return patches[0] if single else patches
"""
ANSWERS = """\
    return {"N_B16_224": 196, "tokens_B16_224": 197, "N_L32_384": 144, "tokens_L32_384": 145,
            "N_B16_224x320": 280, "values_per_patch_H14": 588}
"""
WRITTEN_ANSWER = "Because Conv2d.weight.reshape(D, -1) flattens each filter channel by channel."


def stream(text):
    return new_output("stream", name="stdout", text=text)


def lesson() -> nbformat.NotebookNode:
    """A small teacher's notebook in the lessons' conventions."""
    cells = [
        new_markdown_cell("# 01 · Patches, in miniature"),
        new_code_cell("import torch\n\nprint(torch.ones(2, 3).shape)", execution_count=1,
                      outputs=[stream("torch.Size([2, 3])\n")]),
        new_markdown_cell("## Exercise 1 · implement `image_to_patches`"),
        new_code_cell(  # tagged exercise cell: solution and checker call together
            "from vit_tutorial.exercises import check_image_to_patches\n\n\n"
            "def my_image_to_patches(images, patch_size):\n"
            "    ### BEGIN SOLUTION\n" + SOLUTION + "    ### END SOLUTION\n\n\n"
            "check_image_to_patches(my_image_to_patches)",
            metadata={"tags": ["exercise"]}, execution_count=2,
            outputs=[stream("✓ image_to_patches: correct on 4 cases\n"),
                     stream("debug: " + SOLUTION.splitlines()[4].strip() + "\n")]),
        new_markdown_cell(  # markers in HTML comments: invisible in the rendered lesson
            "**Why (C, P, P)?**\n\n<!-- ### BEGIN SOLUTION -->\n" + WRITTEN_ANSWER +
            "\n<!-- ### END SOLUTION -->"),
        new_code_cell(  # untagged, but it holds a solution: an exercise cell all the same
            "def num_patches_answers():\n    ### BEGIN SOLUTION\n" + ANSWERS +
            "    ### END SOLUTION", execution_count=3,
            outputs=[stream("answers ready\n")]),
        new_code_cell(  # untagged, but it calls a checker: an exercise cell all the same
            "from vit_tutorial.exercises import check_num_patches_answers\n\n"
            "check_num_patches_answers(num_patches_answers)", execution_count=4,
            outputs=[stream("✓ num_patches answers: all 6 answers are correct.\n")]),
        new_code_cell("print(1 + 1)\n6 * 7", execution_count=5,
                      outputs=[stream("2\n"), new_output("execute_result", execution_count=5,
                                                         data={"text/plain": "42"})]),
    ]
    return new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}})


@pytest.fixture
def lessons(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nbformat.write(lesson(), folder / "01_patches.ipynb")
    return folder


def everything(nb) -> str:
    """All text of a notebook, sources and outputs."""
    return json.dumps(nb, ensure_ascii=False)


def test_student_version_has_stubs_no_solutions_and_keeps_the_rest(lessons, tmp_path):
    teacher = nbformat.read(lessons / "01_patches.ipynb", as_version=4)
    written = classroom.write_student_notebooks(lessons, tmp_path / "student", log=None)
    assert written == [tmp_path / "student" / "01_patches.ipynb"]
    student = nbformat.read(written[0], as_version=4)
    assert len(student.cells) == len(teacher.cells)

    # solutions replaced by nbgrader's stubs, indented to stay inside the function
    assert "def my_image_to_patches(images, patch_size):\n    # YOUR CODE HERE\n" \
           "    raise NotImplementedError()\n" in student.cells[3].source
    assert "    raise NotImplementedError()" in student.cells[5].source
    assert "YOUR ANSWER HERE" in student.cells[4].source
    assert student.cells[4].source.startswith("**Why (C, P, P)?**")

    # no solution text anywhere, sources or outputs
    text = everything(student)
    for line in [*SOLUTION.splitlines(), *ANSWERS.splitlines(), WRITTEN_ANSWER]:
        assert line.strip() not in text
    assert "BEGIN SOLUTION" not in text and "END SOLUTION" not in text
    assert classroom.leftover_solutions(teacher, student) == []

    # the exercise cells' outputs are cleared, the checker calls are kept
    for index in (3, 5, 6):
        assert student.cells[index].outputs == []
        assert student.cells[index].execution_count is None
    assert student.cells[6].source == teacher.cells[6].source

    # everything else is intact
    for index in (0, 1, 2, 7):
        assert student.cells[index] == teacher.cells[index]
    assert student.metadata == teacher.metadata


def test_the_lessons_themselves_are_not_changed(lessons, tmp_path):
    before = (lessons / "01_patches.ipynb").read_bytes()
    classroom.write_student_notebooks(lessons, tmp_path / "student", log=None)
    assert (lessons / "01_patches.ipynb").read_bytes() == before


@pytest.mark.parametrize("dest", [".", "student"])
def test_refuses_to_write_into_the_lessons_folder(lessons, dest):
    with pytest.raises(classroom.ClassroomError, match="which this command reads"):
        classroom.write_student_notebooks(lessons, lessons / dest, log=None)
    assert sorted(p.name for p in lessons.iterdir()) == ["01_patches.ipynb"]


def test_refuses_to_overwrite_unless_forced(lessons, tmp_path):
    dest = tmp_path / "student"
    dest.mkdir()
    (dest / "01_patches.ipynb").write_text("my own work", encoding="utf-8")
    with pytest.raises(classroom.ClassroomError, match=r"exist already \(.*01_patches.ipynb\); "
                                                       r"pass --force to overwrite them"):
        classroom.write_student_notebooks(lessons, dest, log=None)
    assert (dest / "01_patches.ipynb").read_text(encoding="utf-8") == "my own work"
    classroom.write_student_notebooks(lessons, dest, force=True, log=None)
    assert "YOUR CODE HERE" in (dest / "01_patches.ipynb").read_text(encoding="utf-8")


def test_unpaired_markers_are_reported_with_their_cell(lessons, tmp_path):
    nb = lesson()
    nb.cells[5].source = nb.cells[5].source.replace("    ### END SOLUTION", "")
    nbformat.write(nb, lessons / "01_patches.ipynb")
    with pytest.raises(classroom.ClassroomError,
                       match=r"01_patches.ipynb, cell 5: .*without a '### END SOLUTION'"):
        classroom.write_student_notebooks(lessons, tmp_path / "student", log=None)
    assert not (tmp_path / "student").exists()


def test_refuses_to_write_when_solution_text_would_remain(lessons, tmp_path):
    nb = lesson()
    leak = SOLUTION.splitlines()[4].strip()
    nb.cells[7].outputs.append(stream(f"{leak}\n"))  # an ordinary cell that shows a solution
    nbformat.write(nb, lessons / "01_patches.ipynb")
    with pytest.raises(classroom.ClassroomError, match="solution text would remain"):
        classroom.write_student_notebooks(lessons, tmp_path / "student", log=None)


def test_top_level_solution_regions_are_warned_about(lessons, tmp_path):
    nb = lesson()
    nb.cells.append(new_code_cell("### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION"))
    nbformat.write(nb, lessons / "01_patches.ipynb")
    lines = []
    classroom.write_student_notebooks(lessons, tmp_path / "student", log=lines.append)
    assert any("cell 8: a solution region at the top level" in line for line in lines)


def test_command_line(lessons, tmp_path, capsys):
    dest = tmp_path / "build" / "student"
    assert classroom.main(["student", str(lessons), str(dest)]) == 0
    out = capsys.readouterr().out
    assert ("01_patches.ipynb: 3 solution(s) cleared, outputs of 3 exercise code cell(s) "
            "cleared") in out
    assert "wrote 1 student notebook(s)" in out
    assert classroom.main(["check", str(dest), "--source", str(lessons)]) == 0

    assert classroom.main(["student", str(lessons), str(dest)]) == 1  # exists already
    assert "pass --force" in capsys.readouterr().err
    assert classroom.main(["student", str(lessons), str(dest), "--force"]) == 0

    student = nbformat.read(dest / "01_patches.ipynb", as_version=4)
    student.cells[3].outputs = [stream("✓ image_to_patches: correct\n")]
    student.cells[1].source += "\n" + SOLUTION.splitlines()[4]
    nbformat.write(student, dest / "01_patches.ipynb")
    capsys.readouterr()
    assert classroom.main(["check", str(dest), "--source", str(lessons)]) == 1
    err = capsys.readouterr().err
    assert "cell 1 (source): solution line" in err
    assert "cell 3: an exercise cell still has stored outputs" in err


@pytest.mark.slow
def test_student_notebook_runs_end_to_end_and_says_not_implemented(lessons, tmp_path):
    from nbclient import NotebookClient

    path = classroom.write_student_notebooks(lessons, tmp_path / "student", log=None)[0]
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [[o for o in cell.get("outputs", [])] for cell in nb.cells]
    assert not any(o.output_type == "error" for cell in outputs for o in cell)
    image_to_patches = "".join(o.text for o in outputs[3])
    answers = "".join(o.text for o in outputs[6])
    assert image_to_patches.startswith("○ image_to_patches: not implemented yet — replace the "
                                       "`raise NotImplementedError` with your code")
    assert answers.startswith("○ num_patches answers: not implemented yet")
    assert '"N_B16_224": ...,' in answers  # the keys to fill in
    for index in (3, 6):  # the CheckResult shows no Out[…] of its own
        assert [o.output_type for o in outputs[index]] == ["stream"]
    assert "".join(o.text for o in outputs[7] if o.output_type == "stream") == "2\n"


# --- the real lessons ---------------------------------------------------------------------

LESSONS = Path(__file__).resolve().parents[1] / "solutions"  # the solutions edition: the source


def test_every_lesson_has_at_least_two_checked_exercises():
    from vit_tutorial.exercises import CHECKERS

    for path in sorted(LESSONS.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        exercise_cells = [c for c in nb.cells if classroom.is_exercise_cell(c)
                          and "### BEGIN SOLUTION" in "".join(c.source)]
        assert len(exercise_cells) >= 2, f"{path.name}: {len(exercise_cells)} exercises"
        names = CHECKERS[path.stem][1]
        called = {name for name in names if any(f"{name}(" in c.source for c in nb.cells)}
        assert called == set(names), f"{path.name}: checkers not used: {set(names) - called}"
        for cell in exercise_cells:  # the solutions edition runs every checker successfully
            text = "".join(o.get("text", "") for o in cell.outputs)
            assert text.startswith("✓"), f"{path.name}: {text[:80]!r}"


def test_a_killed_write_leaves_the_old_student_notebook(lessons, tmp_path, monkeypatch):
    """--force rewrites a student notebook whole or not at all (never half-written)."""
    import os

    dest = tmp_path / "student"
    path = classroom.write_student_notebooks(lessons, dest, log=None)[0]
    before = path.read_bytes()

    def killed(src, dst):
        raise KeyboardInterrupt  # the process stops between writing and renaming

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        classroom.write_student_notebooks(lessons, dest, force=True, log=None)
    assert path.read_bytes() == before
    assert sorted(p.name for p in dest.iterdir()) == [path.name]  # no temp file left


# --- what a class receives: the banner, and no way to the solutions -------------------------

ROOT = LESSONS.parent
SMALL_LESSON = "03_class_token"  # a real lesson: a badge line, two exercises


def _copy_lessons(folder: Path, edition: str, names=(SMALL_LESSON,)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(ROOT / edition / f"{name}.ipynb", folder / f"{name}.ipynb")
    return folder


@pytest.mark.parametrize("edition", ["solutions", "notebooks"])
def test_student_notebooks_carry_the_classroom_banner_and_no_link_to_the_solutions(
        tmp_path, edition):
    source = _copy_lessons(tmp_path / edition, edition)
    path = classroom.write_student_notebooks(source, tmp_path / "class", log=None)[0]
    student = nbformat.read(path, as_version=4)
    assert student.cells[0].source == course.classroom_banner(SMALL_LESSON)
    text = everything(student)
    assert "solutions/" not in text and "Solutions edition" not in text
    assert "github.com" not in student.cells[0].source  # no link to either edition
    assert classroom.check_student_notebooks(tmp_path / "class") == []

    student.cells[0].source = course.badge_markdown(SMALL_LESSON, "notebooks")
    nbformat.write(student, path)
    problems = classroom.check_student_notebooks(tmp_path / "class")
    assert problems == [f"{SMALL_LESSON}.ipynb: cell 0 (source): a link to the solutions "
                        f"edition (solutions/{SMALL_LESSON}.ipynb)"]


def _solution_line(name: str, with_comment: bool) -> str:
    """A line of a real lesson's solution that carries a comment."""
    teacher = nbformat.read(ROOT / "solutions" / f"{name}.ipynb", as_version=4)
    region = next(r for cell in teacher.cells for r in classroom.solution_regions(cell)
                  if any("  # " in line for line in r))
    line = next(line for line in region if "  # " in line)
    return line if with_comment else line.split("  # ")[0]


@pytest.mark.parametrize("source", ["default", "solutions", "notebooks"])
@pytest.mark.parametrize("paste", ["as is", "without its comment", "respaced"])
def test_check_finds_a_pasted_solution_line_from_either_edition(tmp_path, source, paste):
    """`check DEST [--source DIR]`: the source defaults to the course's solutions edition,
    and an exercises edition is matched to the solutions by the lesson's name."""
    sources = {"default": None, "solutions": _copy_lessons(tmp_path / "s", "solutions"),
               "notebooks": _copy_lessons(tmp_path / "n", "notebooks")}
    dest = tmp_path / "class"
    classroom.write_student_notebooks(_copy_lessons(tmp_path / "n2", "notebooks"), dest,
                                      log=None)
    assert classroom.check_student_notebooks(dest, sources[source]) == []

    line = _solution_line(SMALL_LESSON, with_comment=paste == "as is")
    if paste == "respaced":
        line = line.replace(" ", "").replace(",", ", ")
    path = dest / f"{SMALL_LESSON}.ipynb"
    student = nbformat.read(path, as_version=4)
    student.cells[5].source += "\n" + line
    nbformat.write(student, path)
    problems = classroom.check_student_notebooks(dest, sources[source])
    assert problems == [f"{SMALL_LESSON}.ipynb: cell 5 (source): solution line "
                        f"{line.strip()!r}"]
    assert classroom.main(["check", str(dest)] + (
        ["--source", str(sources[source])] if sources[source] else [])) == 1


def test_check_says_which_notebooks_it_cannot_check(tmp_path, capsys):
    dest = tmp_path / "class"
    dest.mkdir()
    nbformat.write(lesson(), dest / "99_mine.ipynb")
    assert classroom.check_student_notebooks(dest) == [
        "99_mine.ipynb: no lesson of that name in the solutions edition, so it can't be "
        "checked"]
    assert classroom.main(["check", str(tmp_path / "nothing")]) == 1
    assert capsys.readouterr().err == (f"error: {tmp_path / 'nothing'} is not a folder; pass "
                                       f"the folder of the student notebooks, e.g. "
                                       f"build/student/\n")


# --- where the commands refuse to write -----------------------------------------------------

def _error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), captured.err  # no traceback
    return lines[0]


@pytest.mark.parametrize("command", ["student", "nbgrader"])
@pytest.mark.parametrize("dest, message", [
    ("afile", "afile is a file; choose a folder"),
    ("afile/sub", "afile is a file, not a folder"),
    ("/proc/stu", "making a test file in /proc failed"),
])
def test_a_destination_that_cannot_be_written_is_one_error_line(
        lessons, tmp_path, monkeypatch, capsys, command, dest, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "afile").write_text("a teacher's file")
    args = [command, str(lessons), dest] if command == "student" else \
        [command, dest, "--source", str(lessons)]
    assert classroom.main(args) == 1
    assert message in _error_line(capsys)
    assert (tmp_path / "afile").read_text() == "a teacher's file"


def test_writability_is_tried_for_real_not_read_from_permissions(lessons, tmp_path,
                                                                 monkeypatch, capsys):
    """As root (Colab) permission bits say yes everywhere: the command creates a file."""
    import tempfile

    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    assert classroom.main(["student", str(lessons), str(tmp_path / "class")]) == 1
    assert "making a test file in" in _error_line(capsys)
    assert not (tmp_path / "class").exists()


@pytest.mark.parametrize("edition", ["solutions", "notebooks"])
@pytest.mark.parametrize("command", ["student", "nbgrader"])
def test_a_lesson_edition_is_never_overwritten_not_even_with_force(
        tmp_path, capsys, edition, command):
    """`classroom student <copy of notebooks/> <copy of solutions/> --force` once replaced a
    teacher's solutions with stubs."""
    other = "notebooks" if edition == "solutions" else "solutions"
    source = _copy_lessons(tmp_path / "source", other)
    target = _copy_lessons(tmp_path / "target", edition)
    before = {p: p.read_bytes() for p in target.iterdir()}
    for dest in (target, target / "inside"):
        args = ([command, str(source), str(dest)] if command == "student" else
                [command, str(dest), "--source", str(source)])
        assert classroom.main([*args, "--force"]) == 1
        assert (f"holds the lessons' {registry.EDITIONS[edition]} edition ({SMALL_LESSON}"
                f".ipynb; --force does not change this)") in _error_line(capsys)
    assert {p: p.read_bytes() for p in target.iterdir()} == before


def test_the_source_is_not_its_own_destination(lessons, capsys):
    assert classroom.main(["student", str(lessons), str(lessons), "--force"]) == 1
    assert "which this command reads" in _error_line(capsys)


def test_ctrl_c_is_one_line_and_status_130(lessons, tmp_path, monkeypatch, capsys):
    from vit_tutorial.classroom import places, student

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(student, "student_notebook", interrupted)
        assert classroom.main(["student", str(lessons), str(tmp_path / "class")]) == 130
    assert capsys.readouterr().err == "interrupted; nothing written\n"
    assert not list(tmp_path.glob("class/*"))

    nbformat.write(lesson(), lessons / "02_more.ipynb")
    written = []

    def second_write_interrupted(path, data, force=False):
        if written:
            raise KeyboardInterrupt
        written.append(path)
        Path(path).write_text(data)

    monkeypatch.setattr(places, "atomic_write", second_write_interrupted)
    assert classroom.main(["student", str(lessons), str(tmp_path / "class")]) == 130
    err = capsys.readouterr().err
    assert err.startswith("interrupted; wrote 1 of 2 file(s), each whole (") and \
        err.endswith("01_patches.ipynb); run the command again with --force to finish\n")
