"""The lessons' exercises: one checker per exercise, one module per lesson.

``vit_tutorial.exercises.patches`` holds lesson 01's checkers, ``...exercises.model``
lesson 08's, and so on (the module is named after the lesson's module);
:mod:`vit_tutorial.exercises.checking` is the machinery they share. A lesson imports its
own checkers (``from vit_tutorial.exercises.patches import check_image_to_patches``);
``from vit_tutorial.exercises import check_image_to_patches`` works too, and imports only
that lesson's module.
"""

from __future__ import annotations

import importlib

#: Lesson notebook -> (exercise module, its checkers in the order the exercises appear).
CHECKERS = {
    "01_patches": ("patches", ("check_num_patches_answers", "check_image_to_patches")),
    "02_patch_embeddings": ("patch_embedding", ("check_patch_embedding_answers",
                                                "check_linear_from_conv")),
    "03_class_token": ("class_token", ("check_class_token_answers",
                                       "check_prepend_class_token")),
    "04_positional_embeddings": ("positional_embedding", ("check_pos_embed_answers",
                                                          "check_shuffle_patches",
                                                          "check_permutation_invariance")),
    "05_position_similarity": ("similarity", ("check_similarity_answers",
                                              "check_position_similarity",
                                              "check_locality_score")),
    "06_interpolation": ("interpolation", ("check_interpolation_answers",
                                           "check_resize_pos_embed")),
    "07_encoder": ("encoder", ("check_encoder_answers", "check_encoder_block")),
    "08_model": ("model", ("check_vit_answers", "check_vit_forward")),
    "09_attention_maps": ("attention_maps", ("check_attention_map_answers",
                                             "check_mean_attention_distance")),
    "10_after_the_paper": ("after_the_paper", ("check_after_the_paper_answers",
                                               "check_pi_resize")),
    "11_native_resolution": ("native_resolution", ("check_native_resolution_answers",
                                                   "check_factorized_pos_embed",
                                                   "check_attention_mask")),
}

_SHARED = ("CheckResult", "NOT_IMPLEMENTED")
_WHERE = {name: module for module, names in CHECKERS.values() for name in names}
_WHERE.update(dict.fromkeys(_SHARED, "checking"))

__all__ = ["CHECKERS", *_WHERE]


def __getattr__(name: str):
    """Import a checker's lesson module the first time one of its names is asked for."""
    if name not in _WHERE:
        raise AttributeError(f"module 'vit_tutorial.exercises' has no attribute {name!r}")
    return getattr(importlib.import_module(f"vit_tutorial.exercises.{_WHERE[name]}"), name)


def __dir__() -> list[str]:
    return sorted(__all__)
