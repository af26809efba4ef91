r"""Where the classroom commands may write: checked before any work, so that a mistyped
folder never costs a teacher their lessons.

A destination is refused when it is a file or lies under one, when it is the lessons'
folder or inside it, when it (or a folder above it) holds a lesson edition — notebooks with
solution markers, or the course's own notebooks with their edition's badge line — and when
a file can't be created there, which is tried for real (as root, on Colab, permissions say
yes to almost everything). Writing is whole files only; Ctrl-C while writing says how far
it got (:class:`Interrupted`).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from vit_tutorial.classroom.cells import BEGIN_SOLUTION, ClassroomError, cell_source
from vit_tutorial.course import EDITIONS, badge_markdown
from vit_tutorial.files import atomic_write

__all__ = ["Interrupted", "lesson_files", "lesson_edition", "check_destination",
           "refuse_existing", "write_files"]


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


def _edition_of(path: Path) -> str | None:
    """What kind of lesson notebook ``path`` is: "solutions" (it holds solution markers),
    the course's edition its badge line names, or ``None``."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = nb["cells"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not a notebook we can read: not a lesson edition either
    for cell in cells if isinstance(cells, list) else []:
        if not isinstance(cell, dict):
            continue
        source = cell_source(cell)
        if BEGIN_SOLUTION in source:
            return "solutions"
        if cell.get("metadata", {}).get("vit_tutorial") == "badge":
            for folder, edition in EDITIONS.items():
                if source == badge_markdown(path.stem, folder):
                    return edition
    return None


def lesson_edition(folder: Path) -> str | None:
    """A sentence naming the lesson edition ``folder`` holds, or ``None`` if it holds none."""
    if not folder.is_dir():
        return None
    for path in sorted(folder.glob("*.ipynb")):
        edition = _edition_of(path)
        if edition is not None:
            return f"{folder} holds a lesson edition ({path.name} is the {edition} edition)"
    return None


def _try_writing(folder: Path, dest: Path) -> None:
    try:
        handle, name = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(handle)
        os.remove(name)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise ClassroomError(f"cannot write in {dest}: creating a test file in {folder} "
                             f"failed ({reason}); choose a folder you can write to") from None


def check_destination(dest: Path, *, source: Path | None = None, what: str = "notebooks",
                      example: str = "build/student") -> None:
    """Refuse a destination that can't or mustn't be written, before any work is done.

    Raises:
        ClassroomError: ``dest`` is a file or under one, is ``source`` or inside it, holds a
            lesson edition or lies inside a folder that does, or can't be written to.
    """
    if dest.exists() and not dest.is_dir():
        raise ClassroomError(f"{dest} is a file; pass a folder for the {what}, e.g. {example}")
    existing = next(p for p in (dest, *dest.parents) if p.exists() or p == Path(p.anchor))
    if not existing.is_dir():
        raise ClassroomError(f"cannot make {dest}: {existing} is a file, not a folder; pass a "
                             f"folder for the {what}, e.g. {example}")
    target = dest.resolve()
    if source is not None:
        lessons = source.resolve()
        if target == lessons or lessons in target.parents:
            where = "the same folder as" if target == lessons else "inside"
            raise ClassroomError(f"refusing to write the {what} into the lessons' own folder "
                                 f"({dest} is {where} {source}): they would replace or sit "
                                 f"beside the solutions; choose a folder outside it, e.g. "
                                 f"{example}")
    for folder in (target, *target.parents):
        found = lesson_edition(folder)
        if found:
            raise ClassroomError(f"refusing to write the {what} to {dest}: {found}, which "
                                 f"they could replace (--force does not change this); choose "
                                 f"a folder outside the lessons, e.g. {example}")
    _try_writing(existing, dest)


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
