r"""The explorers' common widget: the only module of the course that imports ``ipywidgets``.

Each lesson's explorer (``vit_tutorial.explorers.patches`` and so on) is an
:class:`Explorer`: a ``VBox`` of controls whose changes call one pure, tested function of
that lesson's explorer module and show the PNG and the line of text it returns.

Works with ipywidgets 7.6+ (Colab ships 7.7.1) and 8: only widgets and traits both have
(``VBox``, ``HBox``, ``IntSlider``, ``Dropdown``, ``HTML``, ``Image``, ``Layout``,
``observe``). Pictures are ``Image`` widgets holding PNG bytes (one state update, no figure
left in pyplot, bytes a test can read back); sliders redraw when released
(``continuous_update=False``). Without a widget frontend (GitHub, nbviewer, nbconvert) an
explorer's output is a static PNG of its view and a ``text/plain`` line naming its settings,
the same under ipywidgets 7 and 8, which strict nbval checks.
"""

from __future__ import annotations

import html
import sys
from contextlib import contextmanager

import ipywidgets as widgets

from vit_tutorial.explorers.common import compose_png
from vit_tutorial.weights import WeightsUnavailable

__all__ = ["Explorer", "slider", "dropdown", "picture"]

_WIDE = {"description_width": "initial"}  # show a control's whole description
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def slider(description: str, value: int, low: int, high: int) -> widgets.IntSlider:
    return widgets.IntSlider(value=value, min=low, max=high, step=1, description=description,
                             continuous_update=False, style=_WIDE,
                             layout=widgets.Layout(width="330px"))


def picture(png: bytes = b"") -> widgets.Image:
    return widgets.Image(value=png, format="png",
                         layout=widgets.Layout(max_width="100%", height="auto"))


def dropdown(description: str, options, value, width: str = "420px") -> widgets.Dropdown:
    """A menu; ``options`` is a list of values or of ``(label, value)`` pairs."""
    return widgets.Dropdown(options=options, value=value, description=description, style=_WIDE,
                            layout=widgets.Layout(width=width))


class Explorer(widgets.VBox):
    """The common part of the explorers: a ``VBox`` of controls, a message line (empty
    unless something is wrong), the pictures and a readout line.

    Attributes:
        controls: the control widgets, in order.
        message: ``HTML``; a clear sentence (not a traceback) when a setting can't be shown.
        readout: ``HTML``; what the current view shows, in words and numbers.
        error: the text of the current message, or ``None``.
    """

    name = ""  # e.g. "patch": the CSS class vit-patch-explorer, for styling and tests

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
            data["image/png"] = compose_png(pngs)
        if self.comm is not None and self._view_name is not None:  # not closed
            data[_WIDGET_VIEW] = {"version_major": 2, "version_minor": 0,
                                  "model_id": self.model_id}
        display(data, raw=True)
        if _WIDGET_VIEW in data and hasattr(self, "_handle_displayed"):
            self._handle_displayed(**kwargs)  # what ipywidgets' own display does after it
