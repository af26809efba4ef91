r"""The pictures and numbers behind the lessons' interactive explorers.

Each explorer in :mod:`vit_tutorial.widgets` is a thin layer: its sliders and menus call one
function here, and show what it returns. The functions here know nothing about widgets (this
module never imports ``ipywidgets``), so they run — and are tested — anywhere, and a lesson
can show their result as a plain picture where no widget can live (GitHub, nbviewer, a
static export).

- 01 :func:`patch_summary`, :func:`draw_patch_explorer` — $N = HW/P^2$ and
  $x_p \in \mathbb{R}^{N \times (P^2 \cdot C)}$ for any image and patch size, with the
  package's own error message when $P$ does not divide the image.
- 02 :func:`patch_embedding_view` — one patch, its $P^2 \cdot C$ values and its
  embedding $x_p^n E$ (Eq. 1).
- 05 :func:`similarity_view` — Figure 7 (centre) for one source of $E_\text{pos}$, and the
  tile of one patch, large.
- 06 :func:`interpolation_view`, :func:`resolution_accuracy` — $E_\text{pos}$ resized to
  any grid (Sec. 3.2), and what that does to the trained TinyViT's accuracy.

Figures are made with ``matplotlib.figure.Figure`` directly, never with ``pyplot``: a
widget callback runs outside any notebook cell, and a ``pyplot`` figure made there would
stay registered and pop up under the *next* cell the reader runs. Every explorer image is
PNG bytes rendered by Agg (:func:`render_png`), so what the widget shows, what the tests
check and what the static preview stores are the same pixels.

:func:`explorer_timings` measures how long a redraw takes (the benchmark calls it).
"""

from __future__ import annotations

import functools
import io
import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from vit_tutorial._checks import check_positive_int

__all__ = [
    "render_png", "compose_png", "Picture", "preview_png", "static_preview", "explorer_timings",
    "PatchSummary", "patch_summary", "draw_patch_explorer", "patch_explorer_png",
    "PatchEmbeddingView", "patch_embedding_view",
    "SIMILARITY_SOURCES", "SimilarityView", "similarity_source", "similarity_view",
    "INTERPOLATION_MODES", "InterpolationView", "interpolation_view", "resolution_accuracy",
    "accuracy_text",
    "held_out_digits", "STATIC_CAPTION",
]

DPI = 80  # pixels per inch of every explorer picture: sharp enough, small enough to redraw fast
STATIC_CAPTION = ("A static picture of this explorer: run the notebook (in JupyterLab or "
                  "Colab) to move its controls.")


# --- rendering ---------------------------------------------------------------------------


def _new_figure(width: float, height: float):
    """A Figure with an Agg canvas, outside pyplot (see the module docstring)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def _rgb(fig) -> np.ndarray:
    """Draw ``fig`` and return its pixels, ``(height, width, 3)`` uint8."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()


def _png(pixels: np.ndarray, compress_level: int = 1) -> bytes:
    """Encode ``(height, width, 3)`` uint8 pixels as PNG (no timestamps: same pixels, same
    bytes)."""
    from PIL import Image  # Pillow comes with matplotlib

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="png", compress_level=compress_level)
    return buffer.getvalue()


def render_png(fig, compress_level: int = 1) -> bytes:
    """Render a matplotlib ``Figure`` to PNG bytes with Agg.

    Args:
        fig: the figure; it is drawn at its own size and dpi.
        compress_level: zlib level 0–9. The explorers use 1: a redraw is sent to the browser
            at once, and level 1 encodes several times faster than the default 6 for a file
            only a little larger.

    Returns:
        The PNG file's bytes (deterministic: the same pixels give the same bytes).
    """
    return _png(_rgb(fig), compress_level)


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
    fig = _new_figure(width_px / DPI, 0.42)
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=9, color="0.25",
             style="italic", wrap=True)
    return _rgb(fig)


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
    return _png(picture, compress_level=6)


@dataclass(frozen=True)
class Picture:
    """PNG bytes that a notebook shows as an image, with a fixed one-line text form.

    Its ``text/plain`` form is its ``title`` (no memory address), so strict nbval can check a
    cell that shows one; the image itself is not compared.
    """

    png: bytes = field(repr=False)
    title: str

    def _repr_png_(self) -> bytes:
        return self.png

    def __repr__(self) -> str:
        return self.title


# --- 01: patches -------------------------------------------------------------------------


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
    from vit_tutorial.patches import num_patches

    S = check_positive_int(image_size, "image_size")
    P = check_positive_int(patch_size, "patch_size")
    C = check_positive_int(channels, "channels")
    try:
        N = num_patches(S, P)
    except ValueError as error:
        return PatchSummary(S, P, C, None, None, P * P * C, str(error))
    return PatchSummary(S, P, C, (S // P, S // P), N, P * P * C, None)


@functools.lru_cache(maxsize=16)
def _photo(image_size: int) -> torch.Tensor:
    """matplotlib's photo of Grace Hopper at ``image_size`` (cached: resizing costs ~20 ms)."""
    from vit_tutorial.data import grace_hopper

    return grace_hopper(image_size)


def _grid_lines(ax, rows: int, cols: int, patch: int, colour: str = "white") -> None:
    """Lines between ``rows × cols`` patches of ``patch`` pixels, as one artist (fast even
    for P = 1)."""
    from matplotlib.collections import LineCollection

    height, width = rows * patch, cols * patch
    segments = [[(-0.5, r * patch - 0.5), (width - 0.5, r * patch - 0.5)] for r in range(1, rows)]
    segments += [[(c * patch - 0.5, -0.5), (c * patch - 0.5, height - 0.5)] for c in range(1, cols)]
    width_pt = 0.8 if max(rows, cols) <= 64 else 0.3
    ax.add_collection(LineCollection(segments, colors=colour, linewidths=width_pt))


def draw_patch_explorer(image_size: int = 224, patch_size: int = 16):
    r"""The patch explorer's picture (lesson 01): the photo cut into patches, and $x_p$.

    Left: the photo at ``image_size``² with the grid of ``patch_size``² patches; patches are
    numbered in reading order (all of them when $N \le 64$, else the first and last of the
    first two rows and the very last). If $P$ does not divide the size, the whole patches
    are drawn and the leftover strip of pixels is hatched in red. Right: the sequence
    $x_p$ as an $N \times (P^2 \cdot C)$ matrix of pixel values — one row per patch, in
    (C, P, P) order — or the error message.

    Args:
        image_size: $H$ = $W$ of the photo, in pixels.
        patch_size: $P$.

    Returns:
        A matplotlib ``Figure`` (not registered with pyplot).
    """
    from matplotlib.patches import Rectangle

    from vit_tutorial.patches import image_to_patches

    summary = patch_summary(image_size, patch_size)
    S, P = summary.image_size, summary.patch_size
    image = _photo(S)  # (C, H, W)
    fig = _new_figure(9.6, 4.4)
    ax_photo = fig.add_axes((0.07, 0.12, 0.38, 0.76))
    picture = image.permute(1, 2, 0).numpy()  # (C, H, W) -> (H, W, C)
    ax_photo.imshow(picture, interpolation="antialiased")
    ax_photo.set_xlabel("width (pixels)")
    ax_photo.set_ylabel("height (pixels)")
    whole = S // P  # whole patches per side
    if whole:
        _grid_lines(ax_photo, whole, whole, P)
    if summary.ok:
        gh, gw = summary.grid
        N = summary.num_patches
        if N <= 64:
            numbered = range(N)
        else:
            numbered = sorted({0, 1, gw - 1, gw, 2 * gw - 1, N - 1} & set(range(N)))
        fontsize = 8 if max(gh, gw) <= 8 else 7
        for n in numbered:
            r, c = divmod(n, gw)
            ax_photo.text(c * P + 0.04 * P, r * P + 0.04 * P, str(n), color="white",
                          fontsize=fontsize, va="top", ha="left",
                          bbox=dict(facecolor="black", alpha=0.35, pad=0.6, linewidth=0))
        ax_photo.set_title(f"{S}×{S} photo, P = {P}: {gh}×{gw} = {N} patches", fontsize=10)
    else:
        left = S - whole * P  # leftover pixels on the right and at the bottom
        for xy, w, h in (((whole * P - 0.5, -0.5), left, S), ((-0.5, whole * P - 0.5), S, left)):
            ax_photo.add_patch(Rectangle(xy, w, h, facecolor="tab:red", alpha=0.35,
                                         edgecolor="tab:red", hatch="//", linewidth=1))
        ax_photo.set_title(f"{S} = {whole}·{P} + {left}: {left} pixel(s) left over", fontsize=10,
                           color="tab:red")
    ax_photo.set_xlim(-0.5, S - 0.5)
    ax_photo.set_ylim(S - 0.5, -0.5)
    ticks = _few_ticks(S)  # few tick labels: text is most of the drawing time
    ax_photo.set_xticks(ticks)
    ax_photo.set_yticks(ticks)

    ax_seq = fig.add_axes((0.56, 0.12, 0.33, 0.76))
    if summary.ok:
        x_p = image_to_patches(image, P)  # (C, H, W) -> (N, C·P·P)
        N, K = x_p.shape
        shown = ax_seq.imshow(x_p.numpy(), cmap="gray", vmin=0, vmax=1, aspect="auto",
                              interpolation="antialiased")
        length = P * P
        ax_seq.set_xticks([length * c + length / 2 - 0.5 for c in range(3)],
                          ["R", "G", "B"])
        for c in (1, 2):
            ax_seq.axvline(length * c - 0.5, color="tab:orange", linewidth=1)
        ax_seq.set_xlabel(f"value in the patch vector: C·P·P = 3·{P}·{P} = {K}")
        ax_seq.set_yticks(_few_ticks(N - 1))
        ax_seq.set_ylabel(f"patch n (0 … {N - 1})")
        ax_seq.set_title(f"x_p: ({N}, {K}) = (N, P²·C)", fontsize=10)
        cax = fig.add_axes((0.905, 0.12, 0.015, 0.76))
        fig.colorbar(shown, cax=cax, label="pixel value", ticks=[0, 0.5, 1])
    else:
        ax_seq.set_axis_off()
        ax_seq.text(0.0, 0.6, f"No x_p: image_to_patches would raise\n\nValueError: "
                    f"{_wrap(summary.error, 42)}", transform=ax_seq.transAxes, fontsize=10,
                    color="tab:red", va="center", ha="left")
    return fig


def _few_ticks(last: int) -> list[int]:
    """About four round tick positions from 0 to ``last``."""
    from matplotlib.ticker import MaxNLocator

    values = MaxNLocator(nbins=4, integer=True, steps=[1, 2, 2.5, 5, 10]).tick_values(0, last)
    return [int(v) for v in values if 0 <= v <= last]


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))


def patch_explorer_png(image_size: int = 224, patch_size: int = 16) -> bytes:
    """:func:`draw_patch_explorer` rendered to PNG bytes (what the widget shows)."""
    return render_png(draw_patch_explorer(image_size, patch_size))


# --- 02: one patch and its embedding -------------------------------------------------------


@functools.lru_cache(maxsize=4)
def _seeded_embedding(image_size: int, patch_size: int, embed_dim: int):
    """Lesson 02's randomly initialised E (seed 0), without touching the global RNG."""
    from vit_tutorial.patch_embedding import PatchEmbedding

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return PatchEmbedding(image_size, patch_size, 3, embed_dim).eval()


@dataclass(frozen=True)
class PatchEmbeddingView:
    r"""One patch $x_p^n$ and its embedding $x_p^n E + b$ (lesson 02).

    Attributes:
        index: $n$.
        row, column: where the patch sits on the grid (from 0).
        patch_vector: ``(P²·C,)``, the patch's values in (C, P, P) order.
        embedding: ``(D,)``, ``x_p^n E + b`` with lesson 02's random $E$ (seed 0).
        png: the picture.
        text: one line for a readout.
    """

    index: int
    row: int
    column: int
    patch_vector: torch.Tensor = field(repr=False)
    embedding: torch.Tensor = field(repr=False)
    png: bytes = field(repr=False)
    text: str


def patch_embedding_view(index: int = 78, patch_size: int = 16, image_size: int = 224,
                         embed_dim: int = 768) -> PatchEmbeddingView:
    r"""Patch $n$ of the photo, its $P^2 \cdot C$ values, and its embedding (Eq. 1).

    Draws :func:`~vit_tutorial.patches.plot_patch_vector` (where the patch is, the patch, its
    vector) and, beside it, $x_p^n E + b$: the $D$ numbers the Transformer receives for
    this patch, from ``PatchEmbedding`` with lesson 02's random weights (seed 0).

    Args:
        index: $n$, ``0 <= index < N``.
        patch_size: $P$.
        image_size: $H$ = $W$ of the photo.
        embed_dim: $D$.

    Returns:
        A :class:`PatchEmbeddingView`.

    Raises:
        ValueError: if ``index`` is not a patch of the grid (the message gives the range).
    """
    from vit_tutorial.patches import image_to_patches, plot_patch_vector

    image = _photo(check_positive_int(image_size, "image_size"))
    embedding_layer = _seeded_embedding(image_size, patch_size, embed_dim)
    fig = _new_figure(15.5, 3.6)
    axes = fig.subplots(1, 4, gridspec_kw=dict(width_ratios=[1, 1, 2.3, 2.3], left=0.04,
                                               right=0.99, bottom=0.17, top=0.86, wspace=0.3))
    plot_patch_vector(image, patch_size, index, axes=axes[:3])  # checks index, raises ValueError
    gw = image_size // patch_size
    row, column = divmod(index, gw)
    vector = image_to_patches(image, patch_size)[index]  # (N, C·P·P) -> (C·P·P,)
    with torch.no_grad():
        tokens = embedding_layer(image.unsqueeze(0))[0]  # (1, C, H, W) -> (1, N, D) -> (N, D)
    embedding = tokens[index]  # (D,)
    ax = axes[3]
    ax.plot(range(embed_dim), embedding.numpy(), color="tab:purple", linewidth=0.7)
    ax.axhline(0, color="0.6", linewidth=0.6)
    ax.set_xlim(-0.5, embed_dim - 0.5)
    ax.set_title(f"its embedding $x_p^{{{index}}} E + b$: D = {embed_dim} values", fontsize=10)
    ax.set_xlabel("channel d of the embedding")
    ax.set_ylabel("value (random E, seed 0)")
    for a in axes[:3]:
        a.title.set_fontsize(10)
    text = (f"patch n = {index} of N = {gw * gw}: grid row {row}, column {column}; "
            f"x_p^{index} has P²·C = {vector.numel()} values, "
            f"x_p^{index} E + b has D = {embed_dim}")
    return PatchEmbeddingView(index, row, column, vector, embedding, render_png(fig), text)


# --- 05: position-embedding similarity ----------------------------------------------------

#: The sources of $E_\text{pos}$ the similarity explorer offers: key -> label.
SIMILARITY_SOURCES = {
    "init": "TinyViT at initialisation (seed 0)",
    "trained": "TinyViT, trained (40 epochs)",
    "sincos": "2-D sine–cosine (fixed)",
    "pretrained": "ViT-B/16, pretrained on ImageNet (download)",
}


@functools.lru_cache(maxsize=1)
def _tiny_vit():
    from vit_tutorial.model import load_tiny_vit

    return load_tiny_vit()


@functools.lru_cache(maxsize=None)
def _similarity_table(source: str) -> tuple[torch.Tensor, str]:
    """``(sim, label)`` for a source other than "pretrained" (cached)."""
    from vit_tutorial.model import TinyViT
    from vit_tutorial.positional_embedding import sincos_2d_pos_embed
    from vit_tutorial.similarity import pos_embed_of, position_similarity

    if source == "init":
        with torch.random.fork_rng(devices=[]):  # lesson 05's seed, the reader's RNG untouched
            torch.manual_seed(0)
            model = TinyViT()
        return position_similarity(*pos_embed_of(model)), SIMILARITY_SOURCES[source]
    if source == "trained":
        return position_similarity(*pos_embed_of(_tiny_vit())), SIMILARITY_SOURCES[source]
    if source == "sincos":
        table = sincos_2d_pos_embed(7, 64)  # (N, D), TinyViT's grid and width
        return position_similarity(table, 7, num_prefix_tokens=0), SIMILARITY_SOURCES[source]
    raise AssertionError(source)


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
    if source not in SIMILARITY_SOURCES:
        raise ValueError(f"source must be one of {', '.join(map(repr, SIMILARITY_SOURCES))}, "
                         f"got {source!r}")
    if source != "pretrained":
        return _similarity_table(source)
    if "sim" not in _PRETRAINED:
        from vit_tutorial.similarity import position_similarity
        from vit_tutorial.weights import torchvision_pretrained_state_dict

        state = torchvision_pretrained_state_dict("vit_b_16", download=download)
        pos_embed = state["encoder.pos_embedding"]  # (1, 197, 768)
        _PRETRAINED["sim"] = position_similarity(pos_embed, 14, num_prefix_tokens=1)
    return _PRETRAINED["sim"], SIMILARITY_SOURCES[source]


class _MapRenderer:
    """One source's large similarity map; a redraw only swaps the data and the frame."""

    def __init__(self, sim: torch.Tensor):
        from matplotlib.patches import Rectangle

        self.sim = sim.detach().float().numpy()  # (H/P, W/P, H/P, W/P)
        gh, gw = self.sim.shape[:2]
        self.fig = _new_figure(5.4, 5.0)
        ax = self.fig.add_axes((0.13, 0.1, 0.62, 0.8))
        self.shown = ax.imshow(self.sim[0, 0], cmap="RdBu_r", vmin=-1, vmax=1,
                               interpolation="nearest")
        self.frame = Rectangle((-0.5, -0.5), 1, 1, fill=False, edgecolor="black", linewidth=2.5)
        ax.add_patch(self.frame)
        step = 1 if max(gh, gw) <= 8 else 2
        ax.set_xticks(range(0, gw, step))
        ax.set_yticks(range(0, gh, step))
        ax.set_xlabel("patch column l (from 0)")
        ax.set_ylabel("patch row k (from 0)")
        cax = self.fig.add_axes((0.79, 0.1, 0.035, 0.8))
        self.fig.colorbar(self.shown, cax=cax, label="cosine similarity")
        self.ax = ax

    def png(self, row: int, column: int) -> bytes:
        self.shown.set_data(self.sim[row, column])
        self.frame.set_xy((column - 0.5, row - 0.5))
        self.ax.set_title(f"similarity of patch ({row}, {column}) to every patch", fontsize=10)
        return render_png(self.fig)


class _GridRenderer:
    """One source's Figure 7 grid, drawn once; a redraw restores it and draws the frame.

    Building ~50–200 small Axes takes most of a second, so the grid is drawn once per source
    and kept as a background (matplotlib's blitting API); picking another patch only paints
    the highlight frame over it.
    """

    def __init__(self, sim: torch.Tensor, title: str):
        from vit_tutorial.similarity import plot_position_similarity

        gh, gw = sim.shape[:2]
        # plot_position_similarity's own size for this grid (its tiles, labels and colour bar)
        tile = min(0.6, 6.0 / max(gh, gw))
        grid_w, grid_h = (n * tile + (n - 1) * 0.08 * tile for n in (gw, gh))
        self.fig = _new_figure(0.75 + grid_w + 1.35, 0.7 + grid_h + 0.55)
        _, self.axes = plot_position_similarity(sim, title=title, fig=self.fig)
        self.fig.canvas.draw()
        self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)

    def png(self, row: int, column: int) -> bytes:
        from matplotlib.patches import Rectangle

        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        ax = self.axes[row, column]
        # The same frame plot_position_similarity(highlight=...) draws.
        frame = Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, edgecolor="black",
                          linewidth=2.5, clip_on=False)
        frame.set_figure(self.fig)
        frame.draw(canvas.get_renderer())
        return _png(np.asarray(canvas.buffer_rgba())[..., :3].copy())


@functools.lru_cache(maxsize=None)
def _renderers(source: str) -> tuple[_MapRenderer, _GridRenderer]:
    sim, label = similarity_source(source)  # "pretrained" only reaches here once loaded
    return _MapRenderer(sim), _GridRenderer(sim, f"Figure 7 (centre): {label}")


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


@functools.lru_cache(maxsize=None)
def _locality(source: str) -> float:
    from vit_tutorial.similarity import locality_score

    return locality_score(similarity_source(source)[0])


def similarity_view(source: str = "trained", row: int = 3, column: int = 3,
                    download: bool = False) -> SimilarityView:
    r"""The similarity explorer's pictures for one source of $E_\text{pos}$ and one patch.

    The first call for a source draws its Figure 7 grid (about a second for 7×7); later
    calls for that source only repaint the frame and the large map (tens of milliseconds).

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
    for value, name, limit in ((row, "row", gh), (column, "column", gw)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < limit:
            raise ValueError(f"{name} must be an int from 0 to {limit - 1} for the {gh}×{gw} grid "
                             f"of {label}, got {value!r}")
    map_renderer, grid_renderer = _renderers(source)
    tile = sim[row, column]
    others = tile.flatten()[torch.arange(gh * gw) != row * gw + column]  # (N - 1,)
    text = (f"{label}: patch ({row}, {column}) of the {gh}×{gw} grid (Figure 7's tile in row "
            f"{row + 1}, column {column + 1}); its similarity to the other patches: "
            f"{others.min().item():+.2f} … {others.max().item():+.2f}; "
            f"locality score of the table {_locality(source):.3f}")
    return SimilarityView(source, row, column, (gh, gw), tile, _locality(source),
                          map_renderer.png(row, column), grid_renderer.png(row, column), text)


# --- 06: interpolating E_pos ------------------------------------------------------------

#: The interpolation modes the explorer offers (those of resize_pos_embed).
INTERPOLATION_MODES = ("bicubic", "bilinear", "nearest", "area")


@functools.lru_cache(maxsize=1)
def _trained_pos_embed() -> tuple[torch.Tensor, list[int]]:
    """TinyViT's E_pos ``(1, 50, 64)`` and the 3 channels that vary most over its grid."""
    pos_embed = _tiny_vit().pos_embedding.pos_embed.detach()  # (1, N + 1, D)
    channels = pos_embed[0, 1:].std(dim=0).topk(3).indices.tolist()  # as lesson 06 picks them
    return pos_embed, channels


@functools.lru_cache(maxsize=8)
def held_out_digits(height: int, width: int) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The 360 test digits at ``height × width`` pixels (any aspect), with their labels.

    The same recipe as :func:`vit_tutorial.data.digits` — the 8×8 originals upsampled
    bilinearly — so for a square size it returns exactly ``digits("test", size)``.

    Shapes:
        ``(360, 1, H, W)`` float32 in [0, 1] and ``(360,)`` int64
    """
    import torch.nn.functional as F

    from vit_tutorial.data import digits

    H = check_positive_int(height, "height")
    W = check_positive_int(width, "width")
    originals, labels = digits("test", 8)  # (360, 1, 8, 8): the originals, unchanged
    images = F.interpolate(originals, size=(H, W), mode="bilinear",
                           align_corners=False)  # (B, 1, 8, 8) -> (B, 1, H, W)
    return images.clamp_(0, 1), labels


def _check_grid(rows: object, columns: object, mode: object) -> tuple[int, int, str]:
    rows = check_positive_int(rows, "rows")
    columns = check_positive_int(columns, "columns")
    if mode not in INTERPOLATION_MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, INTERPOLATION_MODES))}, "
                         f"got {mode!r}")
    return rows, columns, mode


@functools.lru_cache(maxsize=None)
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
    from vit_tutorial.train import evaluate

    rows, columns, mode = _check_grid(rows, columns, mode)
    model = _tiny_vit()
    P = model.config.patch_size
    images, labels = held_out_digits(rows * P, columns * P)
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
    from matplotlib.ticker import MaxNLocator

    from vit_tutorial.interpolation import resize_pos_embed
    from vit_tutorial.similarity import position_similarity

    rows, columns, mode = _check_grid(rows, columns, mode)
    if position is None:
        position = (rows // 2, columns // 2)
    i, j = position
    if not (isinstance(i, int) and isinstance(j, int) and 0 <= i < rows and 0 <= j < columns):
        raise ValueError(f"position must be (row, column) with 0 <= row < {rows} and "
                         f"0 <= column < {columns} for the {rows}×{columns} grid, "
                         f"got {position!r}")
    pos_embed, channels = _trained_pos_embed()  # (1, 50, 64)
    old = 7
    resized = resize_pos_embed(pos_embed, (rows, columns), old, mode=mode)  # (1, 1 + N', D)
    D = pos_embed.shape[-1]
    maps_old = pos_embed[0, 1:].T.reshape(D, old, old)  # (N, D) -> (D, N) -> (D, 7, 7)
    maps_new = resized[0, 1:].T.reshape(D, rows, columns)  # (N', D) -> (D, N') -> (D, H'/P, W'/P)
    # The old position at the same place in the image as the picked new one.
    oi, oj = min(old - 1, int((i + 0.5) * old / rows)), min(old - 1, int((j + 0.5) * old / columns))
    sim_old = position_similarity(pos_embed, old)[oi, oj]  # (7, 7)
    sim_new = position_similarity(resized, (rows, columns))[i, j]  # (H'/P, W'/P)

    fig = _new_figure(11.5, 5.6)
    spec = fig.add_gridspec(2, 7, width_ratios=[1, 1, 1, 0.07, 0.3, 1.25, 0.07], left=0.11,
                            right=0.93, bottom=0.08, top=0.86, wspace=0.45, hspace=0.35)
    axes = np.array([[fig.add_subplot(spec[r, c]) for c in (0, 1, 2, 5)] for r in range(2)])
    low = min(maps_old[channels].min().item(), maps_new[channels].min().item())
    high = max(maps_old[channels].max().item(), maps_new[channels].max().item())
    names = ("trained", f"{mode}")
    sizes = ("7×7", f"{rows}×{columns}")
    for r, maps in enumerate((maps_old, maps_new)):
        for col, ch in enumerate(channels):
            values = axes[r, col].imshow(maps[ch].numpy(), cmap="viridis", vmin=low, vmax=high,
                                         interpolation="nearest")
            axes[r, col].set_title(f"channel {ch}", fontsize=9)
        fig.text(0.006, 0.86 - 0.39 * r - 0.2, f"{names[r]}\n{sizes[r]}", fontsize=10,
                 ha="left", va="center", weight="bold")
    fig.colorbar(values, cax=fig.add_subplot(spec[:, 3]), label="E_pos value (3 channels)")
    for r, (s, (pi, pj)) in enumerate(((sim_old, (oi, oj)), (sim_new, (i, j)))):
        ax = axes[r, 3]
        similar = ax.imshow(s.numpy(), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.plot([pj], [pi], marker="s", markersize=7, markerfacecolor="none",
                markeredgecolor="black", markeredgewidth=2)
        ax.set_title(f"similarity of position ({pi}, {pj})", fontsize=9)
    fig.colorbar(similar, cax=fig.add_subplot(spec[:, 6]), label="cosine similarity")
    for ax in axes.flat:
        ax.set_xlabel("patch column", fontsize=8)
        ax.set_ylabel("patch row", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(f"TinyViT's E_pos {tuple(pos_embed.shape)} -> {tuple(resized.shape)}, "
                 f"{mode}; the class-token row is kept", fontsize=11)
    P = _tiny_vit().config.patch_size
    text = (f"grid 7×7 -> {rows}×{columns} ({mode}): E_pos {tuple(pos_embed.shape)} -> "
            f"{tuple(resized.shape)}, for {P * rows}×{P * columns} images "
            f"(1 + {rows}·{columns} = {1 + rows * columns} tokens)")
    return InterpolationView((rows, columns), mode, (i, j), resized, render_png(fig), text)


def accuracy_text(rows: int, columns: int, mode: str) -> str:
    """One line: TinyViT's accuracy at this grid, next to its accuracy at 28×28."""
    P = _tiny_vit().config.patch_size
    new = resolution_accuracy(rows, columns, mode)
    base = resolution_accuracy(7, 7, "bicubic")
    return (f"TinyViT at {P * rows}×{P * columns} ({rows}×{columns} grid, {mode} E_pos, "
            f"no fine-tuning): {new:.1%} of the 360 test digits; at 28×28, where it was "
            f"trained: {base:.1%}")


# --- previews and timings -----------------------------------------------------------------


def preview_png(name: str, caption: str | None = STATIC_CAPTION, **settings) -> bytes:
    """One explorer's picture for its default (or given) settings, as one PNG.

    Args:
        name: ``"patch"``, ``"patch_embedding"``, ``"similarity"`` or ``"interpolation"``.
        caption: a line under the picture (default: how to get the interactive version);
            ``None`` for none.
        **settings: the pure function's arguments, e.g. ``patch_size=8``.
    """
    if name == "patch":
        pngs = [patch_explorer_png(**settings)]
    elif name == "patch_embedding":
        pngs = [patch_embedding_view(**settings).png]
    elif name == "similarity":
        view = similarity_view(**settings)
        pngs = [view.map_png, view.grid_png]
    elif name == "interpolation":
        pngs = [interpolation_view(**settings).png]
    else:
        raise ValueError(f"name must be 'patch', 'patch_embedding', 'similarity' or "
                         f"'interpolation', got {name!r}")
    return compose_png(pngs, caption)


def static_preview(name: str, **settings) -> Picture:
    """The picture a lesson shows where widgets can't run (see :func:`preview_png`).

    Its text form is fixed (``static preview: patch explorer``), so a checked notebook cell
    can end with it.
    """
    title = f"static preview: {name.replace('_', ' ')} explorer"
    return Picture(preview_png(name, **settings), title)


def _median_ms(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(1000 * statistics.median(times), 1)


def explorer_timings(repeats: int = 5) -> dict[str, float]:
    """How long the explorers take to redraw, in milliseconds (median of ``repeats``).

    Measured on the pure functions the widgets call, so it is the kernel's share of a
    slider move (the browser then decodes one PNG). Targets on the course's 2-core machine:
    patch explorer < 200 ms, similarity explorer < 500 ms per pick.

    Returns:
        ``{"patch (P changes)": ms, "patch (image size changes)": ms, ...}``, first-time costs
        (building a source's Figure 7 grid, a new accuracy) included as their own entries.
    """
    results: dict[str, float] = {}
    patch_sizes = iter([8, 16, 32, 14, 28, 7, 4, 56] * repeats)
    results["patch: new P"] = _median_ms(lambda: patch_explorer_png(224, next(patch_sizes)),
                                         repeats)
    results["patch: P does not divide"] = _median_ms(lambda: patch_explorer_png(224, 15), repeats)
    start = time.perf_counter()
    _renderers.cache_clear()
    similarity_view("trained", 0, 0)
    results["similarity: first view of a source (7×7 grid)"] = round(
        1000 * (time.perf_counter() - start), 1)
    picks = iter([(r, c) for r in range(7) for c in range(7)] * repeats)
    results["similarity: new patch"] = _median_ms(lambda: similarity_view("trained", *next(picks)),
                                                  repeats)
    sizes = iter([(14, 14), (10, 12), (7, 14), (16, 16), (5, 5)] * repeats)
    results["interpolation: new grid (figure)"] = _median_ms(
        lambda: interpolation_view(*next(sizes)), repeats)
    resolution_accuracy.cache_clear()
    resolution_accuracy(7, 7, "bicubic")  # the reference the readout compares with
    start = time.perf_counter()
    resolution_accuracy(14, 14, "bicubic")
    results["interpolation: accuracy, first time at 14×14"] = round(
        1000 * (time.perf_counter() - start), 1)
    results["interpolation: accuracy, cached"] = _median_ms(
        lambda: resolution_accuracy(14, 14, "bicubic"), repeats)
    results["patch embedding: new patch"] = _median_ms(lambda: patch_embedding_view(78), repeats)
    return results
