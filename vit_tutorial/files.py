"""Writing files safely: checked before the long work, written whole or not at all.

Every file the course writes (a checkpoint, a results JSON, a student notebook) goes
through :func:`atomic_write`: to a temporary file in the same folder, flushed and synced to
disk, then renamed over the target in one step, so a reader never sees half a file. The
temporary file is removed on any exit: an error, Ctrl-C, or a ``SIGTERM`` while writing.

The commands (``python -m vit_tutorial.train``, ``.experiments``, ``.course_model``, ...)
share three helpers, so that each says *before* an hour of training whether its outputs
will work, and how it stopped:

- :func:`output_file` reads an ``--output`` argument: a path ending in ``/`` means that
  folder, with the command's default file name inside it;
- :func:`check_outputs` (files) and :func:`check_output_folder` (a folder a command fills)
  refuse two outputs that are one file, a destination inside a source or in a folder that
  holds a lesson edition (:func:`vit_tutorial.ipynb.lesson_edition`), and a folder where no
  file can be made
  — found by making and removing a test file there (:func:`check_writable`), because
  permission bits say nothing to ``root`` (as Colab runs) or on a virtual file system;
- :func:`interruptible` wraps a command's ``main``: Ctrl-C ends it with one line saying
  what was written (usually nothing) and exit status 130, without a traceback.
"""

from __future__ import annotations

import functools
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import contextmanager
from pathlib import Path

from vit_tutorial.ipynb import lesson_edition

__all__ = ["OutputPathError", "check_output_path", "atomic_write", "output_file",
           "check_outputs", "check_output_folder", "check_writable", "interruptible"]

_WRITTEN: list[Path] = []  # every file atomic_write wrote in this process, in order


class OutputPathError(ValueError):
    """The output path can't be written: a folder, inside a file, unwritable, existing
    without ``force``, another output's path, or a lesson's folder. The message says
    which, and what to do."""


def check_output_path(path: str | os.PathLike, force: bool = False) -> Path:
    """Check that ``path`` can be written, without writing anything.

    Args:
        path: the file to write.
        force: may an existing file be replaced?

    Returns:
        ``path`` as a ``Path``.

    Raises:
        OutputPathError: ``path`` is a folder, exists (without ``force``), or its folder is
            a file, can't be made, or isn't writable.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputPathError(f"{path} is a folder; give a file name, e.g. {path / 'out.pt'}")
    if path.exists() and not force:
        raise OutputPathError(f"{path} exists; pass --force to replace it, or choose another "
                              f"path")
    existing = _existing_folder(path)
    if not existing.is_dir():
        raise OutputPathError(f"cannot write {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {path}: no permission to write in {existing}")
    return path


def _existing_folder(path: Path) -> Path:
    """The nearest existing ancestor of ``path`` (where its missing folders would be made)."""
    return next((p for p in path.parents if p.exists()), Path("."))


def output_file(value: str | os.PathLike, default_name: str) -> Path:
    """The file an ``--output`` argument names.

    A path ending in ``/`` means a folder (made if missing): the file is ``default_name``
    inside it. Anything else is the file itself; an existing folder without the ``/`` is
    refused, so that a typo never lands a file somewhere unexpected.

    Example:
        >>> output_file("runs/", "tiny_vit_digits.pt")
        PosixPath('runs/tiny_vit_digits.pt')
    """
    text = os.fspath(value)
    if not text:
        raise OutputPathError(f"the output path is empty; give a file name such as "
                              f"{default_name}, or a folder ending in /")
    separators = (os.sep, os.altsep) if os.altsep else (os.sep,)
    if text.endswith(separators):
        return Path(text) / default_name
    if Path(text).is_dir():
        raise OutputPathError(f"{text} is a folder; give a file name, e.g. "
                              f"{Path(text) / default_name}, or end it with / to write "
                              f"{default_name} inside it")
    return Path(text)


def check_writable(folder: str | os.PathLike, what: str | os.PathLike | None = None) -> Path:
    """Make and remove a test file in ``folder`` (or its nearest existing ancestor, where
    its missing folders would be made): the only test that holds for ``root``, on a
    read-only disk and on virtual file systems such as ``/proc``. ``what`` names the file
    to be written there, for the message.

    Raises:
        OutputPathError: no file can be made there; the message names the folder.
    """
    folder = Path(folder)
    existing = folder if folder.is_dir() else _existing_folder(folder)
    try:
        fd, probe = tempfile.mkstemp(dir=existing, prefix=".write-test-")
    except OSError as error:
        what = f"in {folder}" if what is None else what
        raise OutputPathError(f"cannot write {what}: making a test file in {existing} failed "
                              f"({error.strerror}); choose a folder you can write to") from None
    os.close(fd)
    os.unlink(probe)
    return folder


def _refuse_lessons_and_sources(label: str, folder: Path, sources: Iterable,
                                example: str = "build/") -> None:
    """Refuse a destination that is a source or inside one, or that is (or is inside) a
    folder holding a lesson edition — even with ``--force``: nothing may replace a lesson."""
    target = folder.resolve()
    for source in sources:
        source = Path(source).resolve()
        if target == source or source in target.parents:
            raise OutputPathError(f"{label} would go into {source}, which this command reads; "
                                  f"choose a folder outside it, e.g. {example}")
    for place in (target, *target.parents):
        found = lesson_edition(place)
        if found:
            edition, notebook = found
            raise OutputPathError(f"{label} would go into {place}, which holds the lessons' "
                                  f"{edition} edition ({notebook.name}; --force does not change "
                                  f"this); choose a folder outside it, e.g. {example}")


def check_outputs(outputs: Mapping[str, str | os.PathLike | None], *, force: bool = False,
                  sources: Iterable[str | os.PathLike] = ()) -> dict[str, Path]:
    """Check every file one command will write, before its long work starts.

    Args:
        outputs: a name for the message (e.g. ``"--output"``) -> the file; ``None`` entries
            (an option not given) are skipped.
        force: may existing files be replaced?
        sources: folders the command reads; no output may be inside one.

    Returns:
        The outputs as ``Path`` s (``None`` entries left out).

    Raises:
        OutputPathError: an output :func:`check_output_path` refuses; two outputs that are
            the same file (after resolving links and ``..``), or one inside the other; an
            output inside a source, or in (or under) a folder holding a lesson edition; a
            folder where no file can be made (:func:`check_writable`).
    """
    paths = {label: Path(p) for label, p in outputs.items() if p is not None}
    seen: dict[Path, str] = {}
    for label, path in paths.items():
        check_output_path(path, force=force)
        resolved = path.resolve()
        for other, other_label in seen.items():
            if resolved == other or (resolved.exists() and other.exists()
                                     and os.path.samefile(resolved, other)):
                raise OutputPathError(f"{other_label} and {label} name the same file "
                                      f"({path}); give each its own path")
            if other in resolved.parents or resolved in other.parents:
                raise OutputPathError(f"{other_label} and {label} ({path}) would be a file "
                                      f"and a folder at once; give each its own path")
        seen[resolved] = label
        _refuse_lessons_and_sources(f"{label} {path}", path.parent, sources)
        check_writable(path.parent, path)
    return paths


def check_output_folder(folder: str | os.PathLike, *, label: str = "the output folder",
                        sources: Iterable[str | os.PathLike] = (),
                        example: str = "build/") -> Path:
    """Check a folder a command will fill (a website, a set of notebooks, a class), before it
    starts.

    Args:
        folder: the folder; made later if missing.
        label: what it is, for the message (e.g. ``"--output"``).
        sources: folders the command reads; the output may be none of them, nor inside one.
        example: a folder to suggest instead.

    Raises:
        OutputPathError: ``folder`` is a file or lies under one, is a source or inside one,
            holds (or is inside a folder holding) a lesson edition, or no file can be made
            there.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OutputPathError(f"{label} {folder} is a file; choose a folder, e.g. {example}")
    existing = folder if folder.exists() else _existing_folder(folder)
    if not existing.is_dir():
        raise OutputPathError(f"cannot write {folder}: {existing} is a file, not a folder; "
                              f"choose a folder, e.g. {example}")
    _refuse_lessons_and_sources(f"{label} {folder}", folder, sources, example)
    return check_writable(folder, folder)


@contextmanager
def _terminate_as_exception():
    """Turn SIGTERM into ``SystemExit`` while writing, so ``finally`` blocks run."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def atomic_write(path: str | os.PathLike, data: bytes | str, *, force: bool = False,
                 mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` in one step: all of it, or nothing.

    Args:
        path: the file to write; its folder is made if missing.
        data: bytes, or text (written as UTF-8).
        force: replace an existing file (otherwise it is an error).
        mode: the file's permissions (a checkpoint or lesson is for sharing: 0o644).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        OutputPathError: see :func:`check_output_path`.
    """
    path = check_output_path(path, force=force)
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = None
    with _terminate_as_exception():
        try:
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
                f.flush()
                os.fsync(f.fileno())  # on disk before the rename makes it visible
            os.chmod(tmp, mode)  # mkstemp makes it private
            os.replace(tmp, path)  # atomic on the same file system
            tmp = None
            _WRITTEN.append(path)
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
    return path


def interruptible(main: Callable[..., int]) -> Callable[..., int]:
    """Wrap a command's ``main``: Ctrl-C ends it with one line on stderr —
    ``interrupted; nothing written`` (or which files were written before it) — and exit
    status 130, as a shell reports an interrupted program, instead of a traceback."""

    @functools.wraps(main)
    def run(*args, **kwargs) -> int:
        before = len(_WRITTEN)
        try:
            return main(*args, **kwargs)
        except KeyboardInterrupt:
            written = _WRITTEN[before:]
            done = ("nothing written" if not written else
                    f"written before it: {', '.join(map(str, written))}; nothing else")
            print(f"interrupted; {done}", file=sys.stderr)
            return 128 + signal.SIGINT

    return run
