r"""Exercises of lesson 02, patch embeddings (``notebooks/02_patch_embeddings.ipynb``): their
checkers."""

from __future__ import annotations

import torch
from torch import nn

from vit_tutorial.exercises.checking import (
    build_on_meta,
    checker,
    count_parameters,
    fail_check,
    run_answer,
    tensor_problem,
    tensors_close,
    type_name,
)
from vit_tutorial.exercises.questions import Question, check_answers
from vit_tutorial.patch_embedding import LinearPatchEmbedding, PatchEmbedding
from vit_tutorial.patches import image_to_patches

__all__ = ['check_patch_embedding_answers', 'check_linear_from_conv']

def _patch_embedding_questions() -> list[Question]:
    b16 = build_on_meta(lambda: PatchEmbedding(224, 16, 3, 768))
    l32 = build_on_meta(lambda: PatchEmbedding(224, 32, 3, 1024))
    linear_l32 = build_on_meta(lambda: LinearPatchEmbedding(224, 32, 3, 1024))
    linear_l32 = tuple(linear_l32.proj.weight.shape)
    e_l32 = linear_l32[::-1]  # the paper's E is the transpose of nn.Linear's weight
    conv_l32 = tuple(l32.proj.weight.shape)
    e_params = count_parameters(b16)
    B, D, (gh, gw) = 1, b16.embed_dim, b16.grid_size
    conv_out = (B, D, gh, gw)  # proj(x): one D-vector per patch position, channels first
    tokens = (B, b16.num_patches, D)  # after flatten(2).transpose(1, 2)
    return [
        Question("E_shape_L32", "the shape of E in the paper's notation, (P²·C) × D, ViT-L/32",
                  e_l32, ((linear_l32, "that is nn.Linear's weight, which stores E transposed; "
                                       "the paper's E is (P²·C) × D"),),
                  "E maps a patch vector of P²·C values to D values"),
        Question("linear_weight_shape_L32", "LinearPatchEmbedding.proj.weight.shape, ViT-L/32",
                  linear_l32, ((e_l32, "that is E itself; nn.Linear(in, out) stores its weight "
                                       "as (out, in), which is E transposed"),
                               (conv_l32, "that is the Conv2d's weight")),
                  "nn.Linear(in_features, out_features).weight has shape (out, in)"),
        Question("conv_weight_shape_L32", "PatchEmbedding.proj.weight.shape, ViT-L/32",
                  conv_l32, ((linear_l32, "that is the Linear's weight; a Conv2d keeps each of "
                                          "its D filters as a (C, P, P) block"),
                             ((conv_l32[0], *conv_l32[2:], conv_l32[1]),
                              "PyTorch is channels-first: (D, C, P, P)"),
                             ((conv_l32[1], conv_l32[0], *conv_l32[2:]),
                              "out_channels come first: (D, C, P, P)")),
                  "Conv2d(C, D, kernel_size=P).weight has shape (D, C, P, P)"),
        Question("E_params_B16", "trainable parameters of ViT-B/16's patch embedding",
                  e_params, ((e_params - D, "that is the weight alone; the projection has a "
                                            "bias too, D more values"),),
                  "count the weight (P²·C·D) and the bias (D)"),
        Question("conv_output_shape_B16", "shape of proj(x) for one 224×224 image, ViT-B/16, "
                                           "before flatten", conv_out,
                  (((B, D, gh * gw), "that is after flatten(2); the question asks for the "
                                     "convolution's own output"),
                   ((B, gh, gw, D), "a Conv2d's output is channels-first: (B, D, H/P, W/P)"),
                   (tokens, "that is after flatten and transpose; the question asks for the "
                            "convolution's own output"),
                   ((D, gh, gw), "keep the batch axis: one image is a batch of 1")),
                  "a Conv2d with kernel = stride = P gives (B, D, H/P, W/P)"),
        Question("tokens_shape_B16", "shape of the patch embeddings for one 224×224 image, "
                                      "ViT-B/16", tokens,
                  (((B, D, gh * gw), "flatten(2) alone gives (B, D, N); transpose(1, 2) makes "
                                     "it (B, N, D)"),
                   ((B, gh * gw + 1, D), "the class token comes later (lesson 03)"),
                   (tokens[1:], "keep the batch axis: one image is a batch of 1")),
                  "one D-vector per patch: (B, N, D)"),
    ]


@checker("patch embedding answers")
def check_patch_embedding_answers(answers) -> str:
    """Lesson 02, check your understanding: the shapes and size of E.

    Args:
        answers: a dict (or a function returning one) with the keys ``E_shape_L32``,
            ``linear_weight_shape_L32``, ``conv_weight_shape_L32``, ``E_params_B16``,
            ``conv_output_shape_B16`` and ``tokens_shape_B16``. Shapes are tuples of ints.
    """
    return check_answers(answers, _patch_embedding_questions())


_W_TRANSPOSED = ("the weight is transposed: nn.Linear stores E transposed, shape "
                 "(D, C·P·P) — exactly the layout of conv.weight.reshape(D, -1); drop the .T")
_W_PPC = ("the filters were flattened in (P, P, C) order (channels last); the patch vectors "
          "of image_to_patches are (C, P, P), so flatten the conv weight (D, C, P, P) as it is: "
          "reshape(D, -1), no permute")
_W_PIXELS_T = ("the pixels of each filter are transposed (column by column); flatten "
               "(D, C, P, P) as it is: reshape(D, -1)")
_W_SCRAMBLED = ("reshape(-1, D).T keeps the right shape but mixes the filters: row d of the "
                "Linear's weight must be filter d, conv.weight[d], flattened — use "
                "reshape(D, -1)")


def _same_memory(a: object, b: torch.Tensor) -> bool:
    """Do two tensors live in the same storage (a view, a reshape without a copy, or the very
    same Parameter)?"""
    return (isinstance(a, torch.Tensor) and a.device == b.device
            and a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr())


@checker("linear_from_conv")
def check_linear_from_conv(fn) -> str:
    """Lesson 02, implement it: ``fn(conv_embedding) -> LinearPatchEmbedding``.

    ``conv_embedding`` is a :class:`~vit_tutorial.patch_embedding.PatchEmbedding`; return a
    :class:`~vit_tutorial.patch_embedding.LinearPatchEmbedding` of the same sizes whose
    ``proj`` holds a copy of the convolution's weight and bias, so both compute the same
    function (an ``nn.Linear`` alone is accepted too). Like ``LinearPatchEmbedding.from_conv``.
    """
    cases = [
        ("PatchEmbedding(image_size=8, patch_size=4, in_channels=3, embed_dim=6)",
         PatchEmbedding(8, 4, 3, 6)),
        ("PatchEmbedding(image_size=(8, 12), patch_size=(2, 4), in_channels=2, embed_dim=5), "
         "non-square", PatchEmbedding((8, 12), (2, 4), 2, 5)),
    ]
    for what, conv in cases:
        weight, bias = conv.proj.weight.detach().clone(), conv.proj.bias.detach().clone()
        D = weight.shape[0]
        K = weight[0].numel()  # C·P·P
        got = run_answer(fn, conv, case=f"on {what}: ",
                   fallback="build a LinearPatchEmbedding with the conv's sizes and copy the "
                        "weights into its proj")
        if not (torch.equal(conv.proj.weight.detach(), weight)
                and torch.equal(conv.proj.bias.detach(), bias)):
            fail_check(f"on {what}: your function changed the convolution's weights; copy from "
                        f"conv_embedding.proj, don't write into it")
        linear = got.proj if isinstance(got, LinearPatchEmbedding) else got
        if not isinstance(linear, nn.Linear):
            fail_check(f"on {what}: expected a LinearPatchEmbedding (or an nn.Linear), got "
                        f"{type_name(got)}")
        shared = [name for name in ("weight", "bias") if _same_memory(
            getattr(linear, name), getattr(conv.proj, name))]
        if shared:
            fail_check(f"on {what}: proj.{' and proj.'.join(shared)} share the convolution's "
                       f"memory (a view or the same Parameter), not a copy: training one module "
                       f"would change the other. Give the Linear its own tensors and copy the "
                       f"values in")
        expected = weight.reshape(D, -1)  # (D, C, P, P) -> (D, C·P·P)
        problem = tensor_problem(
            linear.weight, expected,
            [(expected.T, _W_TRANSPOSED),
             (weight.permute(0, 2, 3, 1).reshape(D, -1), _W_PPC),
             (weight.transpose(2, 3).reshape(D, -1), _W_PIXELS_T),
             (weight.reshape(K, D).T, _W_SCRAMBLED)],
            name="proj.weight",
            wrong_values="it doesn't hold the convolution's filters: copy conv.proj.weight, "
                         "reshaped to (D, C·P·P), into it")
        if problem:
            fail_check(f"on {what}: {problem[0]}", *problem[1:])
        if linear.bias is None:
            fail_check(f"on {what}: the Linear has no bias, but the Conv2d has one (D values): "
                        f"keep bias=True and copy it")
        if not tensors_close(linear.bias, bias):
            fail_check(f"on {what}: the bias was not copied: proj.bias must equal the conv's bias "
                        f"(conv_embedding.proj.bias) — the projection is x_p E + b in both forms")
        images = torch.randn(2, conv.in_channels, *conv.image_size)
        with torch.no_grad():
            reference = conv(images)
            if isinstance(got, LinearPatchEmbedding):
                output = run_answer(got, images, case=f"on {what}, running the module: ")
            else:
                output = linear(image_to_patches(images, conv.patch_size))
        if not tensors_close(output, reference, atol=1e-4):
            fail_check(f"on {what}: the weights are right, but the module's output differs from "
                        f"the convolution's: build the LinearPatchEmbedding with the conv's "
                        f"image_size, patch_size, in_channels and embed_dim")
    return ("the Linear computes the convolution's function on both cases (square and "
            "non-square patches): weight reshaped to (D, C·P·P), bias copied.")
