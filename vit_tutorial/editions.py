"""The course's two editions, made from one source and committed executed.

- ``solutions/`` — the **solutions edition** (the teacher's): every exercise answered between
  nbgrader's markers. It is the source: lessons are written and edited here.
- ``notebooks/`` — the **exercises edition**, what a learner opens from the README and the
  Colab badges: the same lessons with each solution replaced by a stub that raises
  ``NotImplementedError`` (:func:`vit_tutorial.classroom.student_notebook`), and each
  exercise cell run, so it shows "not implemented yet".

Run::

    python -m vit_tutorial.editions                 # check that notebooks/ is up to date
    python -m vit_tutorial.editions --write         # run solutions/, then remake notebooks/
    python -m vit_tutorial.editions --write 03_class_token   # only these lessons

The check (which the tests run) needs no kernel: the exercises edition must hold exactly
the cells the generator makes from the solutions edition, every cell that is not an exercise
must show the same outputs in both, and every exercise cell must have been run.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from pathlib import Path

import nbformat

from vit_tutorial.classroom import is_exercise_cell, student_notebook
from vit_tutorial.course import find_root, lesson_minutes, sync_notebook
from vit_tutorial.files import OutputPathError, atomic_write, check_writable, interruptible
from vit_tutorial.ipynb import cell_source, notebook_text
from vit_tutorial.lessons import EXERCISES, LESSONS, SOURCE, Lesson

__all__ = ["exercises_edition", "execute", "problems", "write", "main"]

_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"  # a new model id on every run
_NOT_IMPLEMENTED = "○"  # how a checker marks "not implemented yet"


def exercises_edition(teacher: dict, lesson: Lesson, root: Path) -> dict:
    """The exercises edition of one lesson, not yet executed: solutions stubbed, exercise
    outputs cleared, the badge line pointing at this edition."""
    # reads() joins each cell's source into one string, as nbgrader's ClearSolutions needs;
    # a notebook fresh from execute() holds its sources as lists of lines
    teacher = nbformat.reads(notebook_text(teacher), as_version=4)
    student = student_notebook(teacher, name=lesson.name)
    minutes = lesson_minutes(root)[lesson.name]
    return sync_notebook(student, lesson, EXERCISES, minutes)


def execute(nb: dict, folder: Path, timeout: int = 600) -> dict:
    """Run a notebook top to bottom in ``folder`` (as ``jupyter nbconvert --execute``),
    with progress bars off, widget state not stored, and each cell's consecutive prints
    merged into one output (how a kernel splits them depends on timing)."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor, ExecutePreprocessor

    os.environ.setdefault("TQDM_DISABLE", "1")
    node = nbformat.from_dict(copy.deepcopy(nb))
    for cell in node.cells:  # no run times in the files: a rerun changes only what changed
        cell.metadata.pop("execution", None)
    runner = ExecutePreprocessor(timeout=timeout, kernel_name="python3",
                                 store_widget_state=False, record_timing=False)
    runner.preprocess(node, {"metadata": {"path": str(folder)}})
    CoalesceStreamsPreprocessor().preprocess(node, {})
    return _plain(node)


def _plain(node) -> dict:
    import json

    return json.loads(nbformat.writes(node))


def _outputs(cell: dict) -> list:
    """A cell's outputs without what changes from run to run: widget model ids, and how a
    kernel happened to split consecutive prints into messages (merged, as nbval does)."""
    kept = []
    for out in cell.get("outputs", []):
        out = {k: v for k, v in out.items() if k not in ("execution_count", "metadata")}
        if "data" in out:
            out["data"] = {k: v for k, v in out["data"].items() if k != _WIDGET_VIEW}
        if out.get("output_type") == "stream":
            text = out.get("text", "")
            out["text"] = "".join(text) if isinstance(text, list) else text
            if kept and kept[-1].get("output_type") == "stream" \
                    and kept[-1].get("name") == out.get("name"):
                kept[-1] = {**kept[-1], "text": kept[-1]["text"] + out["text"]}
                continue
        kept.append(out)
    return kept


def problems(root: Path, lessons=LESSONS) -> list[str]:
    """What is out of date in ``notebooks/``, lesson by lesson (empty if nothing)."""
    found = []
    for lesson in lessons:
        teacher_path = root / SOURCE / f"{lesson.name}.ipynb"
        student_path = root / EXERCISES / f"{lesson.name}.ipynb"
        if not student_path.exists():
            found.append(f"{lesson.name}: no exercises edition in {EXERCISES}/")
            continue
        teacher = nbformat.read(teacher_path, as_version=4)
        expected = exercises_edition(teacher, lesson, root)
        stored = nbformat.read(student_path, as_version=4)
        found += [f"{lesson.name}: {p}" for p in _differences(expected, stored)]
    return found


def _differences(expected: dict, stored: dict) -> list[str]:
    if [(cell_source(c), c["cell_type"]) for c in expected["cells"]] != [
            (cell_source(c), c["cell_type"]) for c in stored["cells"]]:
        return ["its cells differ from what the solutions edition gives; run "
                "`python -m vit_tutorial.editions --write`"]
    found = []
    for index, (want, have) in enumerate(zip(expected["cells"], stored["cells"])):
        if want["cell_type"] != "code":
            continue
        if is_exercise_cell(want):
            texts = [str(out.get("text", "")) for out in have.get("outputs", [])]
            said = any(_NOT_IMPLEMENTED in text for text in texts)
            if have.get("execution_count") is None or ("check_" in cell_source(want)
                                                       and not said):
                found.append(f"cell {index}: the exercise cell was not run, or does not say "
                             f"'not implemented yet'")
        elif _outputs(want) != _outputs(have):
            found.append(f"cell {index}: its outputs differ from the solutions edition's; run "
                         f"`python -m vit_tutorial.editions --write`")
    return found


def write(root: Path, lessons=LESSONS, log=print) -> None:
    """Run each lesson's solutions edition, then make and run its exercises edition."""
    for lesson in lessons:
        teacher_path = root / SOURCE / f"{lesson.name}.ipynb"
        teacher = execute(nbformat.read(teacher_path, as_version=4), teacher_path.parent)
        atomic_write(teacher_path, notebook_text(teacher), force=True)
        student_path = root / EXERCISES / f"{lesson.name}.ipynb"
        student_path.parent.mkdir(exist_ok=True)
        student = execute(exercises_edition(teacher, lesson, root), student_path.parent)
        atomic_write(student_path, notebook_text(student), force=True)
        if log is not None:
            log(f"{lesson.name}: ran {teacher_path.relative_to(root)}, wrote and ran "
                f"{student_path.relative_to(root)}")


@interruptible
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vit_tutorial.editions",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="*", help="lesson names, e.g. 03_class_token "
                                                   "(default: all)")
    parser.add_argument("--write", action="store_true",
                        help="run solutions/ and remake notebooks/ (takes a few minutes)")
    parser.add_argument("--root", type=Path, default=None, help="the repository root")
    args = parser.parse_args(argv)
    by_name = {lesson.name: lesson for lesson in LESSONS}
    unknown = [name for name in args.lessons if name not in by_name]
    if unknown:
        parser.error(f"unknown lesson {unknown[0]!r}; choose from {', '.join(by_name)}")
    try:
        root = find_root(args.root)
        if args.write:  # before minutes of running notebooks, not after
            for folder in (SOURCE, EXERCISES):
                check_writable(root / folder)
    except (FileNotFoundError, OutputPathError) as error:
        parser.error(str(error))
    lessons = [by_name[name] for name in args.lessons] or list(LESSONS)
    if args.write:
        write(root, lessons)
    found = problems(root, lessons)
    for problem in found:
        print(f"out of date: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
