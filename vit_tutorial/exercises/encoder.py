r"""Exercises of lesson 07, the encoder (``notebooks/07_encoder.ipynb``): their checkers."""

from __future__ import annotations

import torch

from vit_tutorial.exercises.checking import (
    WholeModuleCalled,
    checker,
    count_parameters,
    fail_check,
    guard_methods,
    random_block,
    run_answer,
    tensor_problem,
)
from vit_tutorial.exercises.questions import Question, check_answers
from vit_tutorial.model import CONFIGS, VisionTransformer

__all__ = ["check_encoder_answers", "check_encoder_block"]


def _encoder_questions() -> list[Question]:
    base = CONFIGS["vit_b_16"]
    with torch.device("meta"):  # shapes and counts only: no memory, no initialisation
        block = VisionTransformer(base).encoder.blocks[0]
    mlp = count_parameters(block.mlp)
    mlp_weights = sum(p.numel() for name, p in block.mlp.named_parameters() if "weight" in name)
    D, h = base.embed_dim, base.num_heads
    head_dim = block.attn.head_dim
    T = (224 // base.patch_size) ** 2 + 1
    attention = (1, h, T, T)
    return [
        Question("head_dim_B16", "D_h, the width of one attention head, ViT-B/16", head_dim,
                 ((D, "that is D; each of the h heads gets D / h"),
                  (3 * head_dim, "q, k and v each have D_h dimensions")),
                 "D_h = D / h (Table 1: D = 768, 12 heads)"),
        Question("mlp_params_per_block_B16", "parameters of one encoder block's MLP, ViT-B/16",
                 mlp, ((mlp_weights, "that is the two weight matrices alone; the biases "
                                     "(MLP size + D) count too"),),
                 "two Linear layers, D -> MLP size -> D, with biases"),
        Question("attention_shape_B16", "shape of one layer's attention weights for one "
                                        "224×224 image, ViT-B/16", attention,
                 (((1, h, T - 1, T - 1), "the class token takes part in attention too: "
                                         "T = N + 1 tokens"),
                  ((1, T, T), "one map per head: (B, h, T, T)"),
                  ((h, T, T), "keep the batch axis: (B, h, T, T)")),
                 "(B, h, T, T) with T = N + 1"),
    ]


@checker("encoder answers")
def check_encoder_answers(answers) -> str:
    """Lesson 07, check your understanding: the sizes inside one encoder block.

    Args:
        answers: a dict (or a function returning one) with the keys ``head_dim_B16``,
            ``mlp_params_per_block_B16`` and ``attention_shape_B16`` (a tuple).
    """
    return check_answers(answers, _encoder_questions())


_WHOLE_BLOCK = ("your function called the whole block (block(z), or EncoderBlock.forward); "
                "write its forward pass from the parts: block.norm1, block.attn, block.norm2 "
                "and block.mlp")


@checker("encoder_block")
def check_encoder_block(fn) -> str:
    r"""Lesson 07, implement it: ``fn(block, z) -> z``, one pre-norm encoder block (Eq. 2–3).

    ``block`` is an :class:`~vit_tutorial.encoder.EncoderBlock` (in eval mode); use its parts
    ``block.norm1``, ``block.attn``, ``block.norm2`` and ``block.mlp`` — not ``block(z)`` —
    to compute $z' = \mathrm{MSA}(\mathrm{LN}(z)) + z$ and
    $\mathrm{MLP}(\mathrm{LN}(z')) + z'$ for ``z`` of shape ``(B, T, D)``.
    """
    for B, T in ((2, 5), (1, 7)):
        what = f"z of shape (B, T, D) = ({B}, {T}, 8)"
        block = random_block(8, 2, 16)
        z = torch.randn(B, T, 8) * 2 + 1
        n1, attn, n2, mlp = block.norm1, block.attn, block.norm2, block.mlp
        with torch.no_grad():
            expected = block(z)
            mid = z + attn(n1(z))
            post = n1(z + attn(z))
            no_res_attn = attn(n1(z))
            variants = [
                (n2(post + mlp(post)),
                 "this is post-LN, the original Transformer's order: LayerNorm after each "
                 "residual sum. ViT normalises before each sub-layer: z + MSA(LN(z)) (Eq. 2), "
                 "then z' + MLP(LN(z')) (Eq. 3)"),
                (no_res_attn + mlp(n2(no_res_attn)),
                 "the residual connection around MSA is missing: Eq. 2 adds the input back, "
                 "z' = MSA(LN(z)) + z"),
                (mlp(n2(mid)), "the residual connection around the MLP is missing: Eq. 3 adds "
                               "its input back, MLP(LN(z')) + z'"),
                (mlp(n2(no_res_attn)), "both residual connections are missing: each sub-layer "
                                       "adds its input back (Eq. 2 and 3)"),
                (n2(n1(z) + attn(n1(z))) + mlp(n2(n1(z) + attn(n1(z)))),
                 "the residuals add the normalised input; add the un-normalised one: "
                 "z + MSA(LN(z))"),
                (mid + mlp(n1(mid)), "norm1 was used before the MLP too; Eq. 3 has its own "
                                     "LayerNorm, block.norm2"),
                ((z + mlp(n2(z))) + attn(n1(z + mlp(n2(z)))),
                 "MLP before MSA: Eq. 2 (attention) comes first, then Eq. 3 (the MLP)"),
                (z + attn(n1(z)) + mlp(n2(z)),
                 "MSA and MLP were computed side by side from the same z; Eq. 3 takes z', the "
                 "output of Eq. 2"),
                ((z + attn(z)) + mlp(z + attn(z)),
                 "the LayerNorms are missing: LN comes before each sub-layer (pre-LN)"),
            ]
        # the learner writes the forward pass themselves: block(z), type(block).forward and
        # EncoderBlock.forward refuse while their function runs
        with torch.no_grad(), guard_methods(block, ("forward",),
                                            WholeModuleCalled("failed", [_WHOLE_BLOCK])):
            got = run_answer(fn, block, z.clone(), case=f"on {what}: ")
        problem = tensor_problem(got, expected, variants)
        if problem:
            fail_check(f"on {what}: {problem[0]}", *problem[1:])
    return "correct: pre-LN, with a residual connection around MSA and around the MLP (Eq. 2–3)."
