"""ViT, step by step: the Vision Transformer, one idea per lesson, one lesson per module.

Lessons (each module matches ``notebooks/NN_<name>.ipynb`` and ``tests/test_<module>.py``;
its checkers are in ``exercises/<module>.py``, its explorer, if any, in
``explorers/<module>.py``):

- 01 :mod:`~vit_tutorial.patches` — image -> sequence of flattened patches
- 02 :mod:`~vit_tutorial.patch_embedding` — the linear projection E of Eq. 1
- 03 :mod:`~vit_tutorial.class_token` — the learnable class token
- 04 :mod:`~vit_tutorial.positional_embedding` — the position embeddings E_pos
- 05 :mod:`~vit_tutorial.similarity` — what E_pos learns (Figure 7, centre)
- 06 :mod:`~vit_tutorial.interpolation` (and ``interpolation_figures``) — E_pos at a new
  resolution (Sec. 3.2)
- 07 :mod:`~vit_tutorial.encoder` — the pre-norm encoder (Eq. 2–3)
- 08 :mod:`~vit_tutorial.model`, :mod:`~vit_tutorial.weights` — the whole ViT; torchvision's
  and timm's weights
- 09 :mod:`~vit_tutorial.attention_maps` — what a trained ViT learns (Figures 7 and 6)
- 10 :mod:`~vit_tutorial.after_the_paper` — FlexiViT, 2-D RoPE, registers
- 11 :mod:`~vit_tutorial.native_resolution` (and ``native_resolution_figures``) — any shape,
  any size: NaViT's packing and SigLIP 2's NaFlex (on the lesson floor: the model reads
  NaFlex batches with it)

Below them, small helpers (``_checks``, ``grid``, ``figures``, ``files``, ``checkpoints``,
``threads``, ``data``, ``lesson_time``); above them, the faces (``train``, ``experiments``,
``native_experiment``, ``course_model``, ``exercises``, ``explorers``, ``widgets``,
``classroom``, ``editions``, ``course``, ``site``, ``diagram``, ``benchmark``). The README's
"For contributors" says what may import what; ``tests/test_architecture.py`` checks it.
"""

__version__ = "0.2.0"
