r"""Lesson 05's explorer: pick a patch and a source of $E_\text{pos}$, see its similarity
map beside Figure 7 (centre) (``notebooks/05_position_similarity.ipynb``).

:func:`similarity_source` and :func:`similarity_view` are the pure, tested functions;
:func:`similarity_explorer` wires a menu and two sliders to them.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field

import torch

from vit_tutorial.checks import check_choice
from vit_tutorial.explorers.base import Explorer, dropdown, picture, slider
from vit_tutorial.explorers.common import Picture, check_in_range, tiny_vit
from vit_tutorial.model import TINY_VIT_CONFIG, TinyViT
from vit_tutorial.positional_embedding import sincos_2d_pos_embed
from vit_tutorial.similarity import locality_score, pos_embed_of, position_similarity
from vit_tutorial.weights import WeightsUnavailable, torchvision_pretrained_state_dict

__all__ = ["SIMILARITY_SOURCES", "SimilarityView", "similarity_source", "similarity_view",
           "clear_caches", "SimilarityExplorer", "similarity_explorer"]


def _tiny_grid() -> tuple[int, int]:
    """TinyViT's patch grid, (H/P, W/P)."""
    side = TINY_VIT_CONFIG.image_size // TINY_VIT_CONFIG.patch_size
    return side, side


#: The sources of $E_\text{pos}$ the similarity explorer offers: key -> label.
SIMILARITY_SOURCES = {
    "init": "TinyViT at initialisation (seed 0)",
    "trained": "TinyViT, trained (40 epochs)",
    "sincos": "2-D sine–cosine (fixed)",
    "pretrained": "ViT-B/16, pretrained on ImageNet (download)",
}


@functools.cache
def _similarity_table(source: str) -> tuple[torch.Tensor, str]:
    """``(sim, label)`` for a source other than "pretrained" (cached)."""
    if source == "init":
        with torch.random.fork_rng(devices=[]):  # lesson 05's seed, the reader's RNG untouched
            torch.manual_seed(0)
            model = TinyViT()
        return position_similarity(*pos_embed_of(model)), SIMILARITY_SOURCES[source]
    if source == "trained":
        return position_similarity(*pos_embed_of(tiny_vit())), SIMILARITY_SOURCES[source]
    if source == "sincos":
        grid = _tiny_grid()
        table = sincos_2d_pos_embed(grid, TINY_VIT_CONFIG.embed_dim)  # (N, D)
        return position_similarity(table, grid, num_prefix_tokens=0), SIMILARITY_SOURCES[source]
    raise ValueError(f"unknown source {source!r}")


_PRETRAINED: dict[str, torch.Tensor] = {}  # filled once the pretrained weights load


def similarity_source(source: str, download: bool = False) -> tuple[torch.Tensor, str]:
    r"""The similarity table of one source of $E_\text{pos}$, and its label.

    Args:
        source: a key of :data:`SIMILARITY_SOURCES`: ``"init"`` (TinyViT before training,
            seed 0, as in lesson 05), ``"trained"`` (the shipped TinyViT), ``"sincos"``
            (the fixed 2-D sine–cosine table for the same 7×7 grid and D = 64) or
            ``"pretrained"`` (torchvision's ViT-B/16, 14×14 grid).
        download: for ``"pretrained"``: fetch the weights (330 MB) if torch's cache hasn't
            got them. Never under CI.

    Returns:
        ``(sim, label)``, ``sim`` of shape ``(H/P, W/P, H/P, W/P)`` (cached per source).

    Raises:
        ValueError: for an unknown source.
        vit_tutorial.weights.WeightsUnavailable: ``"pretrained"`` when the weights can't be
            had here (offline, under CI, or ``download=False`` and not cached); the message
            says which.
    """
    check_choice(source, "source", SIMILARITY_SOURCES)
    if source != "pretrained":
        return _similarity_table(source)
    if "sim" not in _PRETRAINED:
        state = torchvision_pretrained_state_dict("vit_b_16", download=download)
        pos_embed = state["encoder.pos_embedding"]  # (1, 197, 768)
        _PRETRAINED["sim"] = position_similarity(pos_embed, 14, num_prefix_tokens=1)
    return _PRETRAINED["sim"], SIMILARITY_SOURCES[source]


class _MapPicture(Picture):
    """One source's large similarity map; a redraw swaps the data, the frame and the title
    over the kept axes, ticks and colour bar."""

    def __init__(self, sim: torch.Tensor):
        from matplotlib.patches import Rectangle

        super().__init__(5.4, 5.0)
        self.sim = sim.detach().float().numpy()  # (H/P, W/P, H/P, W/P)
        gh, gw = self.sim.shape[:2]
        ax = self.fig.add_axes((0.13, 0.1, 0.62, 0.8))
        self.shown = ax.imshow(self.sim[0, 0], cmap="RdBu_r", vmin=-1, vmax=1,
                               interpolation="nearest")
        self.frame = ax.add_patch(Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="black",
                                            linewidth=2.5))
        step = 1 if max(gh, gw) <= 8 else 2
        ax.set_xticks(range(0, gw, step))
        ax.set_yticks(range(0, gh, step))
        ax.set_xlabel("patch column l (from 0)")
        ax.set_ylabel("patch row k (from 0)")
        cax = self.fig.add_axes((0.79, 0.1, 0.035, 0.8))
        self.fig.colorbar(self.shown, cax=cax, label="cosine similarity")
        self.ax = ax
        self.layers = [[self.shown, self.frame, *ax.spines.values(), ax.title]]

    def update(self, row: int, column: int) -> _MapPicture:
        self.shown.set_data(self.sim[row, column])
        self.frame.set_xy((column - 0.5, row - 0.5))
        self.ax.set_title(f"similarity of patch ({row}, {column}) to every patch", fontsize=10,
                          y=1.0)
        return self


class _GridPicture(Picture):
    """One source's Figure 7 (centre) as one Axes: a tile image per patch, one collection
    of tile outlines, one text per row and column label; a redraw only moves the frame.

    Lesson 05 draws the same figure with one Axes per tile
    (:func:`vit_tutorial.similarity.plot_position_similarity`); here, building and drawing
    49–196 Axes would take a second, so the tiles are images placed in one Axes, in inches
    (a tile is at most 0.6 in, with gaps of 8 % of a tile).
    """

    LEFT, RIGHT, BOTTOM, TOP = 0.75, 1.35, 0.7, 0.55  # margins in inches: labels, colour bar

    def __init__(self, sim: torch.Tensor, title: str):
        from matplotlib.collections import PatchCollection
        from matplotlib.colors import Normalize
        from matplotlib.patches import Rectangle

        values = sim.detach().float().numpy()  # (H/P, W/P, H/P, W/P)
        gh, gw = values.shape[:2]
        side = min(0.6, 6.0 / max(gh, gw))  # a tile's longer side
        tile_w, tile_h = side * gw / max(gh, gw), side * gh / max(gh, gw)  # the image's aspect
        gap = 0.08 * side
        width, height = gw * tile_w + (gw - 1) * gap, gh * tile_h + (gh - 1) * gap
        fw, fh = self.LEFT + width + self.RIGHT, self.BOTTOM + height + self.TOP
        super().__init__(fw, fh)
        box = (self.LEFT / fw, self.BOTTOM / fh, width / fw, height / fh)
        ax = self.fig.add_axes(box)
        ax.set_axis_off()
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)  # inches from the top-left corner, rows downwards
        norm = Normalize(vmin=-1.0, vmax=1.0)  # one scale for every tile
        fontsize = 8 if side >= 0.45 else 7
        self.corners = {}
        for i in range(gh):
            for j in range(gw):
                x, y = j * (tile_w + gap), i * (tile_h + gap)
                ax.imshow(values[i, j], cmap="RdBu_r", norm=norm, interpolation="nearest",
                          extent=(x, x + tile_w, y + tile_h, y), aspect="auto")
                self.corners[i, j] = (x, y)
        ax.add_collection(PatchCollection(
            [Rectangle(xy, tile_w, tile_h) for xy in self.corners.values()],
            facecolor="none", edgecolor="black", linewidth=0.8))  # each tile's outline
        pad = 3 / 72  # 3 points, in inches
        for i in range(gh):
            ax.text(-pad, i * (tile_h + gap) + tile_h / 2, str(i), ha="right", va="center",
                    fontsize=fontsize)
        for j in range(gw):
            ax.text(j * (tile_w + gap) + tile_w / 2, height + pad, str(j), ha="center",
                    va="top", fontsize=fontsize)
        self.fig.supylabel("input patch row (from 0)", x=0.12 / fw, ha="left")
        self.fig.supxlabel("input patch column (from 0)", y=0.08 / fh, va="bottom")
        self.fig.suptitle(title, y=1 - 0.1 / fh, va="top")
        cax = self.fig.add_axes((box[0] + box[2] + 0.2 / fw, box[1], 0.15 / fw, box[3]))
        self.fig.colorbar(ax.images[0], cax=cax, label="cosine similarity")
        self.frame = ax.add_patch(Rectangle((0, 0), tile_w, tile_h, fill=False,
                                            edgecolor="black", linewidth=2.5, clip_on=False,
                                            zorder=3))
        self.layers = [[self.frame]]

    def update(self, row: int, column: int) -> _GridPicture:
        self.frame.set_xy(self.corners[row, column])
        return self


@functools.cache
def _pictures(source: str) -> tuple[_MapPicture, _GridPicture]:
    sim, label = similarity_source(source)  # "pretrained" only reaches here once loaded
    return _MapPicture(sim), _GridPicture(sim, f"Figure 7 (centre): {label}")


@dataclass(frozen=True)
class SimilarityView:
    r"""What the similarity explorer shows for one source and one patch (lesson 05).

    Attributes:
        source: the key in :data:`SIMILARITY_SOURCES`.
        row, column: the picked patch $(i, j)$, from 0.
        grid: ``(H/P, W/P)``.
        tile: ``(H/P, W/P)``, ``sim[i, j]``: the picked patch's similarity to every patch.
        locality: :func:`~vit_tutorial.similarity.locality_score` of the whole table.
        map_png: the tile, large, with the patch framed.
        grid_png: Figure 7 (centre), with the tile framed.
        text: one line for a readout.
    """

    source: str
    row: int
    column: int
    grid: tuple[int, int]
    tile: torch.Tensor = field(repr=False)
    locality: float
    map_png: bytes = field(repr=False)
    grid_png: bytes = field(repr=False)
    text: str


@functools.cache
def _locality(source: str) -> float:
    return locality_score(similarity_source(source)[0])


def similarity_view(source: str = "trained", row: int = 3, column: int = 3,
                    download: bool = False) -> SimilarityView:
    r"""The similarity explorer's pictures for one source of $E_\text{pos}$ and one patch.

    The first call for a source computes its table and draws its two pictures (a few
    tenths of a second); later calls for that source only move the frames and swap the
    large map's data and title (tens of milliseconds).

    Args:
        source: a key of :data:`SIMILARITY_SOURCES`.
        row: $i$, the picked patch's grid row, from 0.
        column: $j$, its grid column, from 0.
        download: for ``"pretrained"``, passed to :func:`similarity_source`.

    Returns:
        A :class:`SimilarityView`.

    Raises:
        ValueError: unknown source, or a patch outside the grid (the message gives the range).
        vit_tutorial.weights.WeightsUnavailable: see :func:`similarity_source`.
    """
    sim, label = similarity_source(source, download=download)
    gh, gw = sim.shape[:2]
    where = f" for the {gh}×{gw} grid of {label}"
    row = check_in_range(row, "row", 0, gh - 1, where)
    column = check_in_range(column, "column", 0, gw - 1, where)
    map_picture, grid_picture = _pictures(source)
    tile = sim[row, column]
    others = tile.flatten()[torch.arange(gh * gw) != row * gw + column]  # (N - 1,)
    text = (f"{label}: patch ({row}, {column}) of the {gh}×{gw} grid; its similarity to the "
            f"other patches: "
            f"{others.min().item():+.2f} … {others.max().item():+.2f}; "
            f"locality score of the table {_locality(source):.3f}")
    return SimilarityView(source, row, column, (gh, gw), tile, _locality(source),
                          map_picture.update(row, column).png(),
                          grid_picture.update(row, column).png(), text)


class SimilarityExplorer(Explorer):
    r"""Lesson 05: Figure 7 (centre) for a chosen $E_\text{pos}$, and one patch's tile, large.

    Attributes:
        source: ``Dropdown`` over :data:`SIMILARITY_SOURCES`.
        row, column: ``IntSlider``, the picked patch $(i, j)$, from 0; their range follows
            the source's grid (7×7, or 14×14 for ViT-B/16).
        map_image: ``Image``, the picked patch's similarity to every patch.
        grid_image: ``Image``, Figure 7 (centre) with the picked tile framed.
        view: the :class:`SimilarityView` shown.
        download: whether choosing "pretrained" may download ViT-B/16's weights (330 MB).

    Raises:
        ValueError: an unknown source or a patch off the sliders (never clamped).
        TypeError: a patch that is not whole numbers, a source that is not a string.
    """

    name = "similarity"
    _settings = ("source", "row", "column")

    def __init__(self, source: str = "trained", row: int = 3, column: int = 3,
                 download: bool | None = None):
        check_choice(source, "source", SIMILARITY_SOURCES)  # never clamped to a control
        last = 13 if source == "pretrained" else _tiny_grid()[0] - 1  # until it is loaded
        row = check_in_range(row, "row", 0, last)
        column = check_in_range(column, "column", 0, last)
        self.download = ("google.colab" in sys.modules) if download is None else download
        options = [(label, key) for key, label in SIMILARITY_SOURCES.items()]
        self.source = dropdown("E_pos of", options, source)
        self.row = slider("patch row i", row, 0, last)
        self.column = slider("patch column j", column, 0, last)
        self.map_image = picture()
        self.grid_image = picture()
        self.view = None
        self._shown_source = source
        super().__init__([self.source, self.row, self.column], [self.map_image, self.grid_image])
        self.refresh()

    def _pngs(self) -> list[bytes]:
        return [bytes(self.map_image.value), bytes(self.grid_image.value)]

    def _draw(self) -> None:
        source = self.source.value
        if source == "pretrained" and self._shown_source != "pretrained":
            self._say("Loading ViT-B/16's pretrained position embeddings"
                      + (" (a 330 MB download the first time)…" if self.download else "…"))
        try:
            sim, _ = similarity_source(source, download=self.download)
        except Exception:
            with self._hold():  # go back to the source still shown; the message says why
                self.source.value = self._shown_source
            raise
        gh, gw = sim.shape[:2]
        with self._hold():  # a new grid size moves the sliders' ranges (and maybe values)
            self.row.max, self.column.max = gh - 1, gw - 1
        self.view = similarity_view(source, self.row.value, self.column.value,
                                              download=self.download)
        self._shown_source = source
        self.map_image.value = self.view.map_png
        self.grid_image.value = self.view.grid_png
        self._set_readout(self.view.text)

    def _fail(self, error: Exception) -> None:
        if isinstance(error, WeightsUnavailable):
            hint = ("call similarity_explorer(download=True) to fetch them (330 MB)"
                    if not self.download else "check the connection and try again")
            self._say(f"ViT-B/16's pretrained weights are not available here ({error}); "
                      f"still showing {SIMILARITY_SOURCES[self._shown_source]}. "
                      f"On Colab they download by themselves; on your own machine {hint}.")
        else:
            super()._fail(error)


def similarity_explorer(source: str = "trained", row: int = 3, column: int = 3,
                        download: bool | None = None) -> SimilarityExplorer:
    """Lesson 05's explorer: pick a source of E_pos and a patch; see its similarity map.

    Args:
        source: ``"init"``, ``"trained"``, ``"sincos"`` or ``"pretrained"``.
        row, column: the patch, from 0.
        download: may choosing ``"pretrained"`` download the weights? Default: on Colab only.

    Raises:
        ValueError: an unknown source, or a patch outside the grid (the message says which
            values are allowed).
        TypeError: a patch that is not whole numbers, a source that is not a string.
    """
    return SimilarityExplorer(source, row, column, download)


def clear_caches() -> None:
    """Forget everything computed for the explorer: the similarity tables (the pretrained
    one included), their locality scores and the drawn Figure 7 grids, so the next view of
    a source starts from scratch (for timing the first view, and for tests)."""
    _similarity_table.cache_clear()
    _PRETRAINED.clear()
    _locality.cache_clear()
    _pictures.cache_clear()
