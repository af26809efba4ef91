"""What the lessons' explorers share: the picture that is kept and updated between redraws,
the cached photo and model, the static picture shown where widgets can't run, and the checks
on their settings.

Explorer pictures are drawn on ``matplotlib.figure.Figure`` objects made by
:func:`vit_tutorial.figures.new_figure` (never ``pyplot``) and rendered to PNG bytes, so
that what a widget shows, what the tests check and what a static preview stores are the
same pixels. A redraw must feel instant (under 150 ms on a 2-core laptop), so an explorer's
figure is a :class:`Picture`: built once, then updated in place, and rendered in two layers.
"""

from __future__ import annotations

import collections
import functools
import io
import numbers

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

from vit_tutorial.data import grace_hopper
from vit_tutorial.figures import encode_png, figure_pixels, new_figure
from vit_tutorial.model import load_tiny_vit

__all__ = ["DPI", "STATIC_CAPTION", "explorer_figure", "pin_axis_labels", "Picture",
           "compose_png", "photo", "tiny_vit", "check_in_range"]

DPI = 80  # pixels per inch of every explorer picture: sharp enough, small enough to redraw fast
STATIC_CAPTION = ("A static picture of this explorer: run the notebook (in JupyterLab or "
                  "Colab) to move its controls.")


def explorer_figure(width: float, height: float):
    """A figure for an explorer picture (Agg, outside pyplot, at :data:`DPI`), drawn by a
    renderer that keeps every text it has drawn as pixels (see :class:`_TextKeepingRenderer`)."""
    fig = new_figure(width, height, dpi=DPI)
    _TextKeepingCanvas(fig)
    return fig


class _TextKeepingRenderer(RendererAgg):
    """Agg, drawing each text once: the pixels of every text it has drawn (per string, font,
    angle and colour) are kept and pasted wherever that text is drawn again.

    Text is most of a redraw's time (shaping, then rendering each glyph), and an explorer
    draws the same tick labels, axis labels and titles again and again. A text is drawn at
    whole-pixel positions (at most half a pixel from where Agg would put its glyphs); the
    first draw and every later one are the same pixels, so a redraw equals a fresh picture.
    """

    _kept: collections.OrderedDict = collections.OrderedDict()  # shared: texts repeat
    KEEP = 4096  # texts kept (a few kilobytes each), the least recently used go first

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        key = (s, hash(prop), angle, str(ismath), gc.get_rgb(), gc.get_alpha(),
               gc.get_antialiased(), self.dpi)
        if key not in self._kept:
            self._kept[key] = self._text_pixels(gc, s, prop, angle, ismath, mtext)
            if len(self._kept) > self.KEEP:
                self._kept.popitem(last=False)
        self._kept.move_to_end(key)
        pixels, dx, dy = self._kept[key]
        if pixels is not None:  # y counts from the top here, from the bottom in draw_image
            self.draw_image(gc, round(x + dx), round(self.height - y + dy), pixels[::-1])

    def _text_pixels(self, gc, s, prop, angle, ismath, mtext):
        """``(RGBA pixels, dx, dy)`` of one text drawn alone on a transparent canvas just
        large enough, and the offset of the pixels' bottom-left corner from its anchor."""
        w, h, d = self.get_text_width_height_descent(s, prop, ismath)
        # The text's box around its anchor (x right, y up), turned by the angle.
        turn = np.deg2rad(angle)
        corners = np.array([[0, -d], [w, -d], [w, h - d], [0, h - d]])  # (4, 2)
        turned = corners @ np.array([[np.cos(turn), np.sin(turn)],
                                     [-np.sin(turn), np.cos(turn)]])  # (4, 2)
        left, bottom = turned.min(axis=0) - 4  # 4 pixels to spare on every side
        right, top = turned.max(axis=0) + 4
        width, height = int(np.ceil(right - left)), int(np.ceil(top - bottom))
        alone = RendererAgg(width, height, self.dpi)
        text_gc = alone.new_gc()
        text_gc.copy_properties(gc)
        text_gc.set_clip_rectangle(None)
        text_gc.set_clip_path(None)
        x, y = round(-left), round(top)  # the anchor: from the left, and (for Agg) from the top
        RendererAgg.draw_text(alone, text_gc, x, y, s, prop, angle, ismath, mtext)
        text_gc.restore()
        pixels = np.asarray(alone.buffer_rgba())  # (height, width, 4), top row first
        rows, columns = np.nonzero(pixels[..., 3])
        if not len(rows):
            return None, 0, 0
        first, last = rows.min(), rows.max() + 1
        start, end = columns.min(), columns.max() + 1
        return pixels[first:last, start:end].copy(), start - x, y - last


class _TextKeepingCanvas(FigureCanvasAgg):
    """An Agg canvas whose renderer is a :class:`_TextKeepingRenderer`."""

    def get_renderer(self):
        renderer = super().get_renderer()
        if not isinstance(renderer, _TextKeepingRenderer):
            self.renderer = _TextKeepingRenderer(int(renderer.width), int(renderer.height),
                                                 renderer.dpi)
        return self.renderer


def pin_axis_labels(ax, widest_tick_label: str, fontsize: float, y_side: str = "left") -> None:
    """Put ``ax``'s axis labels where matplotlib would for tick labels of ``fontsize`` points
    no wider than ``widest_tick_label``, at fixed distances from the axes' edges.

    matplotlib finds those places by laying out every tick label again on every draw, a
    third of the drawing time of an axes whose ticks change with a slider; here the one
    text that matters is measured once per call.

    Args:
        ax: the ``Axes``, its x label below it, its y label at ``y_side``.
        widest_tick_label: the widest y tick label the axes will show, e.g. ``"10"``.
        fontsize: the tick labels' size in points.
        y_side: ``"left"`` or ``"right"`` (where the y label and tick labels are).
    """
    from matplotlib import rcParams
    from matplotlib.text import Text
    from matplotlib.transforms import ScaledTranslation

    fig = ax.get_figure()
    renderer = fig.canvas.get_renderer()
    sample = Text(0, 0, widest_tick_label, fontsize=fontsize)
    sample.set_figure(fig)
    size = sample.get_window_extent(renderer)  # pixels
    inch = fig.dpi
    below = (rcParams["xtick.major.size"] + rcParams["xtick.major.pad"]
             + ax.xaxis.labelpad) / 72 + size.height / inch
    beside = (rcParams["ytick.major.size"] + rcParams["ytick.major.pad"]
              + ax.yaxis.labelpad) / 72 + size.width / inch
    ax.xaxis.set_label_coords(0.5, 0, transform=ax.transAxes + ScaledTranslation(
        0, -below, fig.dpi_scale_trans))
    x, sign = (0, -1) if y_side == "left" else (1, 1)
    ax.yaxis.set_label_coords(x, 0.5, transform=ax.transAxes + ScaledTranslation(
        sign * beside, 0, fig.dpi_scale_trans))


class Picture:
    """An explorer's figure, built once and updated in place for each new setting.

    A subclass makes its figure's artists in ``__init__`` and changes them in ``update``
    (``set_data``, ``set_text``, ``set_visible``, ...): no figure, axes or tick is made again
    for a slider move. It lists the artists an update may change in :attr:`layers`, in
    drawing order; everything else is the *background*. :meth:`pixels` keeps the rendered
    background as pixels and draws only the layers over it (matplotlib's blitting), which is
    where the speed comes from: text and axes are most of a figure's drawing time.

    With more than one layer, each layer but the top one is kept as pixels too, for as long
    as its key (:meth:`layer_keys`) stays the same: the interpolation explorer's new grid
    redraws the resized row, but a new position only its similarity maps.

    A full draw of :attr:`fig` (``render_png(picture.fig)``) gives the same pixels provided
    each layer lies above the artists of the layers below it where they overlap; the
    explorers' tests check that, and that an updated picture equals a freshly made one.

    Attributes:
        fig: the ``Figure`` (Agg, outside pyplot).
        layers: lists of the artists that change, bottom layer first (hidden ones are
            skipped; an Axes is drawn whole).
    """

    def __init__(self, width: float, height: float):
        self.fig = explorer_figure(width, height)
        self.layers: list[list] = [[]]
        self._kept: list = []  # the background, then the background and each layer, as pixels
        self._kept_for: tuple = ()

    def layer_keys(self) -> tuple:
        """What the background and each layer but the top one depend on (e.g. the image
        size); a new key redraws that layer and those above it. One item per layer."""
        return (None,) * len(self.layers)

    def pixels(self) -> np.ndarray:
        """The picture as ``(height, width, 3)`` uint8 pixels."""
        canvas = self.fig.canvas
        keys = tuple(self.layer_keys())
        kept = 0  # how many of the kept images are still right
        while (kept < len(keys) and kept < len(self._kept)
               and keys[:kept + 1] == self._kept_for[:kept + 1]):
            kept += 1
        changing = [artist for layer in self.layers for artist in layer]
        shown = [artist.get_visible() for artist in changing]
        visible = dict(zip(map(id, changing), shown))
        try:
            for artist in changing:
                artist.set_visible(False)  # each layer shows only once it is drawn
            if kept == 0:
                canvas.draw()  # the background: everything but the layers
                self._kept = [canvas.copy_from_bbox(self.fig.bbox)]
                kept = 1
            else:
                canvas.restore_region(self._kept[kept - 1])
            del self._kept[kept:]
            renderer = canvas.get_renderer()
            for level in range(kept - 1, len(self.layers)):
                for artist in self.layers[level]:
                    artist.set_visible(visible[id(artist)])
                    artist.draw(renderer)  # an artist draws nothing while hidden
                if level + 1 < len(self.layers):
                    self._kept.append(canvas.copy_from_bbox(self.fig.bbox))
        finally:
            for artist, was_shown in zip(changing, shown):
                artist.set_visible(was_shown)
        self._kept_for = keys
        return np.asarray(canvas.buffer_rgba())[..., :3].copy()

    def png(self) -> bytes:
        """The picture as PNG bytes (what a widget shows)."""
        return encode_png(self.pixels())


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


def check_in_range(value: object, name: str, low: int, high: int, where: str = "") -> int:
    """``value`` as an int if it is a whole number in ``low … high`` (NumPy's integers
    too); else a ``ValueError`` (``TypeError`` for a non-number) that gives the range — an
    explorer never clamps, and a huge size is refused before anything is allocated."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        fix = (f"; pass one int, not a {type(value).__name__}"
               if isinstance(value, (tuple, list, set, dict, np.ndarray)) else "")
        raise TypeError(f"{name} must be an int from {low} to {high}{where}, got {value!r} of "
                        f"type {type(value).__name__}{fix}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be from {low} to {high}{where}, got {value}")
    return int(value)
