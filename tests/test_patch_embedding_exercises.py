"""Lesson 02's exercise checkers (``vit_tutorial.exercises.patch_embedding``): right answers pass,
the student stub is "not implemented yet", and each known mistake gets its own hint."""

import torch
from checker_cases import with_answers
from torch import nn

from vit_tutorial.exercises import patch_embedding as ex
from vit_tutorial.patch_embedding import LinearPatchEmbedding


def linear_solution(conv_embedding):
    linear = LinearPatchEmbedding(conv_embedding.image_size, conv_embedding.patch_size,
                                  conv_embedding.in_channels, conv_embedding.embed_dim)
    D = conv_embedding.embed_dim
    with torch.no_grad():
        linear.proj.weight.copy_(conv_embedding.proj.weight.reshape(D, -1))
        linear.proj.bias.copy_(conv_embedding.proj.bias)
    return linear


def linear_with(weight=lambda w: w.reshape(w.shape[0], -1), copy_bias=True, no_grad=True):
    def fn(conv_embedding):
        linear = LinearPatchEmbedding(conv_embedding.image_size, conv_embedding.patch_size,
                                      conv_embedding.in_channels, conv_embedding.embed_dim)
        new = weight(conv_embedding.proj.weight)
        if new.shape != linear.proj.weight.shape:  # the learner replaced the parameter
            linear.proj.weight = nn.Parameter(new.detach().clone())
        elif no_grad:
            with torch.no_grad():
                linear.proj.weight.copy_(new)
        else:
            linear.proj.weight.copy_(new)
        if copy_bias:
            with torch.no_grad():
                linear.proj.bias.copy_(conv_embedding.proj.bias)
        return linear
    return fn


def shares_the_convolutions_memory(conv_embedding):
    """Right values, but no copy: the Linear's weight is a view of the Conv2d's, and the bias
    the very same Parameter."""
    linear = LinearPatchEmbedding(conv_embedding.image_size, conv_embedding.patch_size,
                                  conv_embedding.in_channels, conv_embedding.embed_dim)
    D = conv_embedding.embed_dim
    linear.proj.weight = nn.Parameter(conv_embedding.proj.weight.view(D, -1))
    linear.proj.bias = conv_embedding.proj.bias
    return linear


ANSWERS = {
    "check_patch_embedding_answers": {"E_shape_L32": (3072, 1024),
                                      "linear_weight_shape_L32": (1024, 3072),
                                      "conv_weight_shape_L32": (1024, 3, 32, 32),
                                      "E_params_B16": 590_592,
                                      "conv_output_shape_B16": (1, 768, 14, 14),
                                      "tokens_shape_B16": (1, 196, 768)},
}
SOLUTIONS = {
    "check_linear_from_conv": linear_solution,
    **ANSWERS,
}

WRONG = [  # (checker, wrong answer, text the feedback must contain)
    ("check_linear_from_conv", linear_with(weight=lambda w: w.reshape(w.shape[0], -1).T),
     "the weight is transposed"),
    ("check_linear_from_conv",
     linear_with(weight=lambda w: w.permute(0, 2, 3, 1).reshape(w.shape[0], -1)),
     "flattened in (P, P, C) order"),
    ("check_linear_from_conv", linear_with(weight=lambda w: w.reshape(-1, w.shape[0]).T),
     "reshape(-1, D).T keeps the right shape but mixes the filters"),
    ("check_linear_from_conv", linear_with(copy_bias=False), "the bias was not copied"),
    ("check_linear_from_conv", linear_with(no_grad=False), "`with torch.no_grad():`"),
    ("check_linear_from_conv", shares_the_convolutions_memory,
     "proj.weight and proj.bias share the convolution's memory"),
    ("check_patch_embedding_answers",
     with_answers(ANSWERS, "check_patch_embedding_answers", E_params_B16=589_824),
     "that is the weight alone; the projection has a bias too"),
    ("check_patch_embedding_answers",
     with_answers(ANSWERS, "check_patch_embedding_answers", E_shape_L32=(1024, 3072)),
     "that is nn.Linear's weight, which stores E transposed"),
    ("check_patch_embedding_answers",
     with_answers(ANSWERS, "check_patch_embedding_answers", conv_output_shape_B16=(1, 768, 196)),
     "that is after flatten(2)")
]


def test_returning_the_linear_layer_itself_is_right_too():
    assert ex.check_linear_from_conv(lambda conv: linear_solution(conv).proj)
