r"""Lesson 01's explorer: move the patch size over the photo and watch the grid, $N$ and
the shape of $x_p$ (``notebooks/01_patches.ipynb``).

:func:`patch_summary` and :func:`draw_patch_explorer` are the pure, tested functions;
:func:`patch_explorer` wires two sliders to them.
"""

from __future__ import annotations

import functools
import math
import textwrap
from dataclasses import dataclass

import numpy as np
import torch.nn.functional as F
from matplotlib import rcParams
from matplotlib.artist import Artist

from vit_tutorial.checks import check_positive_int
from vit_tutorial.explorers.base import Explorer, picture, slider
from vit_tutorial.explorers.common import (
    Picture,
    check_in_range,
    explorer_figure,
    photo,
    pin_axis_labels,
)
from vit_tutorial.figures import few_ticks, label_patch
from vit_tutorial.patches import image_to_patches, num_patches

__all__ = ["PatchSummary", "patch_summary", "PatchPicture", "draw_patch_explorer",
           "patch_explorer_png", "PatchExplorer", "patch_explorer", "IMAGE_SIZES",
           "PATCH_SIZES"]

IMAGE_SIZES = (32, 448)  # the image-size slider's range, H = W in pixels
PATCH_SIZES = (1, 64)  # the patch-size slider's range
_MAX_NUMBERED = 64  # up to this many patches, every patch gets its number


@dataclass(frozen=True)
class PatchSummary:
    r"""What cutting an ``H × W × C`` image into ``P × P`` patches gives (Sec. 3.1).

    Attributes:
        image_size: $H$ = $W$.
        patch_size: $P$.
        channels: $C$.
        grid: ``(H/P, W/P)``, or ``None`` if $P$ does not divide the image.
        num_patches: $N = HW/P^2$, or ``None``.
        patch_dim: $P^2 \cdot C$, the length of one patch vector.
        error: the package's ``ValueError`` message when $P$ does not divide the image
            (how to fix it included), else ``None``.
    """

    image_size: int
    patch_size: int
    channels: int
    grid: tuple[int, int] | None
    num_patches: int | None
    patch_dim: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def sequence_shape(self) -> tuple[int, int] | None:
        r"""``(N, P²·C)``, the shape of $x_p$; ``None`` if the size doesn't divide."""
        return None if self.num_patches is None else (self.num_patches, self.patch_dim)

    @property
    def text(self) -> str:
        """One line for a readout, e.g. ``224×224×3 image, P = 16: 14×14 grid, N = 196 …``."""
        S, P, C = self.image_size, self.patch_size, self.channels
        head = f"{S}×{S}×{C} image, P = {P}"
        if not self.ok:
            return f"{head}: {self.error}"
        gh, gw = self.grid
        N = self.num_patches
        return (f"{head}: {gh}×{gw} grid, N = {S}·{S}/{P}² = {N} patches; "
                f"x_p: ({N}, {self.patch_dim}) = (N, P²·C); "
                f"attention compares N² = {N * N:,} pairs")


def patch_summary(image_size: int, patch_size: int, channels: int = 3) -> PatchSummary:
    r"""$N$, the grid and the shape of $x_p$ for a square image, or why there are none.

    Args:
        image_size: $H$ = $W$ in pixels.
        patch_size: $P$.
        channels: $C$ (3 for the photo).

    Returns:
        A :class:`PatchSummary`; when $P$ does not divide $H$ its ``error`` holds the message
        :func:`vit_tutorial.patches.num_patches` raises, and ``grid``/``num_patches`` are None.

    Example:
        >>> patch_summary(224, 16).sequence_shape
        (196, 768)
        >>> patch_summary(224, 15).error.split(";")[0]
        'image height 224 is not divisible by patch_size 15'
    """
    S = check_positive_int(image_size, "image_size")
    P = check_positive_int(patch_size, "patch_size")
    C = check_positive_int(channels, "channels")
    try:
        N = num_patches(S, P)
    except ValueError as error:
        return PatchSummary(S, P, C, None, None, P * P * C, str(error))
    return PatchSummary(S, P, C, (S // P, S // P), N, P * P * C, None)


class PatchPicture(Picture):
    r"""The patch explorer's picture, kept between redraws (see :class:`Picture`).

    Left: the photo with its patch grid, patch numbers (one text per shown number) and the
    leftover strip; right: $x_p$ and its colour bar, or the error message. Only the photo
    and its axes depend on the image size (the background); a new $P$ redraws the grid,
    the numbers, the titles and the right-hand axes over it.
    """

    def __init__(self):
        from matplotlib.collections import LineCollection
        from matplotlib.patches import Rectangle

        super().__init__(9.6, 4.4)
        self.summary: PatchSummary | None = None
        ax = self.fig.add_axes((0.07, 0.12, 0.38, 0.76))
        self.photo = ax.imshow(np.zeros((2, 2, 3)), interpolation="antialiased")  # (H, W, C)
        ax.set_xlabel("width (pixels)")
        ax.set_ylabel("height (pixels)")
        self.grid = ax.add_collection(LineCollection([], colors="white"))
        self.leftover = [ax.add_patch(Rectangle((0, 0), 1, 1, facecolor="tab:red", alpha=0.35,
                                                edgecolor="tab:red", hatch="//", linewidth=1))
                         for _ in range(2)]  # the strip on the right, the strip at the bottom
        self.numbers = ax.add_artist(_Numbers())
        self.numbers.draw_pictures([(str(n), 8) for n in range(_MAX_NUMBERED)])  # grids ≤ 8×8
        self.ax = ax

        seq = self.fig.add_axes((0.56, 0.12, 0.33, 0.76))
        self.sequence = seq.imshow(np.zeros((2, 2)), cmap="gray", vmin=0, vmax=1,
                                   aspect="auto", interpolation="antialiased")
        self.separators = [seq.axvline(0, color="tab:orange", linewidth=1) for _ in (1, 2)]
        self.message = seq.text(0.0, 0.6, "", transform=seq.transAxes, fontsize=10,
                                color="tab:red", va="center", ha="left")
        self.colour_bar_axes = self.fig.add_axes((0.905, 0.12, 0.015, 0.76))
        self.fig.colorbar(self.sequence, cax=self.colour_bar_axes, label="pixel value",
                          ticks=[0, 0.5, 1])
        self.seq_ax = seq
        # The colour bar (not shown with the error message), then what a new P changes, in
        # the order a full draw would draw it (by zorder): strips, grid lines, the axes'
        # frame, numbers, title; then the right-hand axes, whole.
        self.layers = [[self.colour_bar_axes],
                       [*self.leftover, self.grid, *ax.spines.values(), self.numbers,
                        ax.title, seq]]

    def layer_keys(self) -> tuple:
        # The photo and its axes (the background) change with the image size alone.
        return (self.summary.image_size, self.summary.ok)

    def update(self, image_size: int = 224, patch_size: int = 16) -> PatchPicture:
        """Show the photo at ``image_size``² cut into ``patch_size``² patches.

        Raises:
            ValueError: a size outside :data:`IMAGE_SIZES` / :data:`PATCH_SIZES` (checked
                before anything is drawn or allocated).
        """
        S = check_in_range(image_size, "image_size", *IMAGE_SIZES)
        P = check_in_range(patch_size, "patch_size", *PATCH_SIZES)
        summary = patch_summary(S, P)
        image = photo(S)  # (C, H, W)
        if self.summary is None or self.summary.image_size != S:
            self.photo.set_data(image.permute(1, 2, 0).numpy())  # (C, H, W) -> (H, W, C)
            self.photo.set_extent((-0.5, S - 0.5, S - 0.5, -0.5))
            self.ax.set_xlim(-0.5, S - 0.5)
            self.ax.set_ylim(S - 0.5, -0.5)
            ticks = few_ticks(S)  # few tick labels: text is most of the drawing time
            self.ax.set_xticks(ticks)
            self.ax.set_yticks(ticks)
        self.summary = summary
        self._update_photo(summary)
        self._update_sequence(image, summary)
        return self

    def _update_photo(self, summary: PatchSummary) -> None:
        """The grid of whole patches, the patch numbers or the leftover strip, the title."""
        S, P = summary.image_size, summary.patch_size
        whole = S // P  # whole patches per side
        edge = whole * P - 0.5  # where the whole patches end
        lines = [[(-0.5, r * P - 0.5), (edge, r * P - 0.5)] for r in range(1, whole)]
        lines += [[(c * P - 0.5, -0.5), (c * P - 0.5, edge)] for c in range(1, whole)]
        self.grid.set_segments(lines)  # as draw_patch_grid draws them, in one artist
        self.grid.set_linewidth(0.8 if whole <= 64 else 0.3)
        numbered = []
        if summary.ok:
            N = summary.num_patches
            numbered = range(N) if N <= _MAX_NUMBERED else sorted(
                {0, 1, whole - 1, whole, 2 * whole - 1, N - 1} & set(range(N)))
            self.ax.set_title(f"{S}×{S} photo, P = {P}: {whole}×{whole} = {N} patches",
                              fontsize=10, color="black", y=1.0)
        else:
            left = S - whole * P  # leftover pixels on the right and at the bottom
            self.leftover[0].set_bounds(edge, -0.5, left, S)
            self.leftover[1].set_bounds(-0.5, edge, S, left)
            self.ax.set_title(f"{S} = {whole}·{P} + {left}: {left} pixel(s) left over",
                              fontsize=10, color="tab:red", y=1.0)
        for strip in self.leftover:
            strip.set_visible(not summary.ok)
        self.numbers.items = [(c * P + 0.04 * P, r * P + 0.04 * P, str(n),
                               8 if whole <= 8 else 7)
                              for n in numbered for r, c in [divmod(n, whole)]]

    def _update_sequence(self, image, summary: PatchSummary) -> None:
        """Right: x_p as an N × (P²·C) matrix of pixel values, or the error message."""
        seq, P = self.seq_ax, summary.patch_size
        for artist in (self.colour_bar_axes, self.sequence, *self.separators):
            artist.set_visible(summary.ok)
        self.message.set_visible(not summary.ok)
        if not summary.ok:
            seq.set_axis_off()
            seq.set_title("")
            self.message.set_text(f"No x_p: image_to_patches would raise\n\nValueError: "
                                  f"{_wrap(summary.error, 42)}")
            return
        seq.set_axis_on()
        x_p = image_to_patches(image, P)  # (C, H, W) -> (N, C·P·P)
        N, K = x_p.shape
        # At most the pixels the axes have (267 × 253), each the mean of the values it
        # covers, as antialiasing would show them, without resampling up to 200,000 rows
        # at every redraw.
        shown = F.adaptive_avg_pool2d(x_p[None, None], (min(N, 268), min(K, 254)))[0, 0]
        self.sequence.set_data(shown.numpy())
        self.sequence.set_extent((-0.5, K - 0.5, N - 0.5, -0.5))
        seq.set_xlim(-0.5, K - 0.5)
        seq.set_ylim(N - 0.5, -0.5)
        length = P * P
        seq.set_xticks([length * c + length / 2 - 0.5 for c in range(3)], ["R", "G", "B"])
        for c, line in enumerate(self.separators, start=1):
            line.set_xdata([length * c - 0.5] * 2)
        seq.set_xlabel(f"value in the patch vector: C·P·P = 3·{P}·{P} = {K}")
        ticks = few_ticks(N - 1)
        seq.set_yticks(ticks)
        seq.set_ylabel(f"patch n (0 … {N - 1})")
        pin_axis_labels(seq, str(ticks[-1]), rcParams["ytick.labelsize"])
        seq.set_title(f"x_p: ({N}, {K}) = (N, P²·C)", fontsize=10, y=1.0)


class _Numbers(Artist):
    """The patch numbers, one artist for all of them: each number is a small picture
    (drawn once per text and size by :func:`~vit_tutorial.figures.label_patch`: white on a
    dark translucent box) pasted with its top-left corner at a point, in data coordinates.
    Pasting 64 pictures takes a few milliseconds; drawing 64 boxed texts, about a hundred.

    Attributes:
        items: ``(x, y, text, fontsize)`` for each number shown.
    """

    def __init__(self):
        super().__init__()
        self.set_zorder(3)  # where label_patch's texts are: above the grid and the frame
        self.items: list[tuple[float, float, str, float]] = []
        self._pictures: dict[tuple[str, float], tuple[np.ndarray, float, float]] = {}

    def draw_pictures(self, keys: list[tuple[str, float]]) -> None:
        """Draw the numbers not drawn yet, all in one figure (one row each), and keep each
        one's pixels and the place of its anchor in them."""
        row = 0.3  # inches per number
        fig = explorer_figure(1.5, row * len(keys))
        fig.patch.set_alpha(0)  # transparent around the boxes
        ax = fig.add_axes((0, 0, 1, 1))
        ax.set_axis_off()
        ax.set_xlim(0, 1.5)
        ax.set_ylim(row * len(keys), 0)  # inches from the top-left corner
        for i, (text, fontsize) in enumerate(keys):
            label_patch(ax, 0.3, row * (i + 0.25), text, fontsize)
        fig.canvas.draw()
        pixels = np.asarray(fig.canvas.buffer_rgba())  # (H, W, 4), top row first
        height = pixels.shape[0]
        for key, label in zip(keys, ax.texts):
            box = label.get_bbox_patch().get_window_extent()  # pixels from the bottom-left
            x0, x1 = math.floor(box.x0), math.ceil(box.x1)
            y0, y1 = math.floor(box.y0), math.ceil(box.y1)
            x, y = ax.transData.transform(label.get_position())
            self._pictures[key] = (pixels[height - y1:height - y0, x0:x1].copy(), x - x0,
                                   y - y0)

    def draw(self, renderer) -> None:
        if not self.get_visible() or not self.items:
            return
        new = sorted({(text, size) for _, _, text, size in self.items} - set(self._pictures))
        if new:
            self.draw_pictures(new)
        gc = renderer.new_gc()
        gc.set_clip_rectangle(self.axes.bbox)  # like a text clipped to the axes
        for x, y, text, fontsize in self.items:
            pixels, dx, dy = self._pictures[text, fontsize]
            px, py = self.axes.transData.transform((x, y))
            renderer.draw_image(gc, round(px - dx), round(py - dy), pixels[::-1])
        gc.restore()
        self.stale = False


def draw_patch_explorer(image_size: int = 224, patch_size: int = 16):
    r"""The patch explorer's picture (lesson 01): the photo cut into patches, and $x_p$.

    Left: the photo at ``image_size``² with the grid of ``patch_size``² patches; patches are
    numbered in reading order (all of them when $N \le 64$, else the first and last of the
    first two rows and the very last). If $P$ does not divide the size, the whole patches
    are drawn and the leftover strip of pixels is hatched in red. Right: the sequence
    $x_p$ as an $N \times (P^2 \cdot C)$ matrix of pixel values — one row per patch, in
    (C, P, P) order — or the error message.

    Args:
        image_size: $H$ = $W$ of the photo, in pixels (:data:`IMAGE_SIZES`).
        patch_size: $P$ (:data:`PATCH_SIZES`).

    Returns:
        A matplotlib ``Figure`` (not registered with pyplot), drawn by a new
        :class:`PatchPicture`.

    Raises:
        ValueError: a size outside the sliders' ranges, e.g. ``draw_patch_explorer(100000)``
            (the message gives the range).
    """
    return PatchPicture().update(image_size, patch_size).fig


@functools.lru_cache(maxsize=1)
def _shared_picture() -> PatchPicture:
    return PatchPicture()


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width))


def patch_explorer_png(image_size: int = 224, patch_size: int = 16) -> bytes:
    """:func:`draw_patch_explorer`'s picture as PNG bytes, from one kept, updated
    :class:`PatchPicture` (the fast path)."""
    return _shared_picture().update(image_size, patch_size).png()


class PatchExplorer(Explorer):
    r"""Lesson 01: the photo cut into $P \times P$ patches, for any image and patch size.

    Attributes:
        image_size: ``IntSlider``, $H$ = $W$ in pixels (32 … 448).
        patch_size: ``IntSlider``, $P$ (1 … 64).
        image: ``Image``, the picture of :func:`draw_patch_explorer`.
        summary: the :class:`PatchSummary` shown.

    Raises:
        ValueError: a size outside the sliders' ranges (never clamped to their ends).
        TypeError: a size that is not one whole number.
    """

    name = "patch"
    _settings = ("image_size", "patch_size")

    def __init__(self, image_size: int = 224, patch_size: int = 16):
        image_size = check_in_range(image_size, "image_size", *IMAGE_SIZES)  # never clamped
        patch_size = check_in_range(patch_size, "patch_size", *PATCH_SIZES)
        self.image_size = slider("image size H = W", image_size, *IMAGE_SIZES)
        self.patch_size = slider("patch size P", patch_size, *PATCH_SIZES)
        self.image = picture()
        self.summary = None
        super().__init__([self.image_size, self.patch_size], [self.image])
        self.refresh()

    def _draw(self) -> None:
        S, P = self.image_size.value, self.patch_size.value
        self.summary = patch_summary(S, P)
        self.image.value = patch_explorer_png(S, P)
        if self.summary.ok:
            self._set_readout(self.summary.text)
        else:
            self._set_readout(f"{S}×{S}×3 image, P = {P}: no grid of whole patches")
            raise ValueError(self.summary.error)


def patch_explorer(image_size: int = 224, patch_size: int = 16) -> PatchExplorer:
    r"""Lesson 01's explorer: move $P$ (and the image size) and watch the grid, N and x_p.

    Raises:
        ValueError: a size outside the sliders' ranges (:data:`IMAGE_SIZES`,
            :data:`PATCH_SIZES`); the message gives the range.
        TypeError: a size that is not one whole number.
    """
    return PatchExplorer(image_size, patch_size)
