r"""Lesson 05's figure: Figure 7 (centre), a tile per patch of its position
embedding's cosine similarity with every other (the similarity and its score are
:mod:`vit_tutorial.similarity`)."""

from __future__ import annotations

import gc
import numbers
from contextlib import contextmanager

import torch

from vit_tutorial.checks import to_pair
from vit_tutorial.similarity import check_similarity

__all__ = ["plot_position_similarity", "frame_tile", "similarity_figure_size"]

@contextmanager
def _gc_paused():
    """Pause Python's cycle collector: building ~200 Axes makes many objects, and the
    collector, running again and again meanwhile, would double the time a 14x14 grid takes."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def plot_position_similarity(similarity: torch.Tensor, *, title: str | None = None,
                             highlight: tuple[int, int] | None = None, fig=None,
                             vmin: float = -1.0, vmax: float = 1.0):
    r"""Draw Figure 7 (centre): one tile per patch, showing its similarity to all patches.

    Tile $(i, j)$ — row $i$, column $j$ of the grid of tiles — is the image
    ``similarity[i, j]``: patch $(i, j)$'s cosine similarity with every patch $(k, l)$.
    All tiles share one colour scale, explained by one colour bar: by default a diverging
    map centred on 0 (``"RdBu_r"``, from -1 blue to +1 red), the whole range of a cosine
    similarity.

    Args:
        similarity: the table from :func:`position_similarity`.
        title: the figure's title; ``None`` for none.
        highlight: ``(i, j)``, counted from 0, to frame one tile (e.g. the patch a reader
            picked); ``None`` for no frame.
        fig: an empty matplotlib ``Figure`` to draw into (the tiles shrink to fit it); a new
            one, sized to the grid, if ``None``.
        vmin: the similarity at the bottom of the colour scale (default -1).
        vmax: the similarity at the top of the colour scale (default 1). A range centred
            on 0 (``vmin == -vmax``) keeps the diverging ``"RdBu_r"``; any other range, such
            as ``vmin=0.7, vmax=1.0`` for a table whose similarities are all high, is drawn
            with the sequential ``"viridis"``, because white would no longer mean 0. Values
            outside the range get the colour of its nearer end, and the colour bar then
            ends in a pointed tip on that side.

    Returns:
        ``(fig, axes)``, ``axes`` a NumPy array of ``Axes`` of shape ``(H/P, W/P)``. The
        frame of ``highlight`` is a ``Rectangle`` in ``axes[i, j].patches`` with
        gid ``"highlight"``.

    Shapes:
        ``(H/P, W/P, H/P, W/P)`` -> ``H/P × W/P`` tiles of ``H/P × W/P`` pixels

    Note:
        Rows and columns are labelled from 0, as the code indexes them (``sim[i, j]``); the
        paper's figure labels them from 1.

    Example:
        >>> from vit_tutorial.positional_embedding import sincos_2d_pos_embed
        >>> sim = position_similarity(sincos_2d_pos_embed(7, 64), 7, num_prefix_tokens=0)
        >>> fig, axes = plot_position_similarity(sim, vmin=0.7, vmax=1.0)  # zoom into 0.7..1
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    sim = check_similarity(similarity)
    gh, gw = sim.shape[:2]
    _check_plot_arguments((gh, gw), highlight, vmin, vmax)
    values = sim.detach().cpu().float().numpy()  # (H/P, W/P, H/P, W/P)
    layout = _Layout((gh, gw), title=bool(title))
    if fig is None:
        fig = plt.figure(figsize=layout.size)
    box, gaps = layout.fit(fig)
    with _gc_paused():
        axes = fig.subplots(gh, gw, squeeze=False, gridspec_kw=dict(**box, **gaps))
    cmap = "RdBu_r" if vmin == -vmax else "viridis"  # diverging only when centred on 0
    norm = Normalize(vmin=float(vmin), vmax=float(vmax))  # one scale for every tile
    _draw_tiles(axes, values, cmap, norm, fontsize=8 if layout.long_side >= 0.45 else 7)
    fw, fh = fig.get_size_inches()
    fig.supylabel("input patch row (from 0)", x=0.12 / fw, ha="left")
    fig.supxlabel("input patch column (from 0)", y=0.08 / fh, va="bottom")
    if title:
        fig.suptitle(title, y=1 - 0.1 / fh, va="top")
    _draw_colour_bar(fig, box, values, cmap, norm)
    if highlight is not None:
        frame_tile(axes[highlight[0], highlight[1]])
    return fig, axes


def frame_tile(ax):
    """Frame one tile of Figure 7 (the picked patch): a black square round the Axes, with
    gid ``"highlight"``. Returns the ``Rectangle``."""
    from matplotlib.patches import Rectangle

    frame = Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, edgecolor="black",
                      linewidth=2.5, clip_on=False, gid="highlight")
    ax.add_patch(frame)
    return frame


def _check_plot_arguments(grid, highlight, vmin, vmax) -> None:
    gh, gw = grid
    if highlight is not None:
        ok = (isinstance(highlight, (tuple, list)) and len(highlight) == 2
              and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                      for v in highlight))
        if not ok or not (0 <= highlight[0] < gh and 0 <= highlight[1] < gw):
            raise ValueError(
                f"highlight must be a (row, column) pair of ints with 0 <= row < {gh} and "
                f"0 <= column < {gw} (counted from 0), got {highlight!r}")
    for value, name in ((vmin, "vmin"), (vmax, "vmax")):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number (a cosine similarity between -1 and 1), "
                            f"got {value!r} of type {type(value).__name__}")
        if not -1.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie between -1 and 1 (the range of a cosine "
                             f"similarity), got {value}")
    if vmin >= vmax:
        raise ValueError(f"vmin must be smaller than vmax, got vmin={vmin}, vmax={vmax}; "
                         f"the default scale is vmin=-1.0, vmax=1.0")


class _Layout:
    """Sizes in inches of Figure 7's layout: small tiles, room for labels on the left and
    bottom, a colour bar on the right."""

    LEFT, RIGHT, BOTTOM = 0.75, 1.35, 0.7

    def __init__(self, grid: tuple[int, int], title: bool):
        gh, gw = grid
        self.long_side = min(0.6, 6.0 / max(gh, gw))  # a tile's longer side
        self.tile_w = self.long_side * gw / max(gh, gw)  # the image's aspect
        self.tile_h = self.long_side * gh / max(gh, gw)
        self.gap = 0.08 * self.long_side
        self.top = 0.55 if title else 0.25
        self.grid_w = gw * self.tile_w + (gw - 1) * self.gap
        self.grid_h = gh * self.tile_h + (gh - 1) * self.gap

    @property
    def size(self) -> tuple[float, float]:
        return (self.LEFT + self.grid_w + self.RIGHT, self.BOTTOM + self.grid_h + self.top)

    def fit(self, fig) -> tuple[dict, dict]:
        """The tiles' box (figure fractions) and gaps, shrunk to fit ``fig`` if needed."""
        fw, fh = fig.get_size_inches()
        fit = min(1.0, (fw - self.LEFT - self.RIGHT) / self.grid_w,
                  (fh - self.BOTTOM - self.top) / self.grid_h)
        if fit <= 0:
            raise ValueError(f"the figure ({fw:.1f}x{fh:.1f} in) is too small for the labels "
                             f"and the colour bar; use at least "
                             f"{self.LEFT + self.RIGHT + 1:.1f}x"
                             f"{self.BOTTOM + self.top + 1:.1f} in")
        box = dict(left=self.LEFT / fw, right=(self.LEFT + self.grid_w * fit) / fw,
                   bottom=self.BOTTOM / fh, top=(self.BOTTOM + self.grid_h * fit) / fh)
        return box, dict(wspace=self.gap / self.tile_w, hspace=self.gap / self.tile_h)


def similarity_figure_size(grid_size: int | tuple[int, int],
                           title: bool = True) -> tuple[float, float]:
    """The size in inches :func:`plot_position_similarity` gives a grid's figure."""
    return _Layout(to_pair(grid_size, "grid_size"), title).size


def _draw_tiles(axes, values, cmap, norm, fontsize: int) -> None:
    gh, gw = values.shape[:2]
    for i in range(gh):
        for j in range(gw):
            ax = axes[i, j]
            ax.imshow(values[i, j], cmap=cmap, norm=norm, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(str(i), rotation=0, ha="right", va="center",
                              fontsize=fontsize, labelpad=3)
            if i == gh - 1:
                ax.set_xlabel(str(j), fontsize=fontsize, labelpad=3)


def _draw_colour_bar(fig, box: dict, values, cmap, norm) -> None:
    import matplotlib.pyplot as plt

    fw, _ = fig.get_size_inches()
    cax = fig.add_axes((box["right"] + 0.2 / fw, box["bottom"], 0.15 / fw,
                        box["top"] - box["bottom"]))
    below = values.size and values.min() < norm.vmin - 1e-6  # 1e-6: float32 rounding
    above = values.size and values.max() > norm.vmax + 1e-6
    extend = {(False, False): "neither", (True, False): "min",
              (False, True): "max", (True, True): "both"}[(bool(below), bool(above))]
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax,
                 label="cosine similarity", extend=extend)
