"""The training command: deterministic, atomic, never overwrites without --force."""

from dataclasses import replace

import pytest
import torch

from vit_tutorial import train as train_module
from vit_tutorial.model import TINY_VIT_CONFIG, load_tiny_vit
from vit_tutorial.train import TrainConfig, _shift, save_checkpoint, train

QUICK = TrainConfig(epochs=4, warmup_epochs=0, lr=3e-3)
SMALL = replace(TINY_VIT_CONFIG, depth=1, embed_dim=16, num_heads=2, mlp_dim=32)


def test_training_is_deterministic_and_learns():
    model_a, metrics_a = train(SMALL, QUICK, progress=False)
    model_b, metrics_b = train(SMALL, QUICK, progress=False)
    for (name, a), b in zip(model_a.state_dict().items(), model_b.state_dict().values()):
        assert torch.equal(a, b), name
    assert metrics_a["test_accuracy"] == metrics_b["test_accuracy"] > 0.3  # well above chance (0.1)


def test_shift_moves_whole_images():
    image = torch.zeros(1, 1, 6, 6)
    image[0, 0, 2, 3] = 1
    shifted = _shift(image.repeat(50, 1, 1, 1), 2, torch.Generator().manual_seed(0))
    assert shifted.shape == (50, 1, 6, 6)
    assert torch.all(shifted.sum(dim=(1, 2, 3)) == 1)  # a pixel 2 from the edge never leaves
    assert len({tuple(torch.nonzero(s[0])[0].tolist()) for s in shifted}) > 5


def test_save_is_atomic_and_refuses_to_overwrite(tmp_path):
    model, metrics = train(SMALL, QUICK, progress=False)
    path = tmp_path / "tiny.pt"
    save_checkpoint(model, metrics, QUICK, path)
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.pt"]  # no temporary file left
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="exists; pass --force"):
        save_checkpoint(model, metrics, QUICK, path)
    assert path.read_bytes() == before
    save_checkpoint(model, metrics, QUICK, path, force=True)
    loaded = load_tiny_vit(path, config=SMALL)
    assert torch.equal(loaded.head.weight, model.head.weight)


def test_command_refuses_existing_file(tmp_path, capsys):
    path = tmp_path / "tiny.pt"
    path.write_bytes(b"mine")
    assert train_module.main(["--output", str(path), "--epochs", "1"]) == 1
    assert "exists; pass --force" in capsys.readouterr().err
    assert path.read_bytes() == b"mine"
