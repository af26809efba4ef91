"""Reading a checkpoint file, and knowing it is whole.

A checkpoint of the course is a ``torch.save`` file (a zip archive) holding
``{"config", "state_dict", "content_sha256", ...}``. :func:`read_checkpoint` checks it three
ways before anything uses it: the zip's own CRCs (a flipped byte in the tensor data,
which ``torch.load`` would read without a word), the SHA-256 of the weights stored inside
it by the code that wrote it (:func:`state_dict_sha256`), and, for a shipped file, the
SHA-256 of the whole file. A damaged file is a ``ValueError`` that names it; so is a file
that is not a checkpoint at all, and one ``torch.load(weights_only=True)`` refuses because
it holds Python objects besides tensors (which could run code when unpickled) — each said
as what it is.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import zipfile
from pathlib import Path

import torch

__all__ = ["state_dict_sha256", "read_checkpoint"]


def state_dict_sha256(state_dict: dict) -> str:
    """SHA-256 of a state dict's names, dtypes, shapes and values (in key order)."""
    digest = hashlib.sha256()
    for key in sorted(state_dict):
        tensor = state_dict[key].detach().cpu().contiguous()
        digest.update(f"{key}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _damaged(path: Path, why: str, retrain: str) -> ValueError:
    return ValueError(f"checkpoint {path} is damaged ({why}); {retrain}")


def read_checkpoint(path: str | Path, sha256: str | None = None,
                    retrain: str = "retrain it with `python -m vit_tutorial.train`", *,
                    shipped: bool = False) -> dict:
    """Load a checkpoint's dict after checking that the file is whole.

    Args:
        path: the file.
        sha256: the whole file's expected SHA-256 (for a shipped file), or ``None``.
        retrain: what to tell the reader to do when the file is damaged.
        shipped: is ``path`` a checkpoint shipped in the package? Only then does a wrong
            ``sha256`` mean "reinstall the package".

    Returns:
        The checkpoint's dict (tensors on the CPU), loaded with ``weights_only=True``.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is damaged or is not a checkpoint of the course.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}; {retrain}")
    data = path.read_bytes()
    if sha256 is not None and hashlib.sha256(data).hexdigest() != sha256:
        fix = ("reinstall the package (or pass sha256=None to load a checkpoint you trained "
               "yourself)" if shipped else "check that it is the file you meant, or pass "
               "sha256=None to load it without comparing hashes")
        raise ValueError(f"checkpoint {path} is corrupt or was replaced: its SHA-256 is not "
                         f"the expected {sha256[:12]}…; {fix}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            bad = archive.testzip()  # the CRC of every member
    except zipfile.BadZipFile:
        if not data.startswith(b"PK"):  # a zip archive starts with "PK"; a cut-off one too
            raise ValueError(f"{path} is not a checkpoint: not a torch.save archive (a zip "
                             f"file); pass a file that `python -m vit_tutorial.train` "
                             f"wrote") from None
        raise _damaged(path, "a cut-off or broken torch.save archive", retrain) from None
    if bad is not None:
        raise _damaged(path, f"{bad} fails its CRC check", retrain)
    try:
        checkpoint = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "weights only" not in str(error).lower():  # a broken pickle, not a refused one
            raise _damaged(path, "its pickle is broken", retrain) from error
        raise ValueError(f"checkpoint {path} was refused for safety: it holds Python objects "
                         f"besides tensors and plain values, which torch.load(weights_only="
                         f"True) will not unpickle because that could run code; a checkpoint "
                         f"of the course holds none — load only files you trust, or "
                         f"{retrain}") from error
    except Exception as error:  # torch raises several types for a damaged file
        raise _damaged(path, f"torch.load failed: {type(error).__name__}", retrain) from error
    _check_layout(path, checkpoint)
    stored = checkpoint.get("content_sha256")
    if stored is not None and stored != state_dict_sha256(checkpoint["state_dict"]):
        raise _damaged(path, "its weights do not match the hash stored with them", retrain)
    return checkpoint


def _check_layout(path: Path, checkpoint: object) -> None:
    if not isinstance(checkpoint, dict) or not {"config", "state_dict"} <= checkpoint.keys():
        raise ValueError(f"{path} is not a checkpoint of the course: expected a dict with "
                         f"'config' and 'state_dict', as `python -m vit_tutorial.train` writes")
    if not isinstance(checkpoint["config"], dict):
        raise ValueError(f"{path}: 'config' must be a dict of ViTConfig fields, got "
                         f"{type(checkpoint['config']).__name__}")
    state = checkpoint["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path}: 'state_dict' must map names to tensors")
