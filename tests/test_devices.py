"""Every public function and module computes where its input lives, in its input's dtype.

Each case runs on the CPU and on PyTorch's ``meta`` device (shapes without values: a
tensor built on the CPU by mistake meets a meta tensor and fails, as it would meet a CUDA
tensor on a Colab GPU), in float32 and float64; where CUDA is present, on CUDA too.
Functions that return Python numbers (a score, a count) can't run on ``meta``: they are
checked on the CPU and CUDA only.
"""

import re
from dataclasses import replace

import pytest
import torch

from vit_tutorial.after_the_paper import (
    RoPEEncoderBlock,
    RoPEViT,
    apply_rope,
    high_norm_tokens,
    resample_patch_embed,
    rope_2d_axial,
    with_patch_size,
)
from vit_tutorial.attention_maps import (
    attention_rollout,
    mean_attention_distance,
    rollout_map,
    row_column_score,
)
from vit_tutorial.class_token import ClassToken, prepend_class_token
from vit_tutorial.encoder import Encoder, EncoderBlock
from vit_tutorial.grid import grid_distances
from vit_tutorial.interpolation import resize_pos_embed, zoom_pos_embed
from vit_tutorial.model import TINY_VIT_CONFIG, VisionTransformer, ViTConfig, evaluate
from vit_tutorial.native_resolution import (
    FactorizedPositionalEmbedding,
    attention_mask,
    naflex_batch,
    pack_sequences,
    packed_attention_mask,
    patchify,
    pool_tokens,
    pos_embed_for_grid,
)
from vit_tutorial.patch_embedding import LinearPatchEmbedding, PatchEmbedding
from vit_tutorial.patches import image_to_patches, patches_to_image
from vit_tutorial.positional_embedding import PositionalEmbedding, sincos_2d_pos_embed
from vit_tutorial.similarity import locality_score, position_similarity

SMALL = ViTConfig(image_size=8, patch_size=4, in_channels=1, num_classes=3, embed_dim=16,
                  depth=1, num_heads=2, mlp_dim=32)
SMALL_NO_POS = replace(SMALL, positional_embedding="none")
DEVICES = ["cpu", "meta"] + (["cuda"] if torch.cuda.is_available() else [])
DTYPES = [torch.float32, torch.float64]


def tensor(*shape, device, dtype):
    return torch.rand(*shape, dtype=dtype).to(device)


def build(module_class, *args, device, dtype, **kwargs):
    with torch.device(device):
        return module_class(*args, **kwargs).to(dtype)


def valid(device, B=2, N=6):
    return (torch.arange(N) < torch.tensor([[N], [N - 2]])[:B]).to(device)  # (B, N)


def attention_maps(device, dtype, layers=2, B=2, h=2, T=10):
    return [tensor(B, h, T, T, device=device, dtype=dtype).softmax(-1) for _ in range(layers)]


CASES = {  # name -> function(device, dtype) -> the tensors it returns
    "image_to_patches": lambda d, t: [image_to_patches(tensor(2, 3, 8, 12, device=d, dtype=t), 4)],
    "patches_to_image": lambda d, t: [patches_to_image(tensor(2, 6, 48, device=d, dtype=t),
                                                       4, (8, 12))],
    "PatchEmbedding": lambda d, t: [build(PatchEmbedding, (8, 12), 4, 3, 16, device=d, dtype=t)(
        tensor(2, 3, 8, 12, device=d, dtype=t))],
    "LinearPatchEmbedding": lambda d, t: [build(LinearPatchEmbedding, 8, 4, 3, 16, device=d,
                                                dtype=t)(tensor(2, 3, 8, 8, device=d, dtype=t))],
    "prepend_class_token": lambda d, t: [prepend_class_token(
        tensor(2, 4, 8, device=d, dtype=t), tensor(1, 1, 8, device=d, dtype=t))],
    "ClassToken": lambda d, t: [build(ClassToken, 8, device=d, dtype=t)(
        tensor(2, 4, 8, device=d, dtype=t))],
    "PositionalEmbedding": lambda d, t: [build(PositionalEmbedding, 4, 8, device=d, dtype=t)(
        tensor(2, 5, 8, device=d, dtype=t))],
    "sincos_2d_pos_embed": lambda d, t: [sincos_2d_pos_embed((3, 4), 8, device=d, dtype=t)],
    "position_similarity": lambda d, t: [position_similarity(
        tensor(1, 13, 8, device=d, dtype=t), (3, 4))],
    "resize_pos_embed": lambda d, t: [resize_pos_embed(tensor(1, 10, 8, device=d, dtype=t),
                                                       (5, 4), (3, 3))],
    "zoom_pos_embed": lambda d, t: [zoom_pos_embed(tensor(1, 10, 8, device=d, dtype=t), 5, 3)],
    "EncoderBlock": lambda d, t: list(build(EncoderBlock, 8, 2, 16, device=d, dtype=t)(
        tensor(2, 5, 8, device=d, dtype=t), return_attention=True)),
    "Encoder": lambda d, t: [build(Encoder, 2, 8, 2, 16, device=d, dtype=t)(
        tensor(2, 5, 8, device=d, dtype=t))],
    "VisionTransformer": lambda d, t: [build(VisionTransformer, TINY_VIT_CONFIG, device=d,
                                             dtype=t)(tensor(2, 1, 28, 28, device=d, dtype=t))],
    "VisionTransformer.resized": lambda d, t: [
        build(VisionTransformer, TINY_VIT_CONFIG, device=d, dtype=t).resized(32)(
            tensor(1, 1, 32, 32, device=d, dtype=t))],
    "mean_attention_distance": lambda d, t: [mean_attention_distance(
        attention_maps(d, t), 3, 4)],
    "attention_rollout": lambda d, t: [rollout_map(attention_rollout(attention_maps(d, t)), 3)],
    "grid_distances": lambda d, t: [grid_distances((3, 4), "euclidean", device=d, dtype=t)],
    "resample_patch_embed": lambda d, t: [resample_patch_embed(
        tensor(8, 3, 4, 4, device=d, dtype=t), 6)],
    "rope_2d_axial + apply_rope": lambda d, t: [apply_rope(
        tensor(2, 2, 13, 8, device=d, dtype=t), *rope_2d_axial((3, 4), 8, device=d, dtype=t),
        num_prefix_tokens=1)],
    "RoPEEncoderBlock": lambda d, t: [build(RoPEEncoderBlock, 16, 2, 32, device=d, dtype=t)(
        tensor(2, 13, 16, device=d, dtype=t), (3, 4))],
    "high_norm_tokens": lambda d, t: [high_norm_tokens(tensor(2, 13, 8, device=d,
                                                              dtype=t)).norms],
    "RoPEViT": lambda d, t: [build(RoPEViT, SMALL_NO_POS, rope=rope, device=d, dtype=t)(
        tensor(2, 1, 12, 8, device=d, dtype=t)) for rope in ("axial", "mixed")],
    "patchify": lambda d, t: [patchify(tensor(2, 3, 8, 12, device=d, dtype=t), 4)[0]],
    "naflex_batch": lambda d, t: [naflex_batch([tensor(3, 8, 12, device=d, dtype=t),
                                                tensor(3, 4, 8, device=d, dtype=t)], 4)["patches"]],
    "attention_mask": lambda d, t: [attention_mask(valid(d), 1, t)],
    "Encoder with a mask": lambda d, t: [build(Encoder, 2, 8, 2, 16, device=d, dtype=t)(
        tensor(2, 7, 8, device=d, dtype=t), mask=attention_mask(valid(d), 1, t))],
    "pool_tokens": lambda d, t: [pool_tokens(tensor(2, 7, 8, device=d, dtype=t), valid(d), p)
                                 for p in ("token", "avg")],
    "pack_sequences": lambda d, t: [pack_sequences([tensor(3, 8, device=d, dtype=t),
                                                    tensor(2, 8, device=d, dtype=t)], 6)[0]],
    "packed_attention_mask": lambda d, t: [packed_attention_mask(
        torch.tensor([[0, 0, 1, 1, -1]], device=d), t)],
    "pos_embed_for_grid": lambda d, t: [pos_embed_for_grid(tensor(1, 12, 8, device=d, dtype=t),
                                                           (5, 3), (3, 4))],
    "FactorizedPositionalEmbedding": lambda d, t: [
        build(FactorizedPositionalEmbedding, (3, 4), 8, device=d, dtype=t).table((5, 2)),
        build(FactorizedPositionalEmbedding, (3, 4), 8, device=d, dtype=t)(
            tensor(2, 12, 8, device=d, dtype=t))],
    "VisionTransformer, factorized E_pos": lambda d, t: [build(
        VisionTransformer, replace(TINY_VIT_CONFIG, positional_embedding="factorized",
                                   prefix_pos_embed=False), device=d, dtype=t)(
        tensor(2, 1, 28, 28, device=d, dtype=t))],
    "with_patch_size": lambda d, t: [with_patch_size(
        build(VisionTransformer, SMALL, device=d, dtype=t), 3, image_size=(12, 9))(
        tensor(2, 1, 12, 9, device=d, dtype=t))],
}


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_computes_on_the_inputs_device_and_dtype(name, device, dtype):
    for out in CASES[name](device, dtype):
        assert out.device.type == device, f"{name}: result on {out.device}"
        assert out.dtype == dtype, f"{name}: result in {out.dtype}"


@pytest.mark.parametrize("device", [d for d in DEVICES if d != "meta"])
def test_numbers_come_back_from_any_device(device):
    sim = position_similarity(sincos_2d_pos_embed(5, 16).to(device), 5, num_prefix_tokens=0)
    assert locality_score(sim) > 0.1
    assert locality_score(sim.to(torch.int64)) == locality_score(sim.to(torch.int64).cpu())


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("device", [d for d in DEVICES if d != "meta"])
@pytest.mark.parametrize("kind", ["learned", "factorized"])
def test_a_naflex_batch_computes_where_it_lives(kind, device, dtype):
    """The grids are read from the coordinates' values: not on meta."""
    config = replace(TINY_VIT_CONFIG, positional_embedding=kind, prefix_pos_embed=False)
    model = build(VisionTransformer, config, device=device, dtype=dtype)
    batch = naflex_batch([tensor(1, 20, 36, device=device, dtype=dtype),
                          tensor(1, 12, 8, device=device, dtype=dtype)], 4)
    out = model(batch)
    assert out.device.type == device and out.dtype == dtype and torch.isfinite(out).all()


def test_a_model_given_images_of_another_dtype_says_what_to_do():
    model = VisionTransformer(TINY_VIT_CONFIG)
    with pytest.raises(TypeError, match="but the images are torch.float64"):
        model(torch.rand(1, 1, 28, 28, dtype=torch.float64))
    with pytest.raises(TypeError, match="expects floating-point images"):
        model(torch.zeros(1, 1, 28, 28, dtype=torch.uint8))


MISMATCHES = {  # name -> (a call with CPU weights and meta input (the GPU's stand-in), fragment)
    "prepend_class_token": (lambda: prepend_class_token(
        torch.rand(2, 4, 8, device="meta"), torch.zeros(1, 1, 8)),
        "device mismatch: tokens on meta, cls_token on cpu"),
    "ClassToken": (lambda: ClassToken(8)(torch.rand(2, 4, 8, device="meta")),
                   "tokens on meta, cls_token on cpu"),
    "PositionalEmbedding": (lambda: PositionalEmbedding(4, 8)(
        torch.rand(2, 5, 8, device="meta")), "tokens on meta, E_pos on cpu"),
    "PatchEmbedding": (lambda: PatchEmbedding(8, 4, 3, 16)(
        torch.rand(2, 3, 8, 8, device="meta")), "images on meta, the PatchEmbedding's weights"),
    "LinearPatchEmbedding": (lambda: LinearPatchEmbedding(8, 4, 3, 16)(
        torch.rand(2, 3, 8, 8, device="meta")), "images on meta, the LinearPatchEmbedding's"),
    "EncoderBlock": (lambda: EncoderBlock(8, 2, 16)(torch.rand(2, 5, 8, device="meta")),
                     "tokens on meta, the EncoderBlock's weights on cpu"),
    "Encoder": (lambda: Encoder(2, 8, 2, 16)(torch.rand(2, 5, 8, device="meta")),
                "tokens on meta, the Encoder's weights on cpu"),
    "VisionTransformer": (lambda: VisionTransformer(TINY_VIT_CONFIG)(
        torch.rand(2, 1, 28, 28, device="meta")), "images on meta, the PatchEmbedding's"),
    "VisionTransformer.embed mask": (lambda: VisionTransformer(SMALL).embed(
        torch.rand(2, 1, 8, 8), mask=torch.zeros(2, 4, dtype=torch.bool, device="meta"),
        mask_token=torch.zeros(1, 1, 16)), "mask on meta, the patch tokens on cpu"),
    "apply_rope": (lambda: apply_rope(torch.rand(2, 2, 13, 8, device="meta"),
                                      *rope_2d_axial((3, 4), 8), num_prefix_tokens=1),
                   "x on meta, the sin and cos tables on cpu"),
    "RoPEEncoderBlock": (lambda: RoPEEncoderBlock(16, 2, 32)(
        torch.rand(2, 13, 16, device="meta"), (3, 4)), "tokens on meta, the RoPEEncoderBlock's"),
    "RoPEViT": (lambda: RoPEViT(SMALL_NO_POS)(torch.rand(2, 1, 8, 8, device="meta")),
                "images on meta, the RoPEViT's weights on cpu"),
    "attention_rollout": (lambda: attention_rollout(
        [torch.rand(1, 2, 5, 5).softmax(-1), torch.rand(1, 2, 5, 5, device="meta")]),
        "attentions[1] on meta, attentions[0] on cpu"),
}


@pytest.mark.parametrize("name", sorted(MISMATCHES))
def test_input_and_weights_on_different_devices_say_which_is_where(name):
    call, fragment = MISMATCHES[name]
    with pytest.raises(ValueError, match=re.escape(fragment)):
        call()


@pytest.mark.parametrize("dtype", [torch.float64, torch.int64])
@pytest.mark.parametrize("name, call", [
    ("EncoderBlock", lambda x: EncoderBlock(8, 2, 16)(x)),
    ("Encoder", lambda x: Encoder(1, 8, 2, 16)(x)),
    ("RoPEEncoderBlock", lambda x: RoPEEncoderBlock(8, 2, 16)(x, (2, 2))),
])
def test_tokens_of_another_dtype_say_what_to_convert(name, call, dtype):
    tokens = torch.ones(2, 5, 8, dtype=dtype)
    fragment = ("must be floating point, got torch.int64" if dtype == torch.int64
                else f"{name}'s weights are torch.float32 but the tokens are torch.float64")
    with pytest.raises(TypeError, match=re.escape(fragment)):
        call(tokens)


@pytest.mark.parametrize("call", [
    lambda: locality_score(torch.rand(7, 7, 7, 7, device="meta")),
    lambda: row_column_score(torch.rand(7, 7, 7, 7, device="meta")),
    lambda: evaluate(VisionTransformer(SMALL).to("meta"), torch.rand(2, 1, 8, 8, device="meta"),
                     torch.zeros(2, dtype=torch.long)),
], ids=["locality_score", "row_column_score", "evaluate"])
def test_a_number_is_not_asked_of_the_meta_device(call):
    with pytest.raises(ValueError, match="is on the meta device, which holds shapes but no "
                                         "values"):
        call()


def test_position_embeddings_add_in_the_tokens_dtype():
    table = PositionalEmbedding(4, 8)  # float32
    for dtype in (torch.float16, torch.bfloat16, torch.float64):
        assert table(torch.rand(2, 5, 8).to(dtype)).dtype == dtype
    with pytest.raises(TypeError, match="tokens must be floating point, got torch.int64"):
        table(torch.ones(2, 5, 8, dtype=torch.int64))
