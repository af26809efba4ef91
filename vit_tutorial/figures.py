"""Small drawing helpers shared by the lessons' figures and the explorers.

One palette and one set of markers for curves, one way to draw a patch grid, to label a
patch so the label reads on any photo, to pick a few round ticks, and to render a figure to
PNG without ``pyplot``.
"""

from __future__ import annotations

import io

import numpy as np
import torch

from vit_tutorial.checks import check_tensor

__all__ = ["OKABE_ITO", "MARKERS", "to_hwc", "draw_patch_grid", "label_patch", "few_ticks",
           "new_figure", "figure_pixels", "encode_png", "render_png"]

#: Okabe & Ito's colour-blind-safe palette (black left out), one colour per curve.
OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
#: Marker shapes, one per curve, so that curves differ in shape as well as in colour.
MARKERS = ("o", "s", "^", "D", "v", "P", "X")


def to_hwc(image: torch.Tensor) -> np.ndarray:
    """``(C, H, W)`` tensor in [0, 1] or uint8 -> ``(H, W, C)`` float NumPy array for imshow
    (``(H, W)`` for one channel)."""
    check_tensor(image, "image")
    if image.ndim != 3:
        raise ValueError(f"image must have shape (C, H, W), got {tuple(image.shape)}; pick "
                         f"one image from a batch with images[0]")
    if not image.is_floating_point():
        image = image.float() / 255
    image = image.detach().cpu().float().clamp(0, 1)
    return image.permute(1, 2, 0).squeeze(-1).numpy()  # (C, H, W) -> (H, W, C)


def draw_patch_grid(ax, grid: tuple[int, int], patch: tuple[int, int],
                    colour: str = "white", linewidth: float | None = None) -> None:
    """Lines between the patches of a ``grid = (rows, cols)`` of ``patch = (P_h, P_w)``
    pixels, drawn on an image shown with ``imshow`` (pixel centres at integers).

    One artist for all the lines, so it stays fast even for a grid of 1-pixel patches.
    """
    from matplotlib.collections import LineCollection

    rows, cols = grid
    ph, pw = patch
    height, width = rows * ph, cols * pw
    segments = [[(-0.5, r * ph - 0.5), (width - 0.5, r * ph - 0.5)] for r in range(1, rows)]
    segments += [[(c * pw - 0.5, -0.5), (c * pw - 0.5, height - 0.5)] for c in range(1, cols)]
    if linewidth is None:
        linewidth = 0.8 if max(rows, cols) <= 64 else 0.3
    ax.add_collection(LineCollection(segments, colors=colour, linewidths=linewidth))


def label_patch(ax, x: float, y: float, text: str, fontsize: float = 8,
                colour: str = "white") -> None:
    """Write ``text`` with its top-left corner at pixel ``(x, y)``, on a dark translucent box
    so that it reads on bright and dark parts of a photo alike."""
    ax.text(x, y, text, color=colour, fontsize=fontsize, va="top", ha="left",
            bbox=dict(facecolor="black", alpha=0.7, pad=0.8, linewidth=0))


def few_ticks(last: int) -> list[int]:
    """About four round tick positions from 0 to ``last``."""
    from matplotlib.ticker import MaxNLocator

    values = MaxNLocator(nbins=4, integer=True, steps=[1, 2, 2.5, 5, 10]).tick_values(0, last)
    return [int(v) for v in values if 0 <= v <= last]


def new_figure(width: float, height: float, dpi: float = 80):
    """A ``matplotlib.figure.Figure`` with an Agg canvas, never registered with ``pyplot``.

    A figure made in a widget callback with ``pyplot`` would stay registered and pop up under
    the next cell the reader runs; one made here never shows unless asked.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def figure_pixels(fig) -> np.ndarray:
    """Draw ``fig`` with Agg and return its pixels, ``(height, width, 3)`` uint8."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def encode_png(pixels: np.ndarray, compress_level: int = 1) -> bytes:
    """``(height, width, 3)`` uint8 pixels as PNG bytes (no timestamp: same pixels, same
    bytes). Level 1 encodes several times faster than the default 6, for a redraw."""
    from PIL import Image  # Pillow comes with matplotlib

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="png", compress_level=compress_level)
    return buffer.getvalue()


def render_png(fig, compress_level: int = 1) -> bytes:
    """A matplotlib ``Figure`` rendered with Agg, as PNG bytes."""
    return encode_png(figure_pixels(fig), compress_level)
