"""Reading a checkpoint, and knowing it is whole (``vit_tutorial.checkpoints``)."""

import io
import zipfile

import pytest
import torch

from vit_tutorial.checkpoints import read_checkpoint, state_dict_sha256


def _write(path, state, **extra):
    torch.save({"config": {"depth": 1}, "state_dict": state,
                "content_sha256": state_dict_sha256(state), **extra}, path)


def _flip_a_byte_of(path, member_suffix: str) -> None:
    """Change one byte inside a member of the zip archive, the way a bad disk would."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(member_suffix))
    offset = info.header_offset  # the member's local header: 30 bytes, its name, its extra
    name_length = int.from_bytes(data[offset + 26:offset + 28], "little")
    extra_length = int.from_bytes(data[offset + 28:offset + 30], "little")
    data[offset + 30 + name_length + extra_length + 5] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_whole_checkpoint_reads_back(tmp_path):
    state = {"w": torch.arange(6.0).reshape(2, 3)}
    _write(tmp_path / "ok.pt", state)
    checkpoint = read_checkpoint(tmp_path / "ok.pt")
    assert torch.equal(checkpoint["state_dict"]["w"], state["w"])


def test_a_flipped_byte_in_the_weights_is_caught(tmp_path):
    path = tmp_path / "flipped.pt"
    _write(path, {"w": torch.arange(64.0)})
    _flip_a_byte_of(path, "data/0")
    with pytest.raises(ValueError, match=rf"checkpoint {path} is damaged \(.*CRC"):
        read_checkpoint(path)


def test_weights_that_do_not_match_their_stored_hash_are_caught(tmp_path):
    path = tmp_path / "edited.pt"
    torch.save({"config": {}, "state_dict": {"w": torch.ones(3)},
                "content_sha256": state_dict_sha256({"w": torch.zeros(3)})}, path)
    with pytest.raises(ValueError, match="do not match the hash stored with them"):
        read_checkpoint(path)


def test_content_hash_sees_names_dtypes_shapes_and_values():
    base = state_dict_sha256({"w": torch.zeros(4)})
    assert base == state_dict_sha256({"w": torch.zeros(4)})
    for other in ({"v": torch.zeros(4)}, {"w": torch.zeros(4, dtype=torch.float64)},
                  {"w": torch.zeros(2, 2)}, {"w": torch.tensor([0.0, 0.0, 0.0, 1e-9])}):
        assert state_dict_sha256(other) != base
    assert state_dict_sha256({"w": torch.zeros(3, dtype=torch.bfloat16)})  # any dtype


@pytest.mark.parametrize("content, message", [
    (b"not a zip", "not a torch.save archive"),
    ({"weights": 1}, "not a checkpoint of the course"),
    ({"config": "ViTConfig()", "state_dict": {}}, "'config' must be a dict"),
    ({"config": {}, "state_dict": {"w": 1}}, "'state_dict' must map names to tensors"),
])
def test_files_that_are_not_checkpoints(tmp_path, content, message):
    path = tmp_path / "odd.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(ValueError, match=message):
        read_checkpoint(path)


def test_missing_file_and_wrong_file_hash(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        read_checkpoint(tmp_path / "nothing.pt")
    _write(tmp_path / "ok.pt", {"w": torch.ones(2)})
    with pytest.raises(ValueError, match="corrupt or was replaced"):
        read_checkpoint(tmp_path / "ok.pt", sha256="0" * 64)


class _Code:
    """An object whose unpickling would call a function: what weights_only=True refuses."""

    def __reduce__(self):
        return (print, ("this ran",))


def test_a_file_refused_for_safety_is_not_called_damaged(tmp_path):
    path = tmp_path / "unsafe.pt"
    torch.save({"config": {}, "state_dict": {}, "extra": _Code()}, path)
    with pytest.raises(ValueError, match="was refused for safety: it holds Python objects") as e:
        read_checkpoint(path)
    assert "damaged" not in str(e.value)


def test_only_a_shipped_file_is_told_to_reinstall_the_package(tmp_path):
    path = tmp_path / "mine.pt"
    _write(path, {"w": torch.ones(2)})
    with pytest.raises(ValueError, match="corrupt or was replaced.*check that it is the file "
                                         "you meant") as mine:
        read_checkpoint(path, sha256="0" * 64)
    assert "reinstall" not in str(mine.value)
    with pytest.raises(ValueError, match="reinstall the package"):
        read_checkpoint(path, sha256="0" * 64, shipped=True)


def test_a_file_that_is_no_zip_is_not_a_checkpoint_and_a_cut_one_is_damaged(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text('{"epochs": 40}')
    with pytest.raises(ValueError, match="is not a checkpoint: not a torch.save archive") as e:
        read_checkpoint(path)
    assert "damaged" not in str(e.value)
    _write(path, {"w": torch.ones(64)})
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"is damaged \(a cut-off or broken torch.save"):
        read_checkpoint(path)
