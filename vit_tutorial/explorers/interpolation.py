r"""Lesson 06's explorer: resize the trained $E_\text{pos}$ to any grid and mode, and see
what it does to TinyViT's accuracy (``notebooks/06_interpolation.ipynb``).

:func:`interpolation_view` and :func:`resolution_accuracy` are the pure, tested functions;
:func:`interpolation_explorer` wires sliders and a menu to them.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np
import torch
from matplotlib.ticker import MaxNLocator

from vit_tutorial.checks import check_choice
from vit_tutorial.data import digits
from vit_tutorial.explorers.base import Explorer, dropdown, picture, slider
from vit_tutorial.explorers.common import (
    Picture,
    check_in_range,
    pin_axis_labels,
    tiny_vit,
)
from vit_tutorial.interpolation import resize_pos_embed
from vit_tutorial.model import TINY_VIT_CONFIG, evaluate
from vit_tutorial.similarity import position_similarity

__all__ = ["INTERPOLATION_MODES", "GRID_SIDES", "InterpolationView", "interpolation_view",
           "resolution_accuracy", "accuracy_text", "InterpolationPicture",
           "InterpolationExplorer", "interpolation_explorer", "clear_caches"]

GRID_SIDES = (2, 16)  # the new grid's rows and columns, each (TinyViT was trained on 7×7)

#: The interpolation modes the explorer offers (those of resize_pos_embed).
INTERPOLATION_MODES = ("bicubic", "bilinear", "nearest", "area")


@functools.lru_cache(maxsize=1)
def _trained_pos_embed() -> tuple[torch.Tensor, list[int]]:
    """TinyViT's E_pos ``(1, 50, 64)`` and the 3 channels that vary most over its grid."""
    pos_embed = tiny_vit().positional_embedding.pos_embed.detach()  # (1, N + 1, D)
    channels = pos_embed[0, 1:].std(dim=0).topk(3).indices.tolist()  # as lesson 06 picks them
    return pos_embed, channels


def _check_grid(rows: object, columns: object, mode: object) -> tuple[int, int, str]:
    rows = check_in_range(rows, "rows", *GRID_SIDES)
    columns = check_in_range(columns, "columns", *GRID_SIDES)
    return rows, columns, check_choice(mode, "mode", INTERPOLATION_MODES)


def resolution_accuracy(rows: int, columns: int, mode: str = "bicubic") -> float:
    r"""Test accuracy of the trained TinyViT moved to a ``rows × columns`` grid (Sec. 3.2).

    The model (trained at 28×28, a 7×7 grid of 4×4 patches) is copied with
    ``model.resized((4·rows, 4·columns), mode=mode)`` — every weight kept, $E_\text{pos}$
    interpolated — and evaluated, without any fine-tuning, on the 360 test digits
    upsampled to that size. Cached per setting: the first call takes a fraction of a second
    to a few seconds (it grows with the number of tokens), later ones are instant.

    Returns:
        The accuracy, in [0, 1].

    Raises:
        ValueError, TypeError: as :func:`interpolation_view` (checked before the cache).
    """
    return _accuracy(*_check_grid(rows, columns, mode))


@functools.cache
def _accuracy(rows: int, columns: int, mode: str) -> float:
    model = tiny_vit()
    P = model.config.patch_size
    images, labels = digits("test", (rows * P, columns * P))
    resized = model.resized((rows * P, columns * P), mode=mode)
    return evaluate(resized, images, labels)


@dataclass(frozen=True)
class InterpolationView:
    r"""What the interpolation explorer shows for one grid, mode and position (lesson 06).

    Attributes:
        grid: the new grid ``(H'/P, W'/P)``.
        mode: the interpolation mode.
        position: the picked position ``(i, j)`` in the new grid, from 0.
        pos_embed: the resized $E_\text{pos}$, ``(1, 1 + N', D)``.
        png: the picture.
        text: one line for a readout (shapes; the accuracy is separate, see
            :func:`resolution_accuracy`).
    """

    grid: tuple[int, int]
    mode: str
    position: tuple[int, int]
    pos_embed: torch.Tensor = field(repr=False)
    png: bytes = field(repr=False)
    text: str


class InterpolationPicture(Picture):
    r"""The interpolation explorer's picture, kept between redraws (see :class:`Picture`).

    Two rows (the trained 7×7 table, the resized one): three channels of $E_\text{pos}$ on
    one colour scale, then the similarity of one position to all the others. The trained
    row's axes, ticks and labels are the background; an update recolours its images and
    redraws the resized row's axes, whose grid and ticks change with the slider.
    """

    def __init__(self):
        super().__init__(11.5, 5.6)
        fig = self.fig
        pos_embed, self.channels = _trained_pos_embed()  # (1, N + 1, D)
        old = _trained_grid()
        D = pos_embed.shape[-1]
        self.maps_old = pos_embed[0, 1:].T.reshape(D, old, old)  # (N, D) -> (D, N) -> (D, 7, 7)
        spec = fig.add_gridspec(2, 7, width_ratios=[1, 1, 1, 0.07, 0.3, 1.25, 0.07],
                                left=0.11, right=0.93, bottom=0.08, top=0.86, wspace=0.45,
                                hspace=0.35)
        self.axes = np.array([[fig.add_subplot(spec[r, c]) for c in (0, 1, 2, 5)]
                              for r in range(2)])
        placeholder = np.zeros((old, old))
        self.maps = np.array([[ax.imshow(placeholder, cmap="viridis", interpolation="nearest")
                               for ax in row[:3]] for row in self.axes])
        for image, ch in zip(self.maps[0], self.channels):
            image.set_data(self.maps_old[ch].numpy())
        for ax, ch in zip(self.axes.T, self.channels):
            for a in ax:
                a.set_title(f"channel {ch}", fontsize=9, y=1.0)
        self.similar = [ax.imshow(placeholder, cmap="RdBu_r", vmin=-1, vmax=1,
                                  interpolation="nearest") for ax in self.axes[:, 3]]
        self.markers = [ax.plot([0], [0], marker="s", markersize=7, markerfacecolor="none",
                                markeredgecolor="black", markeredgewidth=2)[0]
                        for ax in self.axes[:, 3]]
        self.values_axes = self._value_bar(fig.add_subplot(spec[:, 3]))
        fig.colorbar(self.similar[1], cax=fig.add_subplot(spec[:, 6]), label="cosine similarity")
        for ax in self.axes.flat:
            ax.set_xlabel("patch column (from 0)", fontsize=8)
            ax.set_ylabel("patch row (from 0)", fontsize=8)
            ax.tick_params(labelsize=7)
            ax.xaxis.set_major_locator(_PatchTicks())
            ax.yaxis.set_major_locator(_PatchTicks())
        for ax in self.axes[1]:  # their ticks change with the grid: rows 0 … 15 at most
            pin_axis_labels(ax, "10", 7)
        self._show_grid(0, old, old)
        fig.text(0.006, 0.86 - 0.2, f"trained\n{old}×{old}", fontsize=10, ha="left",
                 va="center", weight="bold")
        self.row_label = fig.text(0.006, 0.86 - 0.39 - 0.2, "", fontsize=10, ha="left",
                                  va="center", weight="bold")
        self.title = fig.suptitle("", fontsize=11)
        self.scale = self.grid = None
        spines = [spine for ax in self.axes[0, :3] for spine in ax.spines.values()]
        similarity = [artist for r in (0, 1) for artist in (
            self.similar[r], self.markers[r], *self.axes[r, 3].spines.values(),
            self.axes[r, 3].title)]
        self.layers = [  # what a new colour scale changes, a new grid or mode, a new position
            [*self.maps[0], *spines, self.values_axes],
            [*self.axes[1], self.row_label, self.title],
            similarity]

    def _value_bar(self, bar):
        """The values' colour bar: a gradient whose axis follows the scale (a Colorbar would
        be rebuilt, mesh and all, on every change of scale)."""
        from matplotlib import rcParams

        self.gradient = bar.imshow(np.linspace(0, 1, 256)[:, None], cmap="viridis",
                                   aspect="auto", origin="lower", interpolation="nearest",
                                   extent=(0, 1, 0, 1))
        bar.set_xticks([])
        bar.yaxis.tick_right()
        bar.yaxis.set_label_position("right")
        bar.set_ylabel("E_pos value (3 channels)")
        pin_axis_labels(bar, "−0.2", rcParams["ytick.labelsize"], y_side="right")
        return bar

    def layer_keys(self) -> tuple:
        return (None, self.scale, self.grid)

    def _show_grid(self, r: int, rows: int, columns: int) -> None:
        """Row ``r``'s images and axes limits for a ``rows × columns`` grid."""
        for image in (*self.maps[r], self.similar[r]):
            image.set_extent((-0.5, columns - 0.5, rows - 0.5, -0.5))
        for ax in self.axes[r]:
            ax.set_xlim(-0.5, columns - 0.5)
            ax.set_ylim(rows - 0.5, -0.5)

    def update(self, resized: torch.Tensor, grid: tuple[int, int], mode: str,
               position: tuple[int, int]) -> InterpolationPicture:
        """Show the trained E_pos beside ``resized`` (``(1, 1 + rows·columns, D)``) and the
        similarity of ``position`` (in the new grid) to every other position."""
        pos_embed, _ = _trained_pos_embed()  # (1, N + 1, D)
        old = _trained_grid()
        rows, columns = grid
        i, j = position
        # The old position at the same place in the image as the picked new one.
        oi = min(old - 1, int((i + 0.5) * old / rows))
        oj = min(old - 1, int((j + 0.5) * old / columns))
        sims = (_trained_similarity()[oi, oj],  # (7, 7)
                position_similarity(resized, (rows, columns))[i, j])  # (H'/P, W'/P)
        for r, (sim, (pi, pj)) in enumerate(zip(sims, ((oi, oj), (i, j)))):
            self.similar[r].set_data(sim.numpy())
            self.markers[r].set_data([pj], [pi])
            self.axes[r, 3].set_title(f"similarity of position ({pi}, {pj})", fontsize=9,
                                      y=1.0)
        if self.grid == (rows, columns, mode):
            return self  # a new position: the channels are already shown
        D = resized.shape[-1]
        maps_new = resized[0, 1:].T.reshape(D, rows, columns)  # (N', D) -> (D, H'/P, W'/P)
        low = min(m[self.channels].min().item() for m in (self.maps_old, maps_new))
        high = max(m[self.channels].max().item() for m in (self.maps_old, maps_new))
        # One colour scale for both rows, out to the next multiples of 0.05: most grids
        # keep the scale (and the trained row's colours) of the last one.
        scale = (round(math.floor(low / 0.05) * 0.05, 2), round(math.ceil(high / 0.05) * 0.05, 2))
        for image, ch in zip(self.maps[1], self.channels):
            image.set_data(maps_new[ch].numpy())
        if scale != self.scale:
            for image in self.maps.flat:
                image.set_clim(*scale)
            self.gradient.set_extent((0, 1, *scale))
            self.values_axes.set_ylim(*scale)
            self.scale = scale
        self._show_grid(1, rows, columns)
        self.grid = (rows, columns, mode)
        self.row_label.set_text(f"{mode}\n{rows}×{columns}")
        self.title.set_text(f"TinyViT's E_pos {tuple(pos_embed.shape)} -> "
                            f"{tuple(resized.shape)}, {mode}; the class-token row is kept")
        return self


class _PatchTicks(MaxNLocator):
    """Whole-number ticks, as ``MaxNLocator(integer=True)`` places them, but only those
    inside the axes: matplotlib makes (and updates) a tick object for every position a
    locator returns, shown or not."""

    def __init__(self):
        super().__init__(integer=True)

    def __call__(self):
        low, high = sorted(self.axis.get_view_interval())
        return [t for t in super().__call__() if low <= t <= high]


@functools.lru_cache(maxsize=1)
def _shared_picture() -> InterpolationPicture:
    return InterpolationPicture()


@functools.lru_cache(maxsize=1)
def _trained_similarity() -> torch.Tensor:
    """The trained E_pos's similarity table, ``(7, 7, 7, 7)`` (it never changes)."""
    return position_similarity(_trained_pos_embed()[0], _trained_grid())


def _trained_grid() -> int:
    return TINY_VIT_CONFIG.image_size // TINY_VIT_CONFIG.patch_size  # 7


def interpolation_view(rows: int = 14, columns: int = 14, mode: str = "bicubic",
                       position: tuple[int, int] | None = None) -> InterpolationView:
    r"""The trained TinyViT's $E_\text{pos}$ resized to a new grid: channels and similarity.

    Top row: the trained 7×7 table; bottom row: the table resized to ``rows × columns``
    with :func:`~vit_tutorial.interpolation.resize_pos_embed`. Columns: the three channels
    that vary most over the trained grid (on one colour scale for both rows, from and to
    multiples of 0.05), then
    the cosine similarity of one position to all others — in the new grid the picked
    ``position``, in the old grid the position at the same place in the image. Drawn by one
    kept :class:`InterpolationPicture`.

    Args:
        rows: $H'/P$ (:data:`GRID_SIDES`).
        columns: $W'/P$ (:data:`GRID_SIDES`).
        mode: one of :data:`INTERPOLATION_MODES`.
        position: ``(i, j)`` in the new grid, from 0; default the centre.

    Returns:
        An :class:`InterpolationView`.

    Raises:
        ValueError: bad grid, mode or position (the message says what is allowed).
        TypeError: a grid side or position that is not whole numbers, a mode that is not a
            string.
    """
    rows, columns, mode = _check_grid(rows, columns, mode)
    i, j = _check_position(position, rows, columns)
    pos_embed, _ = _trained_pos_embed()  # (1, N + 1, D)
    old = _trained_grid()
    resized = resize_pos_embed(pos_embed, (rows, columns), old, mode=mode)  # (1, 1 + N', D)
    png = _shared_picture().update(resized, (rows, columns), mode, (i, j)).png()
    P = TINY_VIT_CONFIG.patch_size
    text = (f"grid {old}×{old} -> {rows}×{columns} ({mode}): E_pos {tuple(pos_embed.shape)} -> "
            f"{tuple(resized.shape)}, for {P * rows}×{P * columns} images "
            f"(1 + {rows}·{columns} = {1 + rows * columns} tokens)")
    return InterpolationView((rows, columns), mode, (i, j), resized, png, text)


def _check_position(position: object, rows: int, columns: int) -> tuple[int, int]:
    """``position`` as ``(i, j)`` inside the grid; ``None`` is the centre."""
    if position is None:
        return rows // 2, columns // 2
    if isinstance(position, np.ndarray):
        position = position.tolist()
    if not isinstance(position, (tuple, list)) or len(position) != 2:
        raise ValueError(f"position must be a (row, column) pair, got {position!r}; pass e.g. "
                         f"position=({rows // 2}, {columns // 2})")
    where = f" in the {rows}×{columns} grid"
    return (check_in_range(position[0], "position row", 0, rows - 1, where),
            check_in_range(position[1], "position column", 0, columns - 1, where))


def accuracy_text(rows: int, columns: int, mode: str) -> str:
    """One line: TinyViT's accuracy at this grid, next to its accuracy at 28×28."""
    P = tiny_vit().config.patch_size
    new = resolution_accuracy(rows, columns, mode)
    side = TINY_VIT_CONFIG.image_size // P
    base = resolution_accuracy(side, side, "bicubic")
    return (f"TinyViT at {P * rows}×{P * columns} ({rows}×{columns} grid, {mode} E_pos, "
            f"no fine-tuning): {new:.1%} of the 360 test digits; "
            f"at {P * side}×{P * side}, where it was trained: {base:.1%}")


class InterpolationExplorer(Explorer):
    r"""Lesson 06: TinyViT's $E_\text{pos}$ resized to a new grid (Sec. 3.2), and what it does.

    Attributes:
        grid_rows, grid_columns: ``IntSlider``, the new grid $H'/P \times W'/P$ (2 … 16;
            TinyViT was trained on 7×7).
        mode: ``Dropdown`` over :data:`vit_tutorial.INTERPOLATION_MODES`.
        position_row, position_column: ``IntSlider``, the position whose similarity is shown,
            in the new grid, from 0.
        image: ``Image``, the picture of :func:`vit_tutorial.interpolation_view`.
        view: the :class:`vit_tutorial.InterpolationView` shown.
        accuracy: TinyViT's test accuracy at this grid and mode (cached per setting).

    Raises:
        ValueError: a grid side, mode or position off the controls (never clamped).
        TypeError: a grid side or position that is not whole numbers.
    """

    name = "interpolation"
    _settings = ("grid_rows", "grid_columns", "mode", "position_row", "position_column")

    def __init__(self, rows: int = 14, columns: int = 14, mode: str = "bicubic",
                 position: tuple[int, int] | None = None):
        rows, columns, mode = _check_grid(rows, columns, mode)  # never clamped to a slider
        position = _check_position(position, rows, columns)
        self.grid_rows = slider("new grid: rows", rows, *GRID_SIDES)
        self.grid_columns = slider("columns", columns, *GRID_SIDES)
        self.mode = dropdown("mode", list(INTERPOLATION_MODES), mode, width="200px")
        self.position_row = slider("position: row", position[0], 0, rows - 1)
        self.position_column = slider("column", position[1], 0, columns - 1)
        self.image = picture()
        self.view = None
        self.accuracy = None
        super().__init__([self.grid_rows, self.grid_columns, self.mode, self.position_row,
                          self.position_column], [self.image])
        self.refresh()

    def _draw(self) -> None:
        rows, columns, mode = self.grid_rows.value, self.grid_columns.value, self.mode.value
        with self._hold():  # keep the picked position inside the grid
            self.position_row.max, self.position_column.max = rows - 1, columns - 1
        self.view = interpolation_view(
            rows, columns, mode, (self.position_row.value, self.position_column.value))
        self.image.value = self.view.png
        self._set_readout(self.view.text, "TinyViT's accuracy at this size: computing…")
        self.accuracy = resolution_accuracy(rows, columns, mode)
        self._set_readout(self.view.text, accuracy_text(rows, columns, mode))


def interpolation_explorer(rows: int = 14, columns: int = 14,
                           mode: str = "bicubic") -> InterpolationExplorer:
    """Lesson 06's explorer: resize TinyViT's E_pos to a new grid; see it and its accuracy.

    Raises:
        ValueError: a grid side outside :data:`GRID_SIDES` or an unknown mode (the message
            lists what is allowed).
        TypeError: a grid side that is not one whole number, a mode that is not a string.
    """
    return InterpolationExplorer(rows, columns, mode)


def clear_caches() -> None:
    """Forget the accuracies measured so far (for timing a first measurement, and tests)."""
    _accuracy.cache_clear()
