"""The lessons' interactive explorers: one module per lesson that has one.

``vit_tutorial.explorers.patches`` (lesson 01), ``.patch_embedding`` (02), ``.similarity``
(05) and ``.interpolation`` (06) each hold a pure function that draws the picture (tested on
its own, and run anywhere), the picture it keeps and updates between redraws, and the
widget that wires controls to it.
:mod:`~vit_tutorial.explorers.base` is the common widget — the only module of the course that
imports ``ipywidgets`` — and :mod:`~vit_tutorial.explorers.common` what the explorers share.
``python -m vit_tutorial.explorers`` prints how long each explorer takes to redraw.
"""

from __future__ import annotations

import importlib

#: Explorer module -> its public names (``from vit_tutorial.explorers import patch_explorer``
#: imports only that lesson's module).
MODULES = {
    "patches": ("PatchSummary", "patch_summary", "PatchPicture", "draw_patch_explorer",
                "patch_explorer_png", "PatchExplorer", "patch_explorer"),
    "patch_embedding": ("PatchEmbeddingView", "patch_embedding_view", "PatchEmbeddingPicture",
                        "PatchEmbeddingExplorer", "patch_embedding_explorer"),
    "similarity": ("SIMILARITY_SOURCES", "SimilarityView", "similarity_source",
                   "similarity_view", "SimilarityExplorer", "similarity_explorer"),
    "interpolation": ("INTERPOLATION_MODES", "InterpolationView", "interpolation_view",
                      "InterpolationPicture", "resolution_accuracy", "accuracy_text",
                      "InterpolationExplorer", "interpolation_explorer"),
    "common": ("STATIC_CAPTION", "Picture", "compose_png"),
}
_WHERE = {name: module for module, names in MODULES.items() for name in names}

__all__ = ["MODULES", *_WHERE]


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'vit_tutorial.explorers' has no attribute {name!r}")
    return getattr(importlib.import_module(f"vit_tutorial.explorers.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
