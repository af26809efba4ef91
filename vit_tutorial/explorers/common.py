"""What the lessons' explorers share: the picture size, the cached photo and model, the
static picture shown where widgets can't run, and the checks on their settings.

Explorer pictures are drawn on ``matplotlib.figure.Figure`` objects made by
:func:`vit_tutorial.figures.new_figure` (never ``pyplot``) and rendered to PNG bytes, so
that what a widget shows, what the tests check and what a static preview stores are the
same pixels.
"""

from __future__ import annotations

import functools
import io
import numbers

import numpy as np
import torch

from vit_tutorial.data import grace_hopper
from vit_tutorial.figures import encode_png, figure_pixels, new_figure
from vit_tutorial.model import load_tiny_vit

__all__ = ["DPI", "STATIC_CAPTION", "explorer_figure", "compose_png", "photo", "tiny_vit",
           "check_choice", "check_in_range"]

DPI = 80  # pixels per inch of every explorer picture: sharp enough, small enough to redraw fast
STATIC_CAPTION = ("A static picture of this explorer: run the notebook (in JupyterLab or "
                  "Colab) to move its controls.")


def explorer_figure(width: float, height: float):
    """A figure for an explorer picture (Agg, outside pyplot, at :data:`DPI`)."""
    return new_figure(width, height, dpi=DPI)


def _stack(images: list[np.ndarray], axis: int) -> np.ndarray:
    """Put pixel arrays side by side (axis 1) or one above the other (axis 0), padding white."""
    other = 1 - axis
    size = max(im.shape[other] for im in images)
    padded = []
    for im in images:
        missing = size - im.shape[other]
        pad = [(0, 0), (0, 0), (0, 0)]
        pad[other] = (missing // 2, missing - missing // 2)
        padded.append(np.pad(im, pad, constant_values=255))
    return np.concatenate(padded, axis=axis)


def _caption(text: str, width_px: int) -> np.ndarray:
    """A white strip ``width_px`` wide with ``text`` in it, as pixels."""
    fig = explorer_figure(width_px / DPI, 0.42)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, color="0.25",
             style="italic", wrap=True)
    return figure_pixels(fig)


def compose_png(pngs: list[bytes], caption: str | None = STATIC_CAPTION) -> bytes:
    """Several explorer pictures side by side, with a caption under them, as one PNG.

    Args:
        pngs: PNG files' bytes, e.g. the similarity explorer's map and grid.
        caption: a line under them (default: how to get the interactive version); ``None``
            for none.

    Returns:
        One PNG (zlib level 6: it is stored in the notebook, not redrawn).
    """
    from PIL import Image

    pixels = [np.asarray(Image.open(io.BytesIO(p)).convert("RGB")) for p in pngs]
    picture = _stack(pixels, axis=1) if len(pixels) > 1 else pixels[0]
    if caption:
        picture = _stack([picture, _caption(caption, picture.shape[1])], axis=0)
    return encode_png(picture, compress_level=6)


@functools.lru_cache(maxsize=16)
def photo(image_size: int) -> torch.Tensor:
    """matplotlib's photo of Grace Hopper at ``image_size`` (cached: resizing costs ~20 ms)."""
    return grace_hopper(image_size)


@functools.lru_cache(maxsize=1)
def tiny_vit():
    """The shipped, trained TinyViT (loaded once)."""
    return load_tiny_vit()


def check_choice(value: object, name: str, choices) -> str:
    """``value`` if it is one of ``choices``; else a ``ValueError`` that lists them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got "
                         f"{value!r}")
    return value


def check_in_range(value: object, name: str, low: int, high: int, where: str = "") -> int:
    """``value`` as an int if it is a whole number in ``low … high``; else a ``ValueError``
    (``TypeError`` for a non-number) that gives the range — an explorer never clamps."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int from {low} to {high}{where}, got {value!r} of "
                        f"type {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}{where}, got {value}")
    return int(value)
