"""The lessons' interactive explorers, under the name lessons 01–06 first used.

Each explorer lives with its lesson in :mod:`vit_tutorial.explorers` (one module per lesson
that has one, as the lesson registry says); this module gathers their widget classes and
functions — the names ending in ``Explorer`` or ``_explorer`` — in one place, importing
``ipywidgets`` with :mod:`vit_tutorial.explorers.base`.
"""

from __future__ import annotations

from vit_tutorial import explorers
from vit_tutorial.explorers.base import Explorer
from vit_tutorial.names import lazy_exports

_WHERE = {name: module for module, names in explorers.MODULES.items() for name in names
          if name.endswith(("Explorer", "_explorer"))}

__all__ = ["Explorer", *_WHERE]
__getattr__, __dir__ = lazy_exports("vit_tutorial.explorers", _WHERE, __name__)
