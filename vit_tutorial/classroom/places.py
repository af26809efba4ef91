r"""Where the classroom commands may write: checked before any work, so that a mistyped
folder never costs a teacher their lessons.

A destination is refused when it is a file or lies under one, when it is the lessons'
folder or inside it, when it (or a folder above it) holds a lesson edition
(:func:`vit_tutorial.ipynb.lesson_edition`), and when a file can't be created there, which
is tried for real (as root, on Colab, permissions say yes to almost everything): the checks
of every command that writes, :func:`vit_tutorial.files.check_output_folder`. Writing is
whole files only; Ctrl-C while writing says how far it got (:class:`Interrupted`).
"""

from __future__ import annotations

from pathlib import Path

from vit_tutorial.classroom.cells import ClassroomError
from vit_tutorial.files import OutputPathError, atomic_write, check_output_folder

__all__ = ["Interrupted", "lesson_files", "check_destination", "refuse_existing",
           "write_files"]


class Interrupted(KeyboardInterrupt):
    """Ctrl-C while writing: ``written`` are the files already written (each one whole)."""

    def __init__(self, written: list[Path], total: int):
        super().__init__(f"interrupted after {len(written)} of {total} file(s)")
        self.written, self.total = list(written), total


def lesson_files(source: Path, what: str = "the lesson notebooks",
                 example: str = "solutions/") -> list[Path]:
    """The notebooks of a folder, sorted; a clear error if there are none."""
    if source.exists() and not source.is_dir():
        raise ClassroomError(f"{source} is a file; pass the folder of {what}, e.g. {example}")
    if not source.is_dir():
        raise ClassroomError(f"{source} is not a folder; pass the folder of {what}, e.g. "
                             f"{example}")
    notebooks = sorted(source.glob("*.ipynb"))
    if not notebooks:
        raise ClassroomError(f"no notebooks (*.ipynb) in {source}")
    return notebooks


def check_destination(dest: Path, *, source: Path | None = None, what: str = "notebooks",
                      example: str = "build/student") -> None:
    """Refuse a destination that can't or mustn't be written, before any work is done
    (:func:`vit_tutorial.files.check_output_folder`, said as a :class:`ClassroomError`).

    Raises:
        ClassroomError: ``dest`` is a file or under one, is ``source`` or inside it, holds a
            lesson edition or lies inside a folder that does, or can't be written to.
    """
    try:
        check_output_folder(dest, label=f"the folder for the {what}",
                            sources=() if source is None else (source,), example=example)
    except OutputPathError as error:
        raise ClassroomError(str(error)) from None


def refuse_existing(paths: list[Path], force: bool) -> None:
    """Without ``force``, refuse when any of ``paths`` exists (naming them)."""
    existing = [path for path in paths if path.exists()]
    if existing and not force:
        names = ", ".join(str(path) for path in existing[:5])
        more = f" and {len(existing) - 5} more" if len(existing) > 5 else ""
        raise ClassroomError(f"{len(existing)} file(s) exist already ({names}{more}); pass "
                             f"--force to overwrite them")


def write_files(contents: dict[Path, str]) -> list[Path]:
    """Write each file whole (atomically), making its folder; on Ctrl-C raise
    :class:`Interrupted` naming the files already written."""
    written = []
    try:
        for path, text in contents.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, text, force=True)
            written.append(path)
    except KeyboardInterrupt:
        raise Interrupted(written, len(contents)) from None
    return written
