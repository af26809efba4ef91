r"""Lesson 11 — any shape, any size: images keep their aspect ratio and their own patch grid.

The paper resizes every image to one square (Sec. 3.2 fine-tunes at a larger square, with
$E_\text{pos}$ interpolated). Today's encoders keep each image's shape instead:

- **NaViT** (Dehghani et al., "Patch n' Pack: NaViT, a Vision Transformer for any Aspect
  Ratio and Resolution", NeurIPS 2023, arXiv:2307.06304) cuts each image at its own
  resolution, gives each patch factorized position embeddings (a row table plus a column
  table) and *packs* several images into one sequence, with attention masked to each image.
- **NaFlex** (SigLIP 2: Tschannen et al., "SigLIP 2: Multilingual Vision-Language Encoders
  with Improved Semantic Understanding, Localization, and Dense Features", 2025,
  arXiv:2502.14786) resizes each image so that its grid keeps the aspect ratio and holds at
  most a budget of tokens, resizes the learned $E_\text{pos}$ to each image's grid, and
  *pads* the sequences to one length, with the padding masked.

Three parts, each equal to timm 1.0.31's ``timm.models.naflexvit`` and ``timm.data.naflex_*``
(the tests check it):

1. :mod:`~vit_tutorial.native_resolution.sequences` — :func:`patchify` (patches and their
   (row, column)), :func:`fit_to_budget` and :func:`resize_to_budget` (the grid under a
   token budget), :func:`naflex_batch` (timm's dict of ``patches``, ``patch_coord``,
   ``patch_valid``).
2. :mod:`~vit_tutorial.native_resolution.position` — :func:`pos_embed_for_grid` (a learned
   table resized to an image's grid), :class:`FactorizedPositionalEmbedding` (NaViT's),
   :func:`pos_embed_per_token`.
3. :mod:`~vit_tutorial.native_resolution.batching` — :func:`attention_mask` (padding),
   :func:`pack_sequences`, :func:`packed_attention_mask`, :func:`pool_packed` (packing),
   :func:`pool_tokens`, :func:`padding_share`.

The course's :class:`~vit_tutorial.model.VisionTransformer` reads a NaFlex batch with these
(``model(batch)``), and :func:`~vit_tutorial.weights.from_timm` converts timm's
``NaFlexVit``. The lesson's figures are in :mod:`vit_tutorial.native_resolution_figures`;
its measurement is ``python -m vit_tutorial.experiments native``.
"""

from vit_tutorial.native_resolution.batching import (
    attention_mask,
    pack_lengths,
    pack_sequences,
    packed_attention_mask,
    padding_share,
    pool_packed,
    pool_tokens,
)
from vit_tutorial.native_resolution.position import (
    FactorizedPositionalEmbedding,
    pos_embed_for_grid,
    pos_embed_per_token,
)
from vit_tutorial.native_resolution.sequences import (
    NAFLEX_KEYS,
    check_naflex_batch,
    fit_to_budget,
    naflex_batch,
    naflex_grid_sizes,
    patchify,
    resize_to_budget,
)

__all__ = ["patchify", "fit_to_budget", "resize_to_budget", "naflex_batch",
           "naflex_grid_sizes", "check_naflex_batch", "NAFLEX_KEYS", "pos_embed_for_grid",
           "FactorizedPositionalEmbedding", "pos_embed_per_token", "attention_mask",
           "pool_tokens", "pack_lengths", "pack_sequences", "packed_attention_mask",
           "pool_packed", "padding_share"]
