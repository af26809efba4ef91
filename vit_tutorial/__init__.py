"""ViT, step by step: the Vision Transformer's input pipeline, one idea per module.

Lessons (each module matches a notebook in ``notebooks/``):

- :mod:`vit_tutorial.patches` — 01, image -> sequence of flattened patches
- :mod:`vit_tutorial.patch_embedding` — 02, the linear projection E of Eq. 1
- :mod:`vit_tutorial.class_token` — 03, the learnable class token
"""

__version__ = "0.1.0"
