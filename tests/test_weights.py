"""Loading real weights: never downloads under CI or without being asked."""

import pytest
import torch

from vit_tutorial import weights
from vit_tutorial.weights import WeightsUnavailable, torchvision_pretrained_state_dict


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    return tmp_path


def test_no_download_unless_asked(empty_cache, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(WeightsUnavailable, match="not in torch's cache, and download=False"):
        torchvision_pretrained_state_dict()


def test_never_downloads_under_ci(empty_cache, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url",
                        lambda *a, **k: pytest.fail("tried to download"))
    with pytest.raises(WeightsUnavailable, match="running under CI"):
        torchvision_pretrained_state_dict(download=True)


def test_offline_is_reported(empty_cache, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(weights, "_reachable", lambda host, timeout: False)
    with pytest.raises(WeightsUnavailable, match=r"no connection to download\.pytorch\.org"):
        torchvision_pretrained_state_dict(download=True)


def test_loads_from_the_cache(empty_cache):
    (empty_cache / "checkpoints").mkdir()
    torch.save({"encoder.pos_embedding": torch.ones(1, 197, 768)},
               empty_cache / "checkpoints" / "vit_b_16-c867db91.pth")
    state = torchvision_pretrained_state_dict()
    assert state["encoder.pos_embedding"].shape == (1, 197, 768)


def test_unknown_weights():
    with pytest.raises(ValueError, match="torchvision has no weights vit_b_16.IMAGENET9K"):
        torchvision_pretrained_state_dict(weights="IMAGENET9K")
