"""ViT, step by step: the Vision Transformer, one idea per module.

Lessons (each module matches a notebook in ``notebooks/`` and a test file in ``tests/``):

- :mod:`vit_tutorial.patches` — 01, image -> sequence of flattened patches
- :mod:`vit_tutorial.patch_embedding` — 02, the linear projection E of Eq. 1
- :mod:`vit_tutorial.class_token` — 03, the learnable class token
- :mod:`vit_tutorial.positional_embedding` — 04, the position embeddings E_pos
- :mod:`vit_tutorial.similarity` — 05, what E_pos learns (Figure 7, centre)
- :mod:`vit_tutorial.interpolation` — 06, E_pos at a new resolution (Sec. 3.2)
- :mod:`vit_tutorial.encoder`, :mod:`vit_tutorial.model`, :mod:`vit_tutorial.weights` —
  07, the pre-norm encoder, the whole ViT, torchvision's and timm's weights

Faces on top of them: :mod:`~vit_tutorial.data` (offline images and digits),
:mod:`~vit_tutorial.train` and :mod:`~vit_tutorial.experiments` (TinyViT and the measured
results), :mod:`~vit_tutorial.exercises` and :mod:`~vit_tutorial.classroom` (the classroom
edition), :mod:`~vit_tutorial.explorers` and :mod:`~vit_tutorial.widgets` (interactive
explorers), :mod:`~vit_tutorial.benchmark` (speed against torchvision and timm),
:mod:`~vit_tutorial.course` (the table of contents and the repository's address) and
:mod:`~vit_tutorial.site` (the course as a website).
"""

__version__ = "0.1.0"
