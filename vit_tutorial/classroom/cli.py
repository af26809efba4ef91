r"""``python -m vit_tutorial.classroom``: the teachers' commands (README, "For teachers").

::

    python -m vit_tutorial.classroom nbgrader DIR [LESSON ...]   # an nbgrader course in DIR
    python -m vit_tutorial.classroom student SOURCE DEST         # student notebooks in DEST
    python -m vit_tutorial.classroom check DEST [--source DIR]   # any solution left in DEST?
    python -m vit_tutorial.classroom points                      # what each exercise is worth

A problem is one ``error:`` line and exit status 1; Ctrl-C is one line and status 130.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from vit_tutorial.classroom.cells import ClassroomError
from vit_tutorial.classroom.nbgrader_course import write_nbgrader_course
from vit_tutorial.classroom.places import Interrupted
from vit_tutorial.classroom.student import check_student_notebooks, write_student_notebooks
from vit_tutorial.course import points_table

__all__ = ["parser", "main"]

INTERRUPTED = 130  # the shell's status for a program ended by Ctrl-C (128 + SIGINT)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m vit_tutorial.classroom",
        description="The lessons for a class: an nbgrader course with graded exercises, or "
                    "student notebooks (solutions replaced by stubs, everything else kept).")
    commands = top.add_subparsers(dest="command", required=True)
    course = commands.add_parser(
        "nbgrader", help="write an nbgrader course: DIR/nbgrader_config.py and "
                         "DIR/source/<lesson>/<lesson>.ipynb")
    course.add_argument("dest", type=Path, metavar="DIR", help="the course folder, e.g. class/")
    course.add_argument("lessons", nargs="*", metavar="LESSON",
                        help="lessons by name (01_patches) or number (1); default: all")
    course.add_argument("--source", type=Path, default=None,
                        help="the solutions edition to use (default: the course's solutions/)")
    course.add_argument("--exchange", default=None, metavar="PATH",
                        help="nbgrader's exchange folder for release_assignment and collect "
                             "(default: nbgrader's, /srv/nbgrader/exchange)")
    course.add_argument("--force", action="store_true",
                        help="overwrite the course's config and lesson sources if they exist")
    student = commands.add_parser("student", help="write the student notebooks")
    student.add_argument("source", type=Path, help="the lessons' folder, e.g. solutions/")
    student.add_argument("dest", type=Path, help="where to write them, e.g. build/student/")
    student.add_argument("--force", action="store_true",
                         help="overwrite student notebooks that exist already")
    check = commands.add_parser("check", help="check student notebooks for what they still "
                                              "hold of the solutions")
    check.add_argument("dest", type=Path, help="the student notebooks' folder")
    check.add_argument("--source", type=Path, default=None,
                       help="the lessons they were made from (default: the course's solutions/;"
                            " an exercises edition is matched to the solutions by name)")
    commands.add_parser("points", help="print what each exercise is worth (a Markdown table)")
    return top


def _run(args: argparse.Namespace) -> int:
    if args.command == "points":
        print(points_table())
        return 0
    if args.command == "nbgrader":
        written = write_nbgrader_course(args.dest, args.lessons, source=args.source,
                                        force=args.force, exchange=args.exchange)
        stems = [path.parent.name for path in written if path.suffix == ".ipynb"]
        print(f"wrote an nbgrader course with {len(stems)} lesson(s) to {args.dest}; next, in "
              f"that folder: nbgrader generate_assignment {stems[0] if stems else 'LESSON'}")
        return 0
    if args.command == "student":
        written = write_student_notebooks(args.source, args.dest, force=args.force)
        print(f"wrote {len(written)} student notebook(s) to {args.dest}")
        return 0
    problems = check_student_notebooks(args.dest, args.source)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"no solution text in the student notebooks in {args.dest}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return _run(args)
    except ClassroomError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except Interrupted as stop:
        if not stop.written:
            print("interrupted; nothing written", file=sys.stderr)
            return INTERRUPTED
        files = " ".join(shlex.quote(str(path)) for path in stop.written)
        print(f"interrupted; wrote {len(stop.written)} of {stop.total} file(s), each whole "
              f"({files}); run the command again with --force to finish", file=sys.stderr)
        return INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted; nothing written", file=sys.stderr)
        return INTERRUPTED
