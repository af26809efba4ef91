"""Writing files safely (``vit_tutorial.files``)."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from vit_tutorial.files import OutputPathError, atomic_write, check_output_path


def test_writes_bytes_and_text_and_makes_the_folder(tmp_path):
    path = atomic_write(tmp_path / "new" / "a.bin", b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    atomic_write(tmp_path / "b.txt", "é")
    assert (tmp_path / "b.txt").read_text(encoding="utf-8") == "é"
    assert oct((tmp_path / "b.txt").stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.txt", "new"]  # no temp files


def test_never_replaces_a_file_unless_forced(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("mine")
    with pytest.raises(OutputPathError, match="exists; pass --force to replace it"):
        atomic_write(path, "theirs")
    assert path.read_text() == "mine"
    atomic_write(path, "theirs", force=True)
    assert path.read_text() == "theirs"


def test_bad_paths_are_refused_before_any_work(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputPathError, match="is a folder; give a file name"):
        check_output_path(tmp_path)
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        check_output_path(tmp_path / "file" / "out.pt")


def test_an_unwritable_folder_is_refused(tmp_path, monkeypatch):
    # (chmod can't show it: this machine's tests run as root, who may write anywhere)
    monkeypatch.setattr(os, "access", lambda path, mode: False)
    with pytest.raises(OutputPathError, match="no permission to write in"):
        check_output_path(tmp_path / "out.pt")


def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "a.txt"
    path.write_text("old")

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, "new", force=True)
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_sigterm_while_writing_removes_the_temp_file(tmp_path):
    """A process killed with SIGTERM in the middle of a write leaves no temp file behind."""
    script = textwrap.dedent(f"""
        import os, signal
        import vit_tutorial.files as files
        real_fsync = os.fsync
        def slow_fsync(fd):
            os.kill(os.getpid(), signal.SIGTERM)  # arrives in the middle of the write
            real_fsync(fd)
        files.os.fsync = slow_fsync
        files.atomic_write({str(tmp_path / 'a.bin')!r}, b"x" * 1000)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True)
    assert result.returncode == 128 + signal.SIGTERM
    assert list(tmp_path.iterdir()) == []
