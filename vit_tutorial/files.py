"""Writing files safely: checked before the long work, written whole or not at all.

Every file the course writes (a checkpoint, a results JSON, a student notebook) goes
through :func:`atomic_write`: to a temporary file in the same folder, flushed and synced to
disk, then renamed over the target in one step, so a reader never sees half a file. The
temporary file is removed on any exit: an error, Ctrl-C, or a ``SIGTERM`` while writing.
:func:`check_output_path` says *before* an hour of training whether the path will work.
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path

__all__ = ["OutputPathError", "check_output_path", "atomic_write"]


class OutputPathError(ValueError):
    """The output path can't be written: a folder, inside a file, unwritable, or existing
    without ``force``. The message says which, and what to do."""


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
    folder = path.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path("."))
    if not existing.is_dir():
        raise OutputPathError(f"cannot write {path}: {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputPathError(f"cannot write {path}: no permission to write in {existing}")
    return path


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
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
    return path
