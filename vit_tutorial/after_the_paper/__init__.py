r"""Lesson 10 — after the paper: three later answers to questions the ViT paper left open.

The paper fixes the patch size $P$ for good, adds a learned table $E_\text{pos}$ that must be
interpolated for every new resolution (Sec. 3.2), and reads the class token's output while
ignoring what the patch tokens do with theirs. Three follow-ups changed exactly these spots:

1. **FlexiViT** (Beyer et al., "FlexiViT: One Model for All Patch Sizes", CVPR 2023,
   arXiv:2212.08013) — change $P$ after training by resizing the patch-embedding filters
   $E$ with a *pseudo-inverse* resize (PI-resize), so that a resized patch gives the same
   token as the original patch. :func:`resample_patch_embed`,
   :func:`resize_patch_embedding`, :func:`patch_resize_matrix`, :func:`resize_patches`,
   and :func:`with_patch_size` for a whole trained ViT.
2. **2-D rotary position embeddings** (Heo et al., "Rotary Position Embedding for Vision
   Transformer", ECCV 2024, arXiv:2403.13298; RoPE itself is from Su et al., RoFormer,
   arXiv:2104.09864) — nothing is added to the tokens; instead every attention layer
   *rotates* the queries and keys of the patch tokens by angles proportional to their row
   and column. The score $q \cdot k$ then depends only on the offset between two patches,
   so a model trained on a 7×7 grid runs on 14×14 with nothing to resize.
   :func:`rope_2d_axial`, :func:`rope_2d_mixed`, :func:`apply_rope`,
   :class:`RoPEEncoderBlock`, and :class:`RoPEViT`, a whole ViT without $E_\text{pos}$.
3. **Registers** (Darcet et al., "Vision Transformers Need Registers", ICLR 2024,
   arXiv:2309.16588) — large, long-trained ViTs turn a few patch tokens, mostly in patches
   that look like their neighbours (background), into high-norm outliers in the outputs of
   their later layers; extra learnable tokens ("registers") next to the class token give
   the model somewhere else to put that computation.
   :func:`token_norms` and :func:`high_norm_tokens` measure the outliers.

Every function here matches timm 1.0.31 numerically (the tests check it): PI-resize equals
``timm.layers.resample_patch_embed``; the RoPE tables and rotation equal timm's
``RotaryEmbeddingCat`` / ``RotaryEmbeddingMixed`` and ``apply_rot_embed_cat`` as built by
its ``vit_base_patch16_rope_224`` and ``vit_base_patch16_rope_mixed_224`` models (the
port of naver-ai/rope-vit, the paper's code), :class:`RoPEEncoderBlock` equals timm's
``EvaBlock`` with ``attn_type='rope'`` given the same weights, and :class:`RoPEViT` gives
the logits of those whole models (LayerScale factors at 1) at any image size.

The lesson's figures are :mod:`vit_tutorial.after_the_paper_figures`; its measurements:
``python -m vit_tutorial.experiments flexivit | rope | registers``.
"""

from vit_tutorial.after_the_paper.flexivit import (
    patch_resize_matrix,
    resample_patch_embed,
    resize_patch_embedding,
    resize_patches,
    with_patch_size,
)
from vit_tutorial.after_the_paper.registers import HighNormTokens, high_norm_tokens, token_norms
from vit_tutorial.after_the_paper.rope import (
    apply_rope,
    mixed_frequencies,
    rope_2d_axial,
    rope_2d_mixed,
    rope_frequencies,
)
from vit_tutorial.after_the_paper.rope_attention import RoPEAttention, RoPEEncoderBlock
from vit_tutorial.after_the_paper.rope_vit import RoPEEncoder, RoPEViT
from vit_tutorial.names import moved

__all__ = ["patch_resize_matrix", "resample_patch_embed", "resize_patch_embedding",
           "resize_patches", "with_patch_size", "rope_frequencies", "rope_2d_axial",
           "mixed_frequencies", "rope_2d_mixed", "apply_rope", "RoPEAttention",
           "RoPEEncoderBlock", "RoPEEncoder", "RoPEViT", "token_norms", "HighNormTokens",
           "high_norm_tokens"]
# Old names: the lesson's drawing, now in its figures module.
__getattr__ = moved(__name__, {name: f"vit_tutorial.after_the_paper_figures.{name}" for name in (
    "plot_filters", "plot_accuracy_by_size", "plot_norm_histograms")})
