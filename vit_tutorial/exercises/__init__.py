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

#: Lesson notebook -> (exercise module, {checker: points in a graded class}), the checkers in
#: the order the exercises appear. Points: 1 for each "check your understanding" exercise
#: (``check_..._answers``), 2-4 for each "implement it" one, by how much it asks.
CHECKERS = {
    "01_patches": ("patches", {"check_num_patches_answers": 1, "check_image_to_patches": 3}),
    "02_patch_embeddings": ("patch_embedding", {"check_patch_embedding_answers": 1,
                                                "check_linear_from_conv": 3}),
    "03_class_token": ("class_token", {"check_class_token_answers": 1,
                                       "check_prepend_class_token": 2}),
    "04_positional_embeddings": ("positional_embedding", {"check_pos_embed_answers": 1,
                                                          "check_shuffle_patches": 2,
                                                          "check_permutation_invariance": 2}),
    "05_position_similarity": ("similarity", {"check_similarity_answers": 1,
                                              "check_position_similarity": 2,
                                              "check_locality_score": 3}),
    "06_interpolation": ("interpolation", {"check_interpolation_answers": 1,
                                           "check_resize_pos_embed": 3}),
    "07_encoder": ("encoder", {"check_encoder_answers": 1, "check_encoder_block": 3}),
    "08_model": ("model", {"check_vit_answers": 1, "check_vit_forward": 4}),
    "09_attention_maps": ("attention_maps", {"check_attention_map_answers": 1,
                                             "check_mean_attention_distance": 4}),
    "10_after_the_paper": ("after_the_paper", {"check_after_the_paper_answers": 1,
                                               "check_pi_resize": 4}),
    "11_native_resolution": ("native_resolution", {"check_native_resolution_answers": 1,
                                                   "check_factorized_pos_embed": 3,
                                                   "check_attention_mask": 3}),
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
