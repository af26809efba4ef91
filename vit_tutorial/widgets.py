"""The lessons' interactive explorers, under the name lessons 01–06 first used.

Each explorer lives with its lesson in :mod:`vit_tutorial.explorers` (``.patches``,
``.patch_embedding``, ``.similarity``, ``.interpolation``); this module gathers their
widget classes and functions in one place.
"""

from __future__ import annotations

from vit_tutorial.explorers.base import Explorer
from vit_tutorial.explorers.interpolation import InterpolationExplorer, interpolation_explorer
from vit_tutorial.explorers.patch_embedding import (
    PatchEmbeddingExplorer,
    patch_embedding_explorer,
)
from vit_tutorial.explorers.patches import PatchExplorer, patch_explorer
from vit_tutorial.explorers.similarity import SimilarityExplorer, similarity_explorer

__all__ = ["Explorer", "PatchExplorer", "PatchEmbeddingExplorer", "SimilarityExplorer",
           "InterpolationExplorer", "patch_explorer", "patch_embedding_explorer",
           "similarity_explorer", "interpolation_explorer"]
