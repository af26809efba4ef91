r"""The course's picture of the whole: ViT-B/16 from image to class (the paper's Figure 1).

One drawing shows every stage of Eq. 1–4 with the paper's symbols and ViT-B/16's real
shapes — image $\mathbf{x}$ (224 × 224 × 3) → 196 flattened patches $\mathbf{x}_p$
(196 × 768) → patch embeddings $\mathbf{x}_p\mathbf{E}$ → prepend $\mathbf{x}_{class}$
(197 × 768) → add $\mathbf{E}_{pos}$ → $L$ pre-norm encoder blocks →
$\mathbf{y} = \mathrm{LN}(\mathbf{z}_L^0)$ → MLP head → class. Each lesson opens with the
same picture, its own step highlighted and the others greyed (``STEPS`` says which).

The pictures are committed in ``images/`` (``pipeline.png``, ``pipeline_01.png`` …), and
each PNG carries a fingerprint of the code that drew it, so a check can tell when one is
out of date without comparing pixels (which differ between matplotlib versions)::

    python -m vit_tutorial.diagram            # list out-of-date pictures (exit status 1)
    python -m vit_tutorial.diagram --write    # redraw them

For phones the same drawing comes in a narrow layout (``layout="narrow"``,
``pipeline_narrow.png``, ``pipeline_03_narrow.png`` …): cut into ``SEGMENTS`` of at most two
stages, stacked one under the other, so its text keeps its size on a small screen. Every text
of both layouts reaches a contrast of 4.5:1 against what is behind it, greyed stages too.

Why one module: it draws one picture. Its twenty-odd small drawing helpers (one per stage
of the pipeline) share one coordinate layout and one colour scheme, and only make sense
read together; the narrow layout reuses all of them, through windows onto the same
coordinates.
"""

from __future__ import annotations

import argparse
import ast
import functools
import hashlib
import importlib.util
import io
import numbers
import os
import re
import sys
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from vit_tutorial.files import OutputPathError, atomic_write, check_writable, interruptible
from vit_tutorial.lessons import LESSONS, STAGES, Highlight

__all__ = ["STEPS", "HIGHLIGHTS", "SEGMENTS", "LAYOUTS", "draw_pipeline", "pipeline_png",
           "show_pipeline", "pipeline_alt", "picture_name", "contrast", "fingerprint",
           "read_fingerprint", "out_of_date", "write"]

#: Lesson number -> the step its picture highlights, and each step's highlight: both read
#: from the lesson registry (:data:`vit_tutorial.lessons.LESSONS`), where a lesson declares
#: its step.
STEPS: dict[int, str] = {lesson.number: lesson.step.name for lesson in LESSONS}
HIGHLIGHTS: dict[str, Highlight] = {lesson.step.name: lesson.step for lesson in LESSONS}

# Okabe–Ito colours (safe for colour-blind readers); greys for the stages not highlighted.
PATCH = "#56B4E9"  # sky blue: patch embeddings x_p E
CLASS = "#E69F00"  # orange: the class token x_class
POSITION = "#CC79A7"  # reddish purple: E_pos
ENCODER = "#0072B2"  # blue: the Transformer encoder
HEAD = "#009E73"  # bluish green: the MLP head
ACCENT = "#D55E00"  # vermillion: the highlight frame and notes
# Every text reaches 4.5:1 against what is behind it (WCAG AA), greyed stages too.
INK, DIM_INK, DIM_FILL = "#222222", "#666666", "#EBEBEB"
NOTE_INK = "#B34700"  # a darker vermillion: the notes' text on white
ARROW, DIM_ARROW = "#555555", "#949494"  # 3:1 on white, as graphics need

WIDTH, HEIGHT = 88.0, 49.0  # drawing units: 10 per inch, so 880 × 490 px at 100 dpi
DPI = 200  # 1760 × 980 px: sharp on GitHub's ~880 px wide README column
FONT = 10.5  # points; about 15 px high at README width
ROW1, ROW2 = 32.2, 11.3  # y of the bottom of each row's drawings


# ----- colours and text ---------------------------------------------------------------------

def _luminance(colour: str) -> float:
    """Relative luminance of a ``#rrggbb`` colour (WCAG 2)."""
    channels = [int(colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _on(fill: str) -> str:
    """White or black text on a coloured box, whichever reads better."""
    return "#FFFFFF" if contrast("#FFFFFF", fill) >= 4.5 else "#000000"


def _ink(lit: bool) -> str:
    return INK if lit else DIM_INK


def _fill(colour: str, lit: bool) -> str:
    return colour if lit else DIM_FILL


def _label(ax, x: float, y: float, symbol: str, shape: str, lit: bool) -> None:
    """Two lines under a stage: the paper's symbol, then the shape."""
    ax.text(x, y, symbol, ha="center", va="top", fontsize=FONT + 1.5, color=_ink(lit),
            weight="bold" if lit else "normal")
    ax.text(x, y - 2.9, shape, ha="center", va="top", fontsize=FONT, color=_ink(lit))


def _box(ax, x0: float, y0: float, w: float, h: float, colour: str, lit: bool,
         text: str = "", size: float = FONT) -> None:
    """A rounded box with centred text."""
    ax.add_patch(FancyBboxPatch((x0, y0), w, h, boxstyle="round,pad=0,rounding_size=0.8",
                                facecolor=_fill(colour, lit), edgecolor="none"))
    if text:
        ax.text(x0 + w / 2, y0 + h / 2, text, ha="center", va="center", fontsize=size,
                color=_on(colour) if lit else DIM_INK, weight="bold")


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], lit: bool) -> None:
    """A straight arrow: dark grey, or pale when its stage is not highlighted."""
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14,
                                 linewidth=1.6, color=ARROW if lit else DIM_ARROW,
                                 shrinkA=0, shrinkB=0))


# ----- the photo ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _photo() -> np.ndarray:
    """Grace Hopper at 224 × 224, as an (H, W, C) float array in [0, 1]."""
    from vit_tutorial.data import grace_hopper  # helper floor: matplotlib's bundled photo

    return grace_hopper(224).permute(1, 2, 0).numpy()  # (3, H, W) -> (H, W, 3)


def _dim(rgb: np.ndarray, lit: bool) -> np.ndarray:
    """Greyed-out and faded when the stage is not highlighted."""
    if lit:
        return rgb
    grey = rgb @ np.array([0.299, 0.587, 0.114])  # (..., 3) -> (...) luminance
    return np.repeat(0.35 * grey[..., None] + 0.65, 3, axis=-1)  # -> (..., 3), pale grey


def _patch_grid(photo: np.ndarray, P: int = 16, gap: int = 3) -> np.ndarray:
    """The photo cut into P × P patches with white gaps, RGBA."""
    H, W, _ = photo.shape
    n_h, n_w = H // P, W // P  # 14, 14
    out = np.zeros((n_h * (P + gap) - gap, n_w * (P + gap) - gap, 4))  # transparent gaps
    for r in range(n_h):
        for c in range(n_w):
            out[r * (P + gap):r * (P + gap) + P, c * (P + gap):c * (P + gap) + P, :3] = \
                photo[r * P:(r + 1) * P, c * P:(c + 1) * P]
            out[r * (P + gap):r * (P + gap) + P, c * (P + gap):c * (P + gap) + P, 3] = 1
    return out


def _flat_rows(photo: np.ndarray, index: tuple[int, ...], P: int = 16) -> np.ndarray:
    """Chosen rows of x_p: each patch flattened to P·P pixels (P²·C = 768 values)."""
    n_w = photo.shape[1] // P
    rows = []
    for n in index:
        r, c = divmod(n, n_w)
        patch = photo[r * P:(r + 1) * P, c * P:(c + 1) * P]  # (P, P, C)
        rows.append(patch.reshape(1, P * P, 3))  # (P, P, C) -> (1, P·P, C), row-major
    return np.concatenate(rows)  # (len(index), P·P, C)


# ----- row 1: image -> patches -> x_p -> E -> x_p E ------------------------------------------

def _draw_image(ax, lit: set[str]) -> None:
    """x: the 224 × 224 × 3 photo."""
    on = "image" in lit
    ax.imshow(_dim(_photo(), on), extent=(2, 14, ROW1, ROW1 + 12), interpolation="antialiased")
    _label(ax, 8, ROW1 - 0.6, r"image $\mathbf{x}$", "224 × 224 × 3", on)


def _draw_patches(ax, lit: set[str]) -> None:
    """The same photo cut into 14 × 14 = 196 patches of 16 × 16 × 3."""
    on = "patches" in lit
    grid = _patch_grid(_photo())  # (14·19 - 3, 14·19 - 3, 4) RGBA
    grid[..., :3] = _dim(grid[..., :3], on)
    ax.imshow(grid, extent=(18, 30, ROW1, ROW1 + 12), interpolation="antialiased")
    _label(ax, 24, ROW1 - 0.6, r"$N = HW/P^2 = 196$", "patches, 16 × 16 × 3", on)


def _draw_flatten(ax, lit: set[str]) -> None:
    """x_p: a few of its 196 rows, each a patch flattened to 16·16 pixels = 768 values."""
    on = "flatten" in lit
    rows = _dim(_flat_rows(_photo(), (0, 1, 2, 3, 195)), on)  # (5, 256, 3)
    x0, x1, h, gap = 35.0, 49.0, 1.4, 0.55
    for i, row in enumerate(rows):  # rows 1-4 at the top, row 196 at the bottom
        y = ROW1 + 12 - (i + 1) * h - i * gap - (1.9 if i == 4 else 0)
        ax.imshow(row[None].repeat(4, axis=0), extent=(x0, x1, y, y + h), aspect="auto",
                  interpolation="nearest")
    ax.plot([(x0 + x1) / 2] * 3, [ROW1 + 2.05, ROW1 + 2.6, ROW1 + 3.15], linestyle="none",
            marker="o", markersize=2.2, color=_ink(on))  # vertical dots: rows 5 … 195
    _label(ax, 42, ROW1 - 0.6, r"$\mathbf{x}_p$ (flattened)", "196 × 768", on)


def _draw_projection(ax, lit: set[str]) -> None:
    """E: the trainable linear map from P²·C = 768 values to D = 768."""
    on = "projection" in lit
    _box(ax, 52.5, ROW1 + 1, 7, 10, PATCH, on, r"$\mathbf{E}$", size=FONT + 8)
    _label(ax, 56, ROW1 - 0.6, "linear map", r"768 × 768", on)


def _tokens(ax, x0: float, kinds: str, on: bool, row: float, pos: bool = False,
            bars_on: bool | None = None) -> float:
    """Tokens as bars, one per letter of ``kinds``: c = x_class, p = patch, . = dots.

    With ``pos``, each bar gets an E_pos tab underneath; ``bars_on=False`` greys the bars
    but not the tabs.

    Returns the x where the row of bars ends.
    """
    w, step, h = 1.5, 2.3, 8.0  # bar width, bar-to-bar distance, bar height
    tab = 2.2 if pos else 0.0  # E_pos tabs under the bars
    for i, kind in enumerate(kinds):
        x = x0 + i * step
        if kind == ".":
            ax.text(x + w / 2, row + tab + h / 2, "…", ha="center", va="center",
                    fontsize=FONT + 2, color=_ink(on))
            continue
        colour = CLASS if kind == "c" else PATCH
        _box(ax, x, row + tab + 0.3, w, h, colour, on if bars_on is None else bars_on)
        if pos:
            _box(ax, x, row, w, tab - 0.3, POSITION, on)
    return x0 + (len(kinds) - 1) * step + w


def _draw_embeddings(ax, lit: set[str]) -> None:
    """x_p E: 196 patch embeddings of D = 768 (shown as bars)."""
    on = "embeddings" in lit
    end = _tokens(ax, 66.5, "ppp.p", on, ROW1 + 2)
    _label(ax, (66.5 + end) / 2, ROW1 - 0.6, r"$\mathbf{x}_p\mathbf{E}$", "196 × 768", on)
    ax.text(end + 1.0, ROW1 + 6, "D = 768", rotation=90, ha="left", va="center",
            fontsize=FONT - 1, color=_ink(on))


# ----- row 2: prepend x_class -> + E_pos -> encoder -> y -> head ------------------------------

def _draw_class_token(ax, lit: set[str]) -> None:
    """[x_class; x_p E]: the learnable class token first, 197 tokens."""
    on = "class_token" in lit
    end = _tokens(ax, 3, "cppp.p", on, ROW2 + 1.1)
    _label(ax, (3 + end) / 2, ROW2 - 0.6, r"[$\mathbf{x}_{class}$; $\mathbf{x}_p\mathbf{E}$]",
           "197 × 768", on)


def _draw_position(ax, lit: set[str], part: str | None) -> None:
    """z_0 = [x_class; x_p E] + E_pos: one learned vector added per position."""
    on = "position" in lit
    end = _tokens(ax, 22.9, "cppp.p", on, ROW2 + 0.2, pos=True,
                  bars_on=on and part != "E_pos")  # part "E_pos": only the tabs in colour
    ax.text(22.1, ROW2 + 1.1, "+", ha="right", va="center", fontsize=FONT + 3,
            color=_ink(on), weight="bold")
    _label(ax, (22.9 + end) / 2, ROW2 - 0.6, r"$\mathbf{z}_0$ = … + $\mathbf{E}_{pos}$",
           "197 × 768", on)


def _draw_encoder(ax, lit: set[str], part: str | None) -> None:
    """L pre-norm blocks (Eq. 2–3): z + MSA(LN(z)), then z + MLP(LN(z))."""
    on = "encoder" in lit
    x0, w = 39.5, 20.5
    ax.add_patch(FancyBboxPatch((x0, ROW2 + 0.2), w, 10.8, boxstyle="round,pad=0,rounding_size=1",
                                facecolor="#DCEBF5" if on else "#F0F0F0",
                                edgecolor=_fill(ENCODER, on), linewidth=1.5))
    for y, middle in ((ROW2 + 6.0, "MSA"), (ROW2 + 1.3, "MLP")):  # Eq. 2, then Eq. 3
        _box(ax, x0 + 4.2, y, 3.4, 3.2, ENCODER, on, "LN", size=FONT - 1)
        _arrow(ax, (x0 + 7.7, y + 1.6), (x0 + 8.9, y + 1.6), on)
        boxed = part == middle  # part "MSA": the attention in vermillion
        _box(ax, x0 + 9.0, y, 5.6, 3.2, ACCENT if boxed else ENCODER, on, middle,
             size=FONT - 0.5)
        _arrow(ax, (x0 + 14.7, y + 1.6), (x0 + 16.5, y + 1.6), on)
        ax.text(x0 + 17.3, y + 1.6, "⊕", ha="center", va="center", fontsize=FONT + 4,
                color=_ink(on))
        ax.plot([x0 + 4.2, x0 + 3.4, x0 + 3.4, x0 + 17.3, x0 + 17.3],
                [y + 1.6, y + 1.6, y + 3.75, y + 3.75, y + 2.5],
                color=_fill(ENCODER, on), linewidth=1.2)  # the residual path, around LN + MSA
    ax.text(x0 + 1.9, ROW2 + 5.6, "L ×", ha="center", va="center", rotation=90,
            fontsize=FONT, color=_ink(on), weight="bold")
    _label(ax, x0 + w / 2, ROW2 - 0.6, "Transformer encoder", "L = 12 pre-norm blocks", on)


def _draw_output(ax, lit: set[str]) -> None:
    """y = LN(z_L^0): the class token's final state, normalised."""
    on = "output" in lit
    _box(ax, 65.2, ROW2 + 1.5, 1.5, 8.0, CLASS, on)
    _label(ax, 66, ROW2 - 0.6, r"$\mathbf{y} = \mathrm{LN}(\mathbf{z}_L^0)$", "768", on)


def _draw_head(ax, lit: set[str]) -> None:
    """The MLP head: y -> one logit per class."""
    on = "head" in lit
    _box(ax, 73.5, ROW2 + 2, 6.5, 7, HEAD, on, "MLP\nhead", size=FONT - 0.5)
    _arrow(ax, (80.3, ROW2 + 5.5), (82.3, ROW2 + 5.5), on)
    ax.text(82.6, ROW2 + 5.5, "class", ha="left", va="center", fontsize=FONT + 1,
            color=_ink(on), weight="bold" if on else "normal")
    _label(ax, 79, ROW2 - 0.6, "logits", "1000 (ImageNet)", on)


# ----- arrows, frame, notes and title ---------------------------------------------------------

def _draw_arrows(ax, lit: set[str], segments: tuple[tuple[str, ...], ...] = ()) -> None:
    """The flow between stages; an arrow is dark when both its ends are highlighted. With
    ``segments`` (the narrow layout), only the arrows inside a segment."""
    y1, y2 = ROW1 + 6, ROW2 + 5.5  # the middle of each row's drawings
    flow = (("image", "patches", 14.4, 17.6, y1), ("patches", "flatten", 30.4, 34.6, y1),
            ("flatten", "projection", 49.4, 52.1, y1), ("projection", "embeddings", 59.9, 66.1, y1),
            ("class_token", "position", 16.6, 20.4, y2), ("position", "encoder", 36.3, 39.1, y2),
            ("encoder", "output", 60.4, 64.8, y2), ("output", "head", 67.1, 73.1, y2))
    for a, b, x0, x1, y in flow:
        if not segments or any(a in seg and b in seg for seg in segments):
            _arrow(ax, (x0, y), (x1, y), a in lit and b in lit)
    if segments:
        return
    on = "embeddings" in lit and "class_token" in lit  # the line wrap: row 1 -> row 2
    ax.plot([75.2, 75.2, 9.5, 9.5], [ROW1 - 5.6, ROW2 + 14.6, ROW2 + 14.6, ROW2 + 13],
            color=ARROW if on else DIM_ARROW, linewidth=1.6, solid_joinstyle="round")
    _arrow(ax, (9.5, ROW2 + 13.2), (9.5, ROW2 + 10.6), on)


# Where each stage sits (x0, y0, x1, y1), labels included, for frames and notes.
_Y1, _Y2 = (ROW1 - 5.3, ROW1 + 12.8), (ROW2 - 5.3, ROW2 + 11.8)  # rows 1 and 2: bottom, top
_BOUNDS = {stage: (x0, y[0], x1, y[1]) for stage, x0, x1, y in (
    ("image", 1.2, 14.8, _Y1), ("patches", 17.2, 31.2, _Y1), ("flatten", 34.2, 49.8, _Y1),
    ("projection", 50.8, 61.2, _Y1), ("embeddings", 65.6, 86.6, _Y1),
    ("class_token", 1.8, 17.8, _Y2), ("position", 19.5, 37.0, _Y2),
    ("encoder", 38.6, 61.0, _Y2), ("output", 61.8, 70.6, _Y2), ("head", 71.6, 86.6, _Y2))}


def _runs(lit: set[str], together) -> list[tuple[str, ...]]:
    """Highlighted stages, grouped into runs of neighbours that ``together(a, b)`` allows
    in one frame (the same row; the same segment, in the narrow layout)."""
    runs: list[list[str]] = []
    previous = None
    for stage in STAGES:
        if stage in lit:
            if runs and previous in runs[-1] and together(previous, stage):
                runs[-1].append(stage)
            else:
                runs.append([stage])
        previous = stage
    return [tuple(run) for run in runs]


def _draw_frames(ax, lit: set[str], segments: tuple[tuple[str, ...], ...] = ()) -> None:
    """A vermillion frame around each run of highlighted stages (none when all are lit)."""
    if lit == set(STAGES):
        return
    if segments:
        together = lambda a, b: any(a in seg and b in seg for seg in segments)  # noqa: E731
    else:
        together = lambda a, b: _BOUNDS[a][1] == _BOUNDS[b][1]  # noqa: E731
    for run in _runs(lit, together):
        x0, y0 = _BOUNDS[run[0]][:2]
        x1, y1 = _BOUNDS[run[-1]][2:]
        ax.add_patch(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, facecolor="none",
                                    boxstyle="round,pad=0,rounding_size=1.2",
                                    edgecolor=ACCENT, linewidth=2.2))


def _note_style() -> dict:
    return {"fontsize": FONT - 0.5, "color": NOTE_INK, "weight": "bold", "linespacing": 1.15,
            "bbox": {"boxstyle": "round,pad=0.3", "facecolor": "white", "edgecolor": ACCENT,
                     "linewidth": 1.4}}


def _draw_notes(ax, notes: tuple[tuple[str, str], ...]) -> None:
    """Callouts: one line above a row-1 stage, up to two lines below a row-2 stage."""
    for stage, text in notes:
        x0, y0, x1, y1 = _BOUNDS[stage]
        top = y0 > ROW2 + 12  # row 1: left-aligned, clear of the title
        ax.text(x0 if top else (x0 + x1) / 2, y1 + 0.8 if top else y0 - 0.7, text,
                ha="left" if top else "center", va="bottom" if top else "top", **_note_style())


def _title(highlight: str | None) -> str:
    if highlight is None:
        return "ViT-B/16 from image to class (the paper's Figure 1, with shapes)"
    lessons = [f"{n:02d}" for n, key in sorted(STEPS.items()) if key == highlight]
    caption = HIGHLIGHTS[highlight].caption
    return f"Lesson {', '.join(lessons)}: {caption}" if lessons else caption.capitalize()


# ----- the narrow layout: the same drawing, cut into segments stacked for a phone ------------

# Each segment is a window onto the wide drawing, at most two stages wide.
SEGMENTS = (("image", "patches"), ("flatten", "projection"), ("embeddings",),
            ("class_token", "position"), ("encoder",), ("output", "head"))
NOTE_CHARACTERS = 22  # a note's line in the narrow layout
_NOTE_LINE, _CHARACTER = 2.0, 0.82  # a note's line height and a character's width, in units
_GAP, _MARGIN = 2.8, 1.2  # between segments (an arrow), and around them


def _note_lines(text: str) -> list[str]:
    """A note wrapped to ``NOTE_CHARACTERS``, counting ``E$_{pos}$`` as the 4 it shows."""
    lines: list[str] = []
    for word in text.split():
        joined = f"{lines[-1]} {word}" if lines else word
        if lines and len(re.sub(r"\$[^$]*\$", "xxx", joined)) <= NOTE_CHARACTERS:
            lines[-1] = joined
        else:
            lines.append(word)
    return lines


def _window(segment: tuple[str, ...], notes: dict[str, str]) -> tuple[float, ...]:
    """The part of the wide drawing a segment shows (x0, y0, x1, y1), its notes included."""
    x0 = min(_BOUNDS[s][0] for s in segment) - 0.6
    x1 = max(_BOUNDS[s][2] for s in segment) + 0.6
    y0 = min(_BOUNDS[s][1] for s in segment) - 0.4
    y1 = max(_BOUNDS[s][3] for s in segment) + 0.4
    for stage in segment:
        if stage in notes:
            height = 0.8 + len(_note_lines(notes[stage])) * _NOTE_LINE + 0.6
            if _BOUNDS[stage][1] > ROW2 + 12:
                y1 += height  # row 1: the note above
            else:
                y0 -= height  # row 2: below
    return x0, y0, x1, y1


def _draw_narrow_notes(ax, segment, notes: dict[str, str], window) -> None:
    """A segment's callouts, wrapped to the narrow width and kept inside its window."""
    for stage in segment:
        if stage not in notes:
            continue
        x0, y0, x1, y1 = _BOUNDS[stage]
        lines = _note_lines(notes[stage])
        half = max(map(len, lines)) * _CHARACTER / 2 + 0.6
        x = min(max((x0 + x1) / 2, window[0] + half), window[2] - half)
        top = y0 > ROW2 + 12
        ax.text(x, y1 + 0.8 if top else y0 - 0.7, "\n".join(lines), ha="center",
                va="bottom" if top else "top", **_note_style())


def _draw_narrow(fig: Figure | None, highlight: str | None, step: Highlight,
                 lit: set[str]) -> Figure:
    notes = dict(step.notes)
    windows = [_window(segment, notes) for segment in SEGMENTS]
    width = max(w[2] - w[0] for w in windows) + 2 * _MARGIN
    title = textwrap.wrap(_title(highlight), 30)
    top = 1.4 + len(title) * 2.6 + 0.8  # the title's height
    height = top + sum(w[3] - w[1] for w in windows) + _GAP * (len(windows) - 1) + _MARGIN
    if fig is None:
        fig = Figure(figsize=(width / 10, height / 10), dpi=DPI)
    else:
        fig.set_size_inches(width / 10, height / 10)
    ax = _panel(fig, width, height)
    ax.text(_MARGIN, height - 1.3, "\n".join(title), ha="left", va="top",
            fontsize=FONT + 2.5, color=INK, weight="bold", linespacing=1.2)
    y = height - top
    for i, (segment, window) in enumerate(zip(SEGMENTS, windows)):
        w, h = window[2] - window[0], window[3] - window[1]
        left = (width - w) / 2
        part = fig.add_axes((left / width, (y - h) / height, w / width, h / height))
        part.set_axis_off()
        _draw_stages(part, step, lit, SEGMENTS)
        for text in part.texts:  # a text is not clipped to its axes: hide the others' texts
            x, y_text = text.get_position()
            text.set_visible(window[0] <= x <= window[2] and window[1] <= y_text <= window[3])
        _draw_narrow_notes(part, segment, notes, window)
        _limits(part, (window[0], window[2]), (window[1], window[3]))
        y -= h
        if i + 1 < len(SEGMENTS):  # down to the next segment
            _arrow(ax, (width / 2, y - 0.2), (width / 2, y - _GAP + 0.2),
                   segment[-1] in lit and SEGMENTS[i + 1][0] in lit)
            y -= _GAP
    _limits(ax, (0, width), (0, height))
    return fig


# ----- the public functions -----------------------------------------------------------------

LAYOUTS = ("wide", "narrow")


def _check_highlight(highlight: object) -> None:
    if highlight is not None and not isinstance(highlight, str):
        raise TypeError(f"highlight must be a step name (str) or None, got {highlight!r} of "
                        f"type {type(highlight).__name__}; pass one of {sorted(HIGHLIGHTS)}")
    if highlight is not None and highlight not in HIGHLIGHTS:
        raise ValueError(f"unknown highlight {highlight!r}; expected None (nothing highlighted) "
                         f"or one of {sorted(HIGHLIGHTS)}")


def _check_layout(layout: object) -> None:
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}: 'wide' for pages "
                         f"and notebooks, 'narrow' for phones")


def _panel(fig: Figure, width: float = WIDTH, height: float = HEIGHT):
    """Axes filling ``fig`` in drawing units, on a white rounded panel (transparent corners)."""
    fig.patch.set_alpha(0)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    ax.add_patch(FancyBboxPatch((0.3, 0.3), width - 0.6, height - 0.6, facecolor="white",
                                edgecolor="#CCCCCC", linewidth=1.0,
                                boxstyle="round,pad=0,rounding_size=2", zorder=-10))
    return ax


def _limits(ax, x: tuple[float, float], y: tuple[float, float]) -> None:
    ax.set_xlim(*x)
    ax.set_ylim(*y)
    ax.set_aspect("equal")


def _draw_stages(ax, step: Highlight, lit: set[str],
                 segments: tuple[tuple[str, ...], ...] = ()) -> None:
    """Every stage, arrow and frame of the wide drawing (not its notes and title)."""
    for draw in (_draw_image, _draw_patches, _draw_flatten, _draw_projection, _draw_embeddings,
                 _draw_class_token, _draw_output, _draw_head):
        draw(ax, lit)
    _draw_arrows(ax, lit, segments)
    _draw_position(ax, lit, step.part)
    _draw_encoder(ax, lit, step.part)
    _draw_frames(ax, lit, segments)


def draw_pipeline(highlight: str | None = None, fig: Figure | None = None,
                  layout: str = "wide") -> Figure:
    r"""Draw ViT-B/16's pipeline (Figure 1 of the paper) with one step highlighted.

    Args:
        highlight: a key of ``HIGHLIGHTS`` (the values of ``STEPS``), e.g. ``"class_token"``;
            its stages are drawn in colour inside a vermillion frame and the rest in grey.
            ``None`` draws every stage in colour, without a frame.
        fig: an empty ``matplotlib.figure.Figure`` to draw into; a new one when ``None``
            (wide: 8.8 × 4.9 inch, 1760 × 980 px at 200 dpi). Nothing touches ``pyplot``.
        layout: ``"wide"``, two rows (pages, notebooks); or ``"narrow"``, the same drawing
            cut into ``SEGMENTS`` stacked one under the other, about 4 inches wide, for a
            phone's screen.

    Returns:
        The figure.

    Raises:
        ValueError: ``highlight`` is not a known step, or ``layout`` not a layout.
        TypeError: ``highlight`` is not a string, or ``fig`` is not a ``Figure``.
    """
    _check_highlight(highlight)
    _check_layout(layout)
    if fig is not None and not isinstance(fig, Figure):
        raise TypeError(f"fig must be a matplotlib.figure.Figure or None, got "
                        f"{type(fig).__name__}; pass Figure() or leave it out")
    step = HIGHLIGHTS[highlight] if highlight else Highlight("", "", STAGES)
    lit = set(step.stages)
    if layout == "narrow":
        return _draw_narrow(fig, highlight, step, lit)
    if fig is None:
        fig = Figure(figsize=(WIDTH / 10, HEIGHT / 10), dpi=DPI)
    ax = _panel(fig)
    _draw_stages(ax, step, lit)
    _draw_notes(ax, step.notes)
    ax.text(2, HEIGHT - 1.3, _title(highlight), ha="left", va="top", fontsize=FONT + 2.5,
            color=INK, weight="bold")
    _limits(ax, (0, WIDTH), (0, HEIGHT))
    return fig


def _photo_source() -> str:
    """The source of ``data.grace_hopper``, read without importing torch."""
    path = Path(importlib.util.find_spec("vit_tutorial.data").origin)  # finds, not imports
    source = path.read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == "grace_hopper":
            return ast.get_source_segment(source, node)
    raise ValueError(f"{path} has no function grace_hopper, which draws the photo; "
                     f"update diagram._photo and diagram._photo_source to match")


def fingerprint(highlight: str | None = None, layout: str = "wide") -> str:
    """SHA-256 of the code that draws a picture: this module, the photo loader, ``STEPS``,
    the highlight (its registry entry too) and the layout.

    A committed PNG stores it in a text chunk; when the code changes, the two disagree.
    Line endings are normalised, so a Windows checkout gives the same fingerprint.
    """
    _check_highlight(highlight)
    _check_layout(layout)
    parts = (Path(__file__).read_text(encoding="utf-8"), _photo_source(),
             repr(sorted(STEPS.items())), repr(highlight), repr(HIGHLIGHTS.get(highlight)),
             layout)
    text = "\n\x00".join(parts).replace("\r\n", "\n")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


FINGERPRINT_KEY = "Fingerprint"  # the PNG text chunk that holds fingerprint()


def pipeline_png(highlight: str | None = None, layout: str = "wide") -> bytes:
    """The picture as PNG bytes (256 colours), with its fingerprint in a text chunk.

    Args:
        highlight, layout: as for :func:`draw_pipeline`.

    Returns:
        PNG bytes (wide: 1760 × 980 px; transparent corners around a white panel); the
        text chunk ``"Fingerprint"`` holds :func:`fingerprint` ``(highlight, layout)``, and
        nothing records a date or a library version, so the same code gives the same file.
    """
    return _render_png(highlight, layout, fingerprint(highlight, layout))


@functools.cache
def _render_png(highlight: str | None, layout: str, code: str) -> bytes:
    """Cached by fingerprint too, so a changed ``STEPS`` never returns an old picture."""
    from PIL import Image, PngImagePlugin  # Pillow comes with matplotlib

    fig = draw_pipeline(highlight, layout=layout)
    raw = io.BytesIO()
    # Through a PNG, not raw RGBA: the file says its own size (matplotlib 3.10 renders a
    # size like 13.3 in × 200 dpi one row short of round(), 3.11 does not).
    fig.savefig(raw, format="png", dpi=DPI, facecolor="none")
    image = Image.open(raw).convert("RGBA")
    # 256 colours: a quarter of the bytes, no visible change (the photo is the only gradient).
    image = image.quantize(256, method=Image.Quantize.FASTOCTREE)
    info = PngImagePlugin.PngInfo()  # text chunks only: no date, no software version
    info.add_text(FINGERPRINT_KEY, code)
    info.add_itxt("Title", _title(highlight))
    out = io.BytesIO()
    image.save(out, format="png", pnginfo=info)
    return out.getvalue()


def read_fingerprint(path: str | os.PathLike) -> str | None:
    """The fingerprint stored in a PNG file, or ``None`` if it has none."""
    from PIL import Image  # Pillow comes with matplotlib

    with Image.open(path) as image:
        return image.text.get(FINGERPRINT_KEY)


def show_pipeline(lesson: int):
    """The picture for a lesson, for the first code cell of its notebook.

    Drawn from code (Colab's pip install has no ``images/`` folder). ``retina=True`` shows
    the 1760 px wide PNG at 880 px, sharp on high-resolution screens.

    Args:
        lesson: a lesson number, a key of ``STEPS`` (e.g. ``3`` for the class token).

    Returns:
        an ``IPython.display.Image``; Jupyter shows it as the cell's output (its
        ``text/plain`` is the same everywhere, so strict nbval passes).

    Raises:
        TypeError: ``lesson`` is not an integer.
        ValueError: ``lesson`` is not in ``STEPS``.

    Example:
        The first code cell of lesson 03::

            from vit_tutorial.diagram import show_pipeline
            show_pipeline(3)
    """
    from IPython.display import Image

    if isinstance(lesson, bool) or not isinstance(lesson, numbers.Integral):
        raise TypeError(f"lesson must be a lesson number (int), got {lesson!r} of type "
                        f"{type(lesson).__name__}; pass e.g. show_pipeline(3)")
    if int(lesson) not in STEPS:
        raise ValueError(f"lesson must be one of the lesson numbers {sorted(STEPS)}, got "
                         f"{lesson}; pass e.g. show_pipeline(3)")
    return Image(data=pipeline_png(STEPS[int(lesson)]), format="png", retina=True)


# How an alt text names the stages: the whole pipeline in a sentence, and each stage (or the
# part of one) that a step draws in colour.
_PIPELINE_WORDS = (
    "a 224 × 224 × 3 image, cut into 196 patches of 16 × 16 × 3, flattened to x_p (196 × 768), "
    "the linear map E giving the patch embeddings x_p E, the class token prepended "
    "(197 × 768), the position embeddings E_pos added, the Transformer encoder of 12 pre-norm "
    "blocks, y = LN(z_L^0), and the MLP head that gives the class")
_LIT_WORDS = {"image": "the image", "patches": "its patches", "flatten": "the flattened patches "
              "x_p", "projection": "the linear map E", "embeddings": "the patch embeddings x_p E",
              "class_token": "the class token x_class", "position": "the position embeddings "
              "E_pos", "encoder": "the Transformer encoder", "output": "its output y",
              "head": "the MLP head", "MSA": "the attention (MSA) inside the encoder"}


def _plain(note: str) -> str:
    """A note as plain words: ``E$_{pos}$`` -> ``E_pos``, line breaks -> spaces."""
    return re.sub(r"\$(.*?)\$", lambda m: re.sub(r"[{}]", "", m.group(1)), note).replace(
        "\n", " ")


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def pipeline_alt(lesson: int | None = None) -> str:
    """The alt text of a lesson's pipeline picture (``None``: the whole pipeline), made from
    its step in the lesson registry: the stages in colour and the notes, in words.

    Raises:
        ValueError: ``lesson`` is not in ``STEPS``.
    """
    if lesson is None:
        return f"The pipeline of ViT-B/16, every stage in colour: {_PIPELINE_WORDS}."
    if lesson not in STEPS:
        raise ValueError(f"lesson must be one of the lesson numbers {sorted(STEPS)}, got "
                         f"{lesson!r}")
    step = HIGHLIGHTS[STEPS[lesson]]
    where = f"Where lesson {lesson:02d} sits in the pipeline of ViT-B/16"
    if set(step.stages) == set(STAGES):
        return f"{where}, {step.caption}: every stage in colour: {_PIPELINE_WORDS}."
    stages = ["MSA" if stage == "encoder" and step.part == "MSA" else stage
              for stage in step.stages]  # only the attention of the encoder is lit
    notes = [_plain(text) for _, text in step.notes]
    noted = f", with {'a note' if len(notes) == 1 else 'notes'}: {'; '.join(notes)}" \
        if notes else ""
    return (f"{where}: {_PIPELINE_WORDS}. In colour and framed ({step.caption}): "
            f"{_listed([_LIT_WORDS[s] for s in stages])}{noted}; the other stages are grey.")


# ----- the committed pictures ---------------------------------------------------------------

def picture_name(lesson: int | None = None, layout: str = "wide") -> str:
    """The file in ``images/`` that holds a lesson's picture (``None``: the whole pipeline):
    ``pipeline_03.png``, or ``pipeline_03_narrow.png`` for phones."""
    _check_layout(layout)
    number = "" if lesson is None else f"_{lesson:02d}"
    return f"pipeline{number}{'_narrow' if layout == 'narrow' else ''}.png"


def _pictures() -> dict[str, tuple[str | None, str]]:
    """File name in ``images/`` -> the highlight and the layout it shows."""
    return {picture_name(n, layout): (STEPS[n] if n else None, layout)
            for n in (None, *sorted(STEPS)) for layout in LAYOUTS}


def out_of_date(root: str | os.PathLike) -> list[str]:
    """Pictures under ``root/images`` that are missing, stale, or no longer in ``STEPS``."""
    folder = Path(root) / "images"
    expected = _pictures()
    stale = [f"images/{name}" for name, key in expected.items() if not (folder / name).exists()
             or read_fingerprint(folder / name) != fingerprint(*key)]
    stale += [f"images/{path.name} (not in STEPS)" for path in sorted(folder.glob("pipeline*.png"))
              if path.name not in expected]
    return stale


def write(root: str | os.PathLike) -> None:
    """Redraw every picture into ``root/images`` and remove the ones ``STEPS`` no longer has."""
    folder = Path(root) / "images"
    folder.mkdir(exist_ok=True)
    expected = _pictures()
    for path in folder.glob("pipeline*.png"):
        if path.name not in expected:
            path.unlink()
    for name, key in expected.items():
        atomic_write(folder / name, pipeline_png(*key), force=True)  # never a half-written picture


@interruptible
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vit_tutorial.diagram",
        description="Check (or, with --write, redraw) the pipeline pictures in images/.")
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parents[1],
                        help="the repository root (default: the one holding this package)")
    parser.add_argument("--write", action="store_true", help="redraw the pictures")
    args = parser.parse_args(argv)
    if args.write:
        try:  # before drawing, not after
            check_writable(args.root / "images")
        except OutputPathError as error:
            parser.error(str(error))
        write(args.root)
    stale = out_of_date(args.root)
    for item in stale:
        print(f"out of date: {item}", file=sys.stderr)
    if stale:
        print("run `python -m vit_tutorial.diagram --write` to redraw", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
