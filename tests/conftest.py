"""Fixtures shared by the unit tests (the root ``conftest.py`` sets up the whole session)."""

from __future__ import annotations

import pytest
import torch


def _pretend_pretrained(monkeypatch, load) -> None:
    """Make the similarity explorer's "pretrained" source call ``load`` instead of reading
    torchvision's ViT-B/16 weights, with its caches empty before and after."""
    from vit_tutorial.explorers import similarity

    monkeypatch.setattr(similarity, "torchvision_pretrained_state_dict", load)
    similarity.clear_caches()


@pytest.fixture
def fake_pretrained(monkeypatch):
    """The similarity explorer's "pretrained" source without the 330 MB download: ViT-B/16's
    E_pos is a seeded random ``(1, 197, 768)`` table (class token + 14×14 grid), yielded."""
    from vit_tutorial.explorers import similarity

    pos_embed = torch.randn(1, 197, 768, generator=torch.Generator().manual_seed(0))

    def load(name, download=False):
        assert name == "vit_b_16", name
        return {"encoder.pos_embedding": pos_embed}

    _pretend_pretrained(monkeypatch, load)
    yield pos_embed
    similarity.clear_caches()  # no picture of the fake outlives the test


@pytest.fixture
def pretrained_unavailable(monkeypatch):
    """The similarity explorer's "pretrained" source as on a machine without the weights
    (offline, nothing in torch's cache)."""
    from vit_tutorial import weights
    from vit_tutorial.explorers import similarity

    def load(name, download=False):
        raise weights.WeightsUnavailable("no connection to download.pytorch.org (offline?)")

    _pretend_pretrained(monkeypatch, load)
    yield
    similarity.clear_caches()
