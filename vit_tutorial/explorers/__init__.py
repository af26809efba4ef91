"""The lessons' interactive explorers: one module per lesson that has one.

A lesson with an explorer says so in the lesson registry (``explorer=True``), and its
module here is named like the lesson's module: ``vit_tutorial.explorers.patches`` (lesson
01), ``.patch_embedding`` (02), ``.similarity`` (05), ``.interpolation`` (06). Each holds a
pure function that draws the picture (tested on its own, and run anywhere), the picture it
keeps and updates between redraws, and the widget that wires controls to it.
:mod:`~vit_tutorial.explorers.base` is the common widget — the only module of the course that
imports ``ipywidgets`` — and :mod:`~vit_tutorial.explorers.common` what the explorers share.
``python -m vit_tutorial.explorers`` prints how long each explorer takes to redraw.
"""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from vit_tutorial.lessons import LESSONS
from vit_tutorial.names import lazy_exports


def _public_names(module: str) -> tuple[str, ...]:
    """An explorer module's ``__all__``, read from its source without importing it (so that
    asking for one explorer loads that lesson's module alone)."""
    tree = ast.parse((Path(__file__).parent / f"{module}.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == "__all__"
                for target in node.targets):
            return tuple(ast.literal_eval(node.value))
    raise ValueError(f"vit_tutorial/explorers/{module}.py has no __all__ (a list of names)")


_DECLARED = {**{lesson.module: _public_names(lesson.module) for lesson in LESSONS
                if lesson.explorer},
             "common": ("STATIC_CAPTION", "Picture", "compose_png")}
_COUNTS = Counter(name for names in _DECLARED.values() for name in names)
#: Explorer module -> the public names re-exported here (``from vit_tutorial.explorers import
#: patch_explorer`` imports only that lesson's module): the registry's explorers, and what
#: they share. A name several explorers define (each its own ``clear_caches``) stays with
#: its modules.
MODULES = {module: tuple(name for name in names if _COUNTS[name] == 1)
           for module, names in _DECLARED.items()}
_WHERE = {name: module for module, names in MODULES.items() for name in names}

__all__ = ["MODULES", *_WHERE]
__getattr__, __dir__ = lazy_exports(__name__, _WHERE)
