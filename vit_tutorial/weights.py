"""Real weights: the pretrained ViT-B/16 that torchvision publishes, loaded only when allowed.

The course runs offline, and its tests and CI never download anything. A lesson that can
show a pretrained model therefore asks for the weights explicitly (``download=True``, which
the lessons set on Colab), and otherwise uses them only if they are already in torch's
cache; when they can't be had it raises :class:`WeightsUnavailable`, whose message says
why, and the lesson falls back to what it can show offline.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import torch

__all__ = ["WeightsUnavailable", "torchvision_pretrained_state_dict"]


class WeightsUnavailable(RuntimeError):
    """Pretrained weights can't be had here (offline, under CI, or not asked to download)."""


def _reachable(host: str, timeout: float) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def torchvision_pretrained_state_dict(name: str = "vit_b_16", weights: str = "IMAGENET1K_V1",
                                      download: bool = False, timeout: float = 5.0) -> dict:
    """The state dict of one of torchvision's pretrained ViTs.

    Args:
        name: the torchvision builder, e.g. ``"vit_b_16"``.
        weights: the weights' name in its enum, e.g. ``"IMAGENET1K_V1"``.
        download: fetch the file (330 MB for ViT-B/16) if it is not in torch's cache.
            Never under CI (``CI=true``).
        timeout: seconds to wait for the download server to answer.

    Raises:
        WeightsUnavailable: with the reason, when the weights can't be loaded here.
    """
    from torchvision.models import get_model_weights

    try:
        entry = get_model_weights(name)[weights]
    except (ValueError, KeyError) as error:
        raise ValueError(f"torchvision has no weights {name}.{weights}; try "
                         f"name='vit_b_16', weights='IMAGENET1K_V1'") from error
    url = entry.url
    cached = Path(torch.hub.get_dir()) / "checkpoints" / Path(urlparse(url).path).name
    if cached.is_file():
        return torch.load(cached, map_location="cpu", weights_only=True)
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        raise WeightsUnavailable("running under CI, where nothing is downloaded")
    if not download:
        raise WeightsUnavailable("not in torch's cache, and download=False")
    if not _reachable(urlparse(url).hostname, timeout):
        raise WeightsUnavailable(f"no connection to {urlparse(url).hostname} (offline?)")
    return torch.hub.load_state_dict_from_url(url, map_location="cpu", progress=False,
                                              check_hash=True, weights_only=True)
