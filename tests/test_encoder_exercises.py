"""Lesson 07's exercise checkers (``vit_tutorial.exercises.encoder``): right answers pass,
the student stub is "not implemented yet", and each known mistake gets its own hint."""

import torch
from checker_cases import with_answers

from vit_tutorial.encoder import EncoderBlock
from vit_tutorial.exercises import encoder as ex


def block_solution(block, z):
    z = z + block.attn(block.norm1(z))  # Eq. 2
    return z + block.mlp(block.norm2(z))  # Eq. 3


def post_ln(block, z):
    z = block.norm1(z + block.attn(z))
    return block.norm2(z + block.mlp(z))


def writes_into_the_block(block, z):
    """Right output, but the block's LayerNorm is changed on the way (a later case would
    then see another block)."""
    out = block_solution(block, z)
    with torch.no_grad():
        block.norm1.weight.add_(1.0)
    return out


def no_attention_residual(block, z):
    z = block.attn(block.norm1(z))
    return z + block.mlp(block.norm2(z))


ANSWERS = {
    "check_encoder_answers": {"head_dim_B16": 64, "mlp_params_per_block_B16": 4_722_432,
                              "attention_shape_B16": (1, 12, 197, 197)},
}
SOLUTIONS = {
    "check_encoder_block": block_solution,
    **ANSWERS,
}

WRONG = [  # (checker, wrong answer, text the feedback must contain)
    ("check_encoder_block", post_ln, "this is post-LN"),
    ("check_encoder_block", no_attention_residual,
     "the residual connection around MSA is missing"),
    ("check_encoder_block", lambda block, z: block(z), "your function called the whole block"),
    ("check_encoder_block",
     lambda block, z: z + block.attn(block.norm1(z)) + block.mlp(block.norm2(z)),
     "computed side by side"),
    ("check_encoder_block",  # around the rule: the class's forward, not the instance's
     lambda block, z: type(block).forward(block, z), "your function called the whole block"),
    ("check_encoder_block",  # the module the learner is asked to write, through its class
     lambda block, z: EncoderBlock.forward(block, z), "your function called the whole block"),
    ("check_encoder_block", writes_into_the_block, "changed its input in place"),
    ("check_encoder_answers", with_answers(ANSWERS, "check_encoder_answers", head_dim_B16=768),
     "that is D"),
    ("check_encoder_answers",
     with_answers(ANSWERS, "check_encoder_answers", mlp_params_per_block_B16=4_718_592),
     "the biases (MLP size + D) count too"),
    ("check_encoder_answers",
     with_answers(ANSWERS, "check_encoder_answers", attention_shape_B16=(1, 12, 196, 196)),
     "the class token takes part in attention too"),
]


def test_the_class_gets_its_forward_back_after_a_check():
    forward = EncoderBlock.forward
    ex.check_encoder_block(lambda block, z: EncoderBlock.forward(block, z))
    assert EncoderBlock.forward is forward
    block = EncoderBlock(8, 2, 16).eval()
    assert block(torch.randn(1, 3, 8)).shape == (1, 3, 8)
