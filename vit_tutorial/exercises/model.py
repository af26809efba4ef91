r"""Exercises of lesson 08, the whole Vision Transformer (``notebooks/08_model.ipynb``)."""

from __future__ import annotations

from dataclasses import replace

import torch

from vit_tutorial.exercises.checking import (
    WholeModuleCalled,
    build_on_meta,
    checker,
    count_parameters,
    fail_check,
    guard_methods,
    run_answer,
    tensor_problem,
)
from vit_tutorial.exercises.questions import Question, check_answers
from vit_tutorial.model import CONFIGS, VisionTransformer, ViTConfig
from vit_tutorial.positional_embedding import PositionalEmbedding

__all__ = ["check_vit_answers", "check_vit_forward"]


def _vit_and_params(config) -> tuple[VisionTransformer, int]:
    """A ViT without E_pos, built on the meta device (no memory, no initialisation), and the
    parameter count of the whole model: that one plus a real E_pos. (Drawing E_pos's random
    start on the meta device would first load PyTorch's meta kernels: a second, once.)"""
    bare = build_on_meta(lambda: VisionTransformer(replace(config, positional_embedding="none")))
    pos_embed = PositionalEmbedding(bare.patch_embed.num_patches, config.embed_dim)
    return bare, count_parameters(bare) + count_parameters(pos_embed)


def _vit_questions() -> list[Question]:
    b16, b32, huge = CONFIGS["vit_b_16"], CONFIGS["vit_b_32"], CONFIGS["vit_h_14"]
    classes_21k = 21_843  # ImageNet-21k
    vit_b32, params_b32_21k = _vit_and_params(replace(b32, num_classes=classes_21k))
    params_b32 = _vit_and_params(b32)[1]
    params_b16_21k = _vit_and_params(replace(b16, num_classes=classes_21k))[1]
    head_21k = count_parameters(vit_b32.head)
    params_h14 = _vit_and_params(huge)[1]
    params_h14_518 = _vit_and_params(replace(huge, image_size=518))[1]
    head_dim = huge.embed_dim // huge.num_heads
    tokens_384 = (384 // b32.patch_size) ** 2 + 1
    count = "count this model: build it on the meta device and sum p.numel()"
    return [
        Question("params_B32_21k", "parameters of ViT-B/32 with ImageNet-21k's 21,843-class "
                                   "head", params_b32_21k,
                 ((params_b32, "that is with the 1,000-class head; this head has 21,843 "
                               "classes"),
                  (params_b16_21k, "that is ViT-B/16 with this head (step 3); ViT-B/32 cuts "
                                   "32 × 32 patches, which changes E and E_pos"),
                  (params_b32_21k - head_21k, "that is without the head; the head counts "
                                              "too")),
                 count),
        Question("params_H14_518", "parameters of ViT-H/14 at 518×518, with a 1,000-class "
                                   "head", params_h14_518,
                 ((params_h14, "that is at 224×224; at 518×518 the patch grid is larger, and "
                               "one tensor has a row per token"),
                  (632_000_000, "Table 1 rounds, and counts one resolution; " + count),
                  (632, "Table 1 rounds, and counts one resolution; " + count)),
                 "which of the model's tensors change size when the image does?"),
        Question("head_dim_H14", "D_h, the width of one attention head of ViT-H/14", head_dim,
                 ((huge.embed_dim, "that is D; each of the h heads gets D / h"),
                  (huge.embed_dim // 12, "ViT-Huge has 16 heads (Table 1), not 12"),
                  (b16.embed_dim // b16.num_heads, "that is ViT-Base's head width")),
                 "Table 1 gives D and the number of heads for Huge"),
        Question("tokens_B32_384", "tokens the encoder reads, ViT-B/32 fine-tuned at 384×384",
                 tokens_384, ((tokens_384 - 1, "the class token is a token too: N + 1"),
                              ((384 // 16) ** 2 + 1, "that is for 16×16 patches; ViT-B/32 "
                                                     "cuts 32×32 patches"),
                              ((224 // 32) ** 2 + 1, "that is at 224×224")),
                 "the patch grid at this resolution, plus the class token"),
    ]


@checker("vit answers")
def check_vit_answers(answers) -> str:
    """Lesson 08, check your understanding: sizes of the whole ViT.

    Args:
        answers: a dict (or a function returning one) with the keys ``params_B32_21k``,
            ``params_H14_518``, ``head_dim_H14`` and ``tokens_B32_384``.
    """
    return check_answers(answers, _vit_questions())


_CONFIG = ViTConfig(image_size=8, patch_size=4, in_channels=1, num_classes=3, embed_dim=8,
                    depth=2, num_heads=2, mlp_dim=16)
_WHOLE = ("your function called the whole model (model(images), model.forward_features or "
          "model.embed, through the model or its class); write the forward pass from the "
          "parts: model.patch_embed, model.class_token, model.positional_embedding, "
          "model.encoder, model.norm and model.head")


def _forward_variants(model: VisionTransformer, images: torch.Tensor) -> list:
    """Known wrong ways to put the parts together, ``(logits, why)``."""
    tokens = model.positional_embedding(model.class_token(model.patch_embed(images)))
    z = model.encoder(tokens)  # (B, N + 1, D)
    head, norm = model.head, model.norm
    no_pos = model.encoder(model.class_token(model.patch_embed(images)))
    return [
        (head(norm(z.mean(dim=1))), "you averaged all tokens (global average pooling); Eq. 4 "
                                    "reads the class token alone, y = LN(z_L^0): z[:, 0]"),
        (head(norm(z[:, -1])), "you read the last token; the class token is at position 0: "
                               "z[:, 0]"),
        (head(z[:, 0]), "the final LayerNorm is missing: Eq. 4 is y = LN(z_L^0)"),
        (head(norm(no_pos[:, 0])), "E_pos was not added: z_0 = [x_class; x_p E] + E_pos"),
        (head(norm(z))[:, 0], None),  # the same numbers: normalising every token is fine
        ((images.shape[0], z.shape[1], head.out_features),
         "the head was applied to every token, (B, N + 1, classes); take the class token's "
         "state first, z[:, 0], then LN and the head"),
    ]


@checker("vit_forward")
def check_vit_forward(fn) -> str:
    r"""Lesson 08, implement it: ``fn(model, images) -> logits``, Eq. 1–4 from the parts.

    ``model`` is a :class:`~vit_tutorial.model.VisionTransformer` in eval mode; use its parts
    ``model.patch_embed``, ``model.class_token``, ``model.positional_embedding``,
    ``model.encoder``, ``model.norm`` and ``model.head`` — not ``model(images)`` — to compute
    $z_0$ (Eq. 1), $z_L$ (Eq. 2–3), $y = \mathrm{LN}(z_L^0)$ (Eq. 4) and the logits.
    """
    for B in (2, 1):
        what = f"a batch of {B} 1×8×8 images, a 2-layer ViT with D = 8"
        model = VisionTransformer(_CONFIG).eval()
        with torch.no_grad():
            model.positional_embedding.pos_embed.normal_(0, 1.0)  # so that forgetting it shows
            model.class_token.cls_token.normal_(0, 1.0)
            images = torch.rand(B, 1, 8, 8)
            expected = model(images)
            variants = [(v, why) for v, why in _forward_variants(model, images) if why]
        with torch.no_grad(), guard_methods(model, ("forward", "forward_features", "embed"),
                                            WholeModuleCalled("failed", [_WHOLE])):
            got = run_answer(fn, model, images.clone(), case=f"on {what}: ")
        problem = tensor_problem(got, expected, variants)
        if problem:
            fail_check(f"on {what}: {problem[0]}", *problem[1:])
    return ("correct: patches -> E -> prepend x_class -> + E_pos -> encoder -> LN of the class "
            "token's state -> head (Eq. 1–4).")
