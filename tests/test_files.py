"""Writing files safely (``vit_tutorial.files``)."""

import errno
import os
import signal
import subprocess
import sys
import tempfile
import textwrap

import pytest

from vit_tutorial.files import (
    OutputPathError,
    atomic_write,
    check_output_folder,
    check_output_path,
    check_outputs,
    interruptible,
    output_file,
)
from vit_tutorial.ipynb import lesson_edition


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


def _lesson(folder, source="### BEGIN SOLUTION\nx = 1\n### END SOLUTION", tags=()):
    """A folder holding one lesson notebook, its badge line first (a solutions-edition one by
    default)."""
    import json

    from vit_tutorial.course import badge_markdown

    folder.mkdir(parents=True, exist_ok=True)
    badge = {"cell_type": "markdown", "metadata": {"vit_tutorial": "badge"},
             "source": badge_markdown("01_patches")}
    cell = {"cell_type": "code", "metadata": {"tags": list(tags)}, "source": source,
            "outputs": [], "execution_count": None}
    (folder / "01_patches.ipynb").write_text(json.dumps({"cells": [badge, cell], "metadata": {},
                                                         "nbformat": 4, "nbformat_minor": 5}))
    return folder


def test_a_trailing_slash_means_a_folder(tmp_path):
    assert output_file(f"{tmp_path}/new/", "tiny.pt") == tmp_path / "new" / "tiny.pt"
    assert output_file(tmp_path / "a.pt", "tiny.pt") == tmp_path / "a.pt"
    with pytest.raises(OutputPathError, match="is a folder; give a file name"):
        output_file(tmp_path, "tiny.pt")  # an existing folder, no slash: say so, don't guess
    with pytest.raises(OutputPathError, match="the output path is empty"):
        output_file("", "tiny.pt")


def test_two_outputs_that_are_one_file_are_refused(tmp_path):
    same = tmp_path / "same.pt"
    with pytest.raises(OutputPathError, match="--output and --history name the same file"):
        check_outputs({"--output": same, "--history": same}, force=True)
    with pytest.raises(OutputPathError, match="name the same file"):  # spelled another way
        check_outputs({"a": same, "b": tmp_path / "sub" / ".." / "same.pt"})
    same.write_text("x")
    os.link(same, tmp_path / "hard.pt")
    with pytest.raises(OutputPathError, match="name the same file"):  # a hard link
        check_outputs({"a": same, "b": tmp_path / "hard.pt"}, force=True)
    with pytest.raises(OutputPathError, match="would be a file and a folder at once"):
        check_outputs({"a": tmp_path / "x.pt", "b": tmp_path / "x.pt" / "h.json"})
    assert check_outputs({"a": tmp_path / "a.pt", "b": None}) == {"a": tmp_path / "a.pt"}


@pytest.mark.parametrize("edition, source, tags", [
    ("solutions", "### BEGIN SOLUTION\nx = 1\n### END SOLUTION", ()),
    ("exercises", "raise NotImplementedError", ("exercise",)),
])
def test_a_folder_holding_a_lesson_edition_is_refused(tmp_path, edition, source, tags):
    lessons = _lesson(tmp_path / "copy_of_lessons", source, tags)
    assert lesson_edition(lessons) == (edition, lessons / "01_patches.ipynb")
    assert lesson_edition(tmp_path) is None
    for target in (lessons / "x.pt", lessons / "deeper" / "x.pt"):
        with pytest.raises(OutputPathError, match=f"holds the lessons' {edition} edition"):
            check_outputs({"--output": target})
    with pytest.raises(OutputPathError, match=f"holds the lessons' {edition} edition"):
        check_output_folder(lessons)
    assert not (lessons / "deeper").exists()  # nothing made on the way


def test_an_output_inside_a_source_is_refused(tmp_path):
    with pytest.raises(OutputPathError, match="source, which this command reads"):
        check_outputs({"--output": tmp_path / "source" / "x.pt"}, sources=[tmp_path / "source"])
    with pytest.raises(OutputPathError, match="which this command reads"):
        check_output_folder(tmp_path / "source", sources=[tmp_path / "source"])


def test_writability_is_tried_with_a_real_file(tmp_path, monkeypatch):
    """Permission bits say nothing to root (Colab runs as root): a test file is made."""
    check_outputs({"--output": tmp_path / "new" / "x.pt"})
    assert list(tmp_path.iterdir()) == []  # the test file is gone, no folder made

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OutputPathError, match=r"making a test file in .* failed \(Read-only"):
        check_outputs({"--output": tmp_path / "x.pt"})
    with pytest.raises(OutputPathError, match="Read-only file system"):
        check_output_folder(tmp_path / "site")


def test_proc_is_refused_up_front():
    """Linux's (and Colab's) /proc: root may write anywhere by its permission bits, but no
    file can be made there."""
    with pytest.raises(OutputPathError, match="cannot write /proc/x.pt: making a test file"):
        check_outputs({"--output": "/proc/x.pt"})


def test_interruptible_says_what_was_written(tmp_path, capsys):
    @interruptible
    def main(paths):
        for path in paths:
            atomic_write(path, "x")
        raise KeyboardInterrupt

    assert main([]) == 130
    assert capsys.readouterr().err == "interrupted; nothing written\n"
    assert main([tmp_path / "a.txt"]) == 130
    assert capsys.readouterr().err == f"interrupted; written before it: {tmp_path / 'a.txt'}; " \
                                      f"nothing else\n"
