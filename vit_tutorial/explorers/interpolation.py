r"""Lesson 06's explorer: resize the trained $E_\text{pos}$ to any grid and mode, and see
what it does to TinyViT's accuracy (``notebooks/06_interpolation.ipynb``).

:func:`interpolation_view` and :func:`resolution_accuracy` are the pure, tested functions;
:func:`interpolation_explorer` wires sliders and a menu to them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import torch

from vit_tutorial.data import digits
from vit_tutorial.explorers.base import Explorer, dropdown, picture, slider
from vit_tutorial.explorers.common import check_choice, check_in_range, explorer_figure, tiny_vit
from vit_tutorial.figures import render_png
from vit_tutorial.interpolation import resize_pos_embed
from vit_tutorial.model import TINY_VIT_CONFIG, evaluate
from vit_tutorial.similarity import position_similarity

__all__ = ["INTERPOLATION_MODES", "GRID_SIDES", "InterpolationView", "interpolation_view",
           "resolution_accuracy", "accuracy_text", "InterpolationExplorer",
           "interpolation_explorer"]

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


@functools.cache
def resolution_accuracy(rows: int, columns: int, mode: str = "bicubic") -> float:
    r"""Test accuracy of the trained TinyViT moved to a ``rows × columns`` grid (Sec. 3.2).

    The model (trained at 28×28, a 7×7 grid of 4×4 patches) is copied with
    ``model.resized((4·rows, 4·columns), mode=mode)`` — every weight kept, $E_\text{pos}$
    interpolated — and evaluated, without any fine-tuning, on the 360 test digits
    upsampled to that size. Cached per setting: the first call takes a fraction of a second
    to a few seconds (it grows with the number of tokens), later ones are instant.

    Returns:
        The accuracy, in [0, 1].
    """
    rows, columns, mode = _check_grid(rows, columns, mode)
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


def _draw_views(fig, maps, channels, labels, similarities) -> None:
    """Two rows (old grid, new grid): three channels of E_pos on one colour scale, then the
    similarity of one position to all the others."""
    from matplotlib.ticker import MaxNLocator

    spec = fig.add_gridspec(2, 7, width_ratios=[1, 1, 1, 0.07, 0.3, 1.25, 0.07], left=0.11,
                            right=0.93, bottom=0.08, top=0.86, wspace=0.45, hspace=0.35)
    axes = np.array([[fig.add_subplot(spec[r, c]) for c in (0, 1, 2, 5)] for r in range(2)])
    low = min(m[channels].min().item() for m in maps)
    high = max(m[channels].max().item() for m in maps)
    for r, (grid, (name, size)) in enumerate(zip(maps, labels)):
        for col, ch in enumerate(channels):
            values = axes[r, col].imshow(grid[ch].numpy(), cmap="viridis", vmin=low,
                                         vmax=high, interpolation="nearest")
            axes[r, col].set_title(f"channel {ch}", fontsize=9)
        fig.text(0.006, 0.86 - 0.39 * r - 0.2, f"{name}\n{size}", fontsize=10, ha="left",
                 va="center", weight="bold")
    fig.colorbar(values, cax=fig.add_subplot(spec[:, 3]), label="E_pos value (3 channels)")
    for r, (s, (pi, pj)) in enumerate(similarities):
        ax = axes[r, 3]
        similar = ax.imshow(s.numpy(), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.plot([pj], [pi], marker="s", markersize=7, markerfacecolor="none",
                markeredgecolor="black", markeredgewidth=2)
        ax.set_title(f"similarity of position ({pi}, {pj})", fontsize=9)
    fig.colorbar(similar, cax=fig.add_subplot(spec[:, 6]), label="cosine similarity")
    for ax in axes.flat:
        ax.set_xlabel("patch column (from 0)", fontsize=8)
        ax.set_ylabel("patch row (from 0)", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))


def interpolation_view(rows: int = 14, columns: int = 14, mode: str = "bicubic",
                       position: tuple[int, int] | None = None) -> InterpolationView:
    r"""The trained TinyViT's $E_\text{pos}$ resized to a new grid: channels and similarity.

    Top row: the trained 7×7 table; bottom row: the table resized to ``rows × columns``
    with :func:`~vit_tutorial.interpolation.resize_pos_embed`. Columns: the three channels
    that vary most over the trained grid (each with one colour scale for both rows), then
    the cosine similarity of one position to all others — in the new grid the picked
    ``position``, in the old grid the position at the same place in the image.

    Args:
        rows: $H'/P$.
        columns: $W'/P$.
        mode: one of :data:`INTERPOLATION_MODES`.
        position: ``(i, j)`` in the new grid, from 0; default the centre.

    Returns:
        An :class:`InterpolationView`.

    Raises:
        ValueError: bad grid, mode or position (the message says what is allowed).
    """
    rows, columns, mode = _check_grid(rows, columns, mode)
    if position is None:
        position = (rows // 2, columns // 2)
    if not isinstance(position, (tuple, list)) or len(position) != 2:
        raise ValueError(f"position must be a (row, column) pair, got {position!r}")
    i, j = position
    where = f" in the {rows}×{columns} grid"
    i = check_in_range(i, "position row", 0, rows - 1, where)
    j = check_in_range(j, "position column", 0, columns - 1, where)
    pos_embed, channels = _trained_pos_embed()  # (1, N + 1, D)
    old = TINY_VIT_CONFIG.image_size // TINY_VIT_CONFIG.patch_size  # the trained grid
    resized = resize_pos_embed(pos_embed, (rows, columns), old, mode=mode)  # (1, 1 + N', D)
    D = pos_embed.shape[-1]
    maps_old = pos_embed[0, 1:].T.reshape(D, old, old)  # (N, D) -> (D, N) -> (D, 7, 7)
    maps_new = resized[0, 1:].T.reshape(D, rows, columns)  # (N', D) -> (D, N') -> (D, H'/P, W'/P)
    # The old position at the same place in the image as the picked new one.
    oi, oj = min(old - 1, int((i + 0.5) * old / rows)), min(old - 1, int((j + 0.5) * old / columns))
    sim_old = position_similarity(pos_embed, old)[oi, oj]  # (7, 7)
    sim_new = position_similarity(resized, (rows, columns))[i, j]  # (H'/P, W'/P)

    fig = explorer_figure(11.5, 5.6)
    labels = (("trained", f"{old}×{old}"), (mode, f"{rows}×{columns}"))
    _draw_views(fig, (maps_old, maps_new), channels, labels,
                ((sim_old, (oi, oj)), (sim_new, (i, j))))
    fig.suptitle(f"TinyViT's E_pos {tuple(pos_embed.shape)} -> {tuple(resized.shape)}, "
                 f"{mode}; the class-token row is kept", fontsize=11)
    P = tiny_vit().config.patch_size
    text = (f"grid {old}×{old} -> {rows}×{columns} ({mode}): E_pos {tuple(pos_embed.shape)} -> "
            f"{tuple(resized.shape)}, for {P * rows}×{P * columns} images "
            f"(1 + {rows}·{columns} = {1 + rows * columns} tokens)")
    return InterpolationView((rows, columns), mode, (i, j), resized, render_png(fig), text)


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
    """

    name = "interpolation"
    _settings = ("grid_rows", "grid_columns", "mode", "position_row", "position_column")

    def __init__(self, rows: int = 14, columns: int = 14, mode: str = "bicubic",
                 position: tuple[int, int] | None = None):
        position = (rows // 2, columns // 2) if position is None else position
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
    """
    rows, columns, mode = _check_grid(rows, columns, mode)
    return InterpolationExplorer(rows, columns, mode)
