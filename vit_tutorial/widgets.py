r"""Interactive explorers for the lessons: sliders and menus over :mod:`vit_tutorial.explorers`.

This is the only module of the course that imports ``ipywidgets``, so everything else runs
where widgets don't. Each explorer is a thin layer: a ``VBox`` whose controls call one pure
function of :mod:`vit_tutorial.explorers` and show the PNG and the line of text it returns.

- :func:`patch_explorer` (lesson 01) — image size and patch size $P$ over the photo: the
  grid, $N$, the shape $(N, P^2 \cdot C)$ of $x_p$, and the package's own message when
  $P$ doesn't divide the image.
- :func:`patch_embedding_explorer` (lesson 02) — one patch, its 768 values, its embedding.
- :func:`similarity_explorer` (lesson 05) — pick a patch and a source of $E_\text{pos}$: its
  similarity map, large, beside Figure 7 (centre) with the tile framed.
- :func:`interpolation_explorer` (lesson 06) — resize $E_\text{pos}$ to any grid and mode;
  the channels, the similarity of one position, and TinyViT's accuracy at that resolution.

In a lesson::

    from vit_tutorial.widgets import patch_explorer
    explorer = patch_explorer()
    explorer  # last line of the cell: shows the explorer

Tests and readers can drive an explorer from code: ``explorer.patch_size.value = 8`` redraws
it, and ``explorer.readout.value`` / ``explorer.image.value`` hold the text and PNG shown.

Works with ipywidgets 7.6+ (Colab ships 7.7.1) and 8: it uses only widgets and traits both
have (``VBox``, ``HBox``, ``IntSlider``, ``Dropdown``, ``HTML``, ``Image``, ``Layout``,
``observe``), and no tooltips (``description_tooltip`` in 7 is ``tooltip`` in 8).

Pictures are ``Image`` widgets holding PNG bytes, not ``Output`` widgets with
``display(fig)``: an ``Image`` changes in one state update (no flicker, no figure left behind
in pyplot, nothing printed into the cell), behaves the same in JupyterLab, Notebook 7, VS Code
and Colab, and its bytes can be read back by a test. Sliders use ``continuous_update=False``:
a redraw happens when the slider is released, so dragging never queues up redraws.

Without a widget frontend (GitHub, nbviewer, ``nbconvert``) an explorer's output shows a
static PNG of its current view with a line saying how to get the interactive version: its
display data carries the widget view, that PNG and a ``text/plain`` line, and each frontend
picks the richest form it can show. The ``text/plain`` line names the settings only (no
memory address, no computed number), so it is the same under ipywidgets 7 and 8 and on
every CPU, and strict nbval can check it.
"""

from __future__ import annotations

import html
import sys
from contextlib import contextmanager

import ipywidgets as widgets

from vit_tutorial import explorers
from vit_tutorial.weights import WeightsUnavailable

__all__ = ["Explorer", "PatchExplorer", "PatchEmbeddingExplorer", "SimilarityExplorer",
           "InterpolationExplorer", "patch_explorer", "patch_embedding_explorer",
           "similarity_explorer", "interpolation_explorer"]

_WIDE = {"description_width": "initial"}  # show a control's whole description
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _slider(description: str, value: int, low: int, high: int) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=low, max=high, step=1, description=description,
                             continuous_update=False, style=_WIDE,
                             layout=widgets.Layout(width="330px"))


def _picture(png: bytes = b"") -> widgets.Image:
    return widgets.Image(value=png, format="png",
                         layout=widgets.Layout(max_width="100%", height="auto"))


class Explorer(widgets.VBox):
    """The common part of the explorers: a ``VBox`` of controls, a message line (empty
    unless something is wrong), the pictures and a readout line.

    Attributes:
        controls: the control widgets, in order.
        message: ``HTML``; a clear sentence (not a traceback) when a setting can't be shown.
        readout: ``HTML``; what the current view shows, in words and numbers.
        error: the text of the current message, or ``None``.
    """

    name = ""  # the explorer's name in vit_tutorial.explorers.preview_png

    def __init__(self, controls: list, pictures: list, **kwargs):
        self.controls = list(controls)
        self.message = widgets.HTML(value="")
        self.readout = widgets.HTML(value="")
        self.error: str | None = None
        self._holding = False
        rows = [widgets.HBox(self.controls[i:i + 3]) for i in range(0, len(self.controls), 3)]
        super().__init__(children=[*rows, self.message, widgets.HBox(pictures), self.readout],
                         **kwargs)
        # Stable names for styling and for the browser test: vit-patch-explorer, vit-readout, …
        self.add_class(f"vit-{self.name.replace('_', '-')}-explorer")
        self.message.add_class("vit-message")
        self.readout.add_class("vit-readout")
        for control in self.controls:
            control.observe(self._on_change, names="value")

    # --- redrawing ---

    def _on_change(self, change) -> None:
        if not self._holding:
            self.refresh()

    @contextmanager
    def _hold(self):
        """Change several controls at once with one redraw at the end."""
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def refresh(self) -> None:
        """Redraw from the controls' current values; a bad setting shows a message instead."""
        try:
            self._draw()
        except Exception as error:  # shown in the widget: a callback's traceback goes nowhere
            self._fail(error)
        else:
            self._say(None)

    def _draw(self) -> None:  # pragma: no cover - every explorer overrides it
        raise NotImplementedError

    def _fail(self, error: Exception) -> None:
        known = isinstance(error, (ValueError, TypeError, WeightsUnavailable))
        kind = "" if known else "unexpected error, please report it: "
        self._say(f"{kind}{type(error).__name__}: {error}")

    def _say(self, text: str | None) -> None:
        self.error = text
        self.message.value = "" if text is None else (
            '<div style="color:#8a1c1c;background:#fdecea;border-left:4px solid #d93025;'
            f'padding:4px 8px;margin:2px 0">{html.escape(text)}</div>')

    def _set_readout(self, *lines: str) -> None:
        self.readout.value = "<br>".join(html.escape(line) for line in lines)

    # --- display ---

    def _pngs(self) -> list[bytes]:
        """The PNGs shown, as bytes (ipywidgets 8 gives an ``Image``'s value as a memoryview)."""
        return [bytes(self.image.value)]

    _settings: tuple[str, ...] = ()  # the controls' attribute names, for the text form

    def _plain_text(self) -> str:
        """``PatchExplorer(image_size=224, patch_size=16): …`` — settings only, no computed
        numbers, so the line is the same on every CPU and under ipywidgets 7 and 8."""
        settings = ", ".join(f"{name}={getattr(self, name).value!r}" for name in self._settings)
        return (f"{type(self).__name__}({settings}): interactive in JupyterLab or Colab; "
                f"elsewhere a static picture")

    @property
    def readout_text(self) -> str:
        """The readout as plain text (no HTML)."""
        return html.unescape(self.readout.value.replace("<br>", "\n"))

    def _ipython_display_(self, **kwargs):
        """Show the widget where a widget frontend runs, a static PNG elsewhere.

        The display data holds the widget view (JupyterLab, Notebook, VS Code and Colab show
        it), a PNG of the current view with a caption (GitHub, nbviewer and nbconvert, which
        can't run widgets, show that instead) and a ``text/plain`` line naming the settings.
        On Colab the PNG is left out, so Colab never prefers it to the live widget.
        """
        from IPython.display import display

        data = {"text/plain": self._plain_text()}
        pngs = [png for png in self._pngs() if png]
        if pngs and "google.colab" not in sys.modules:
            data["image/png"] = explorers.compose_png(pngs)
        if self.comm is not None and self._view_name is not None:  # not closed
            data[_WIDGET_VIEW] = {"version_major": 2, "version_minor": 0,
                                  "model_id": self.model_id}
        display(data, raw=True)
        if _WIDGET_VIEW in data and hasattr(self, "_handle_displayed"):
            self._handle_displayed(**kwargs)  # what ipywidgets' own display does after it


# --- 01 ----------------------------------------------------------------------------------


class PatchExplorer(Explorer):
    r"""Lesson 01: the photo cut into $P \times P$ patches, for any image and patch size.

    Attributes:
        image_size: ``IntSlider``, $H$ = $W$ in pixels (32 … 448).
        patch_size: ``IntSlider``, $P$ (1 … 64).
        image: ``Image``, the picture of :func:`vit_tutorial.explorers.draw_patch_explorer`.
        summary: the :class:`vit_tutorial.explorers.PatchSummary` shown.
    """

    name = "patch"
    _settings = ("image_size", "patch_size")

    def __init__(self, image_size: int = 224, patch_size: int = 16):
        self.image_size = _slider("image size H = W", image_size, 32, 448)
        self.patch_size = _slider("patch size P", patch_size, 1, 64)
        self.image = _picture()
        self.summary = None
        super().__init__([self.image_size, self.patch_size], [self.image])
        self.refresh()

    def _draw(self) -> None:
        S, P = self.image_size.value, self.patch_size.value
        self.summary = explorers.patch_summary(S, P)
        self.image.value = explorers.patch_explorer_png(S, P)
        if self.summary.ok:
            self._set_readout(self.summary.text)
        else:
            self._set_readout(f"{S}×{S}×3 image, P = {P}: no grid of whole patches")
            raise ValueError(self.summary.error)


def patch_explorer(image_size: int = 224, patch_size: int = 16) -> PatchExplorer:
    """Lesson 01's explorer: move $P$ (and the image size) and watch the grid, N and x_p."""
    return PatchExplorer(image_size, patch_size)


# --- 02 ----------------------------------------------------------------------------------


class PatchEmbeddingExplorer(Explorer):
    r"""Lesson 02: one patch $x_p^n$, its $P^2 \cdot C$ values, and its embedding $x_p^n E + b$.

    Attributes:
        index: ``IntSlider``, the patch number $n$ (0 … N-1).
        image: ``Image``, the picture of :func:`vit_tutorial.explorers.patch_embedding_view`.
        view: the :class:`vit_tutorial.explorers.PatchEmbeddingView` shown.
    """

    name = "patch_embedding"
    _settings = ("index",)

    def __init__(self, index: int = 78, patch_size: int = 16, image_size: int = 224):
        self._sizes = (patch_size, image_size)
        last = (image_size // patch_size) ** 2 - 1
        self.index = _slider("patch n", index, 0, last)
        self.image = _picture()
        self.view = None
        super().__init__([self.index], [self.image])
        self.refresh()

    def _draw(self) -> None:
        patch_size, image_size = self._sizes
        self.view = explorers.patch_embedding_view(self.index.value, patch_size, image_size)
        self.image.value = self.view.png
        self._set_readout(self.view.text)


def patch_embedding_explorer(index: int = 78) -> PatchEmbeddingExplorer:
    """Lesson 02's explorer: pick a patch of the 224×224 photo (P = 16), see its vector and
    its embedding."""
    return PatchEmbeddingExplorer(index)


# --- 05 ----------------------------------------------------------------------------------


class SimilarityExplorer(Explorer):
    r"""Lesson 05: Figure 7 (centre) for a chosen $E_\text{pos}$, and one patch's tile, large.

    Attributes:
        source: ``Dropdown`` over :data:`vit_tutorial.explorers.SIMILARITY_SOURCES`.
        row, column: ``IntSlider``, the picked patch $(i, j)$, from 0; their range follows
            the source's grid (7×7, or 14×14 for ViT-B/16).
        map_image: ``Image``, the picked patch's similarity to every patch.
        grid_image: ``Image``, Figure 7 (centre) with the picked tile framed.
        view: the :class:`vit_tutorial.explorers.SimilarityView` shown.
        download: whether choosing "pretrained" may download ViT-B/16's weights (330 MB).
    """

    name = "similarity"
    _settings = ("source", "row", "column")

    def __init__(self, source: str = "trained", row: int = 3, column: int = 3,
                 download: bool | None = None):
        self.download = ("google.colab" in sys.modules) if download is None else download
        options = [(label, key) for key, label in explorers.SIMILARITY_SOURCES.items()]
        self.source = widgets.Dropdown(options=options, value=source, description="E_pos of",
                                       style=_WIDE, layout=widgets.Layout(width="420px"))
        side = 14 if source == "pretrained" else 7  # the grid, until the source is loaded
        self.row = _slider("patch row i", row, 0, side - 1)
        self.column = _slider("patch column j", column, 0, side - 1)
        self.map_image = _picture()
        self.grid_image = _picture()
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
            sim, _ = explorers.similarity_source(source, download=self.download)
        except Exception:
            with self._hold():  # go back to the source still shown; the message says why
                self.source.value = self._shown_source
            raise
        gh, gw = sim.shape[:2]
        with self._hold():  # a new grid size moves the sliders' ranges (and maybe values)
            self.row.max, self.column.max = gh - 1, gw - 1
        self.view = explorers.similarity_view(source, self.row.value, self.column.value,
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
                      f"still showing {explorers.SIMILARITY_SOURCES[self._shown_source]}. "
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
    """
    return SimilarityExplorer(source, row, column, download)


# --- 06 ----------------------------------------------------------------------------------


class InterpolationExplorer(Explorer):
    r"""Lesson 06: TinyViT's $E_\text{pos}$ resized to a new grid (Sec. 3.2), and what it does.

    Attributes:
        grid_rows, grid_columns: ``IntSlider``, the new grid $H'/P \times W'/P$ (2 … 16;
            TinyViT was trained on 7×7).
        mode: ``Dropdown`` over :data:`vit_tutorial.explorers.INTERPOLATION_MODES`.
        position_row, position_column: ``IntSlider``, the position whose similarity is shown,
            in the new grid, from 0.
        image: ``Image``, the picture of :func:`vit_tutorial.explorers.interpolation_view`.
        view: the :class:`vit_tutorial.explorers.InterpolationView` shown.
        accuracy: TinyViT's test accuracy at this grid and mode (cached per setting).
    """

    name = "interpolation"
    _settings = ("grid_rows", "grid_columns", "mode", "position_row", "position_column")

    def __init__(self, rows: int = 14, columns: int = 14, mode: str = "bicubic",
                 position: tuple[int, int] | None = None):
        position = (rows // 2, columns // 2) if position is None else position
        self.grid_rows = _slider("new grid: rows", rows, 2, 16)
        self.grid_columns = _slider("columns", columns, 2, 16)
        self.mode = widgets.Dropdown(options=list(explorers.INTERPOLATION_MODES), value=mode,
                                     description="mode", style=_WIDE,
                                     layout=widgets.Layout(width="200px"))
        self.position_row = _slider("position: row", position[0], 0, rows - 1)
        self.position_column = _slider("column", position[1], 0, columns - 1)
        self.image = _picture()
        self.view = None
        self.accuracy = None
        super().__init__([self.grid_rows, self.grid_columns, self.mode, self.position_row,
                          self.position_column], [self.image])
        self.refresh()

    def _draw(self) -> None:
        rows, columns, mode = self.grid_rows.value, self.grid_columns.value, self.mode.value
        with self._hold():  # keep the picked position inside the grid
            self.position_row.max, self.position_column.max = rows - 1, columns - 1
        self.view = explorers.interpolation_view(
            rows, columns, mode, (self.position_row.value, self.position_column.value))
        self.image.value = self.view.png
        self._set_readout(self.view.text, "TinyViT's accuracy at this size: computing…")
        self.accuracy = explorers.resolution_accuracy(rows, columns, mode)
        self._set_readout(self.view.text, explorers.accuracy_text(rows, columns, mode))


def interpolation_explorer(rows: int = 14, columns: int = 14,
                           mode: str = "bicubic") -> InterpolationExplorer:
    """Lesson 06's explorer: resize TinyViT's E_pos to a new grid; see it and its accuracy."""
    return InterpolationExplorer(rows, columns, mode)
