"""Lesson 10: FlexiViT's PI-resize, 2-D RoPE (axial and mixed), high-norm tokens — checked
against timm 1.0.31 (``resample_patch_embed``, ``RotaryEmbeddingCat``,
``RotaryEmbeddingMixed``, ``apply_rot_embed_cat``, the ``vit_base_patch16_rope*_224``
models, block by block and whole) and against the properties the lesson teaches; a trained
ViT at another patch size (``with_patch_size``) and a whole ViT with RoPE (``RoPEViT``)."""

import math
from dataclasses import replace

import pytest
import timm
import torch
import torch.nn.functional as F
from timm.layers import RotaryEmbeddingCat, apply_rot_embed_cat, freq_bands
from timm.layers import resample_patch_embed as timm_resample_patch_embed
from timm.layers.pos_embed_sincos import init_random_2d_freqs

from vit_tutorial.after_the_paper import (
    HighNormTokens,
    RoPEAttention,
    RoPEEncoderBlock,
    RoPEViT,
    apply_rope,
    high_norm_tokens,
    mixed_frequencies,
    patch_resize_matrix,
    resample_patch_embed,
    resize_patch_embedding,
    resize_patches,
    rope_2d_axial,
    rope_2d_mixed,
    rope_frequencies,
    token_norms,
    with_patch_size,
)
from vit_tutorial.encoder import EncoderBlock
from vit_tutorial.model import TINY_VIT_CONFIG, VisionTransformer, ViTConfig
from vit_tutorial.patch_embedding import PatchEmbedding

D, HEADS = 32, 4  # a small width keeps the tests fast; D_h = 8
HEAD_DIM = D // HEADS


def randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --- 1. FlexiViT ---------------------------------------------------------------------

RESIZES = [  # (old patch size, new patch size)
    ((16, 16), (32, 32)),  # B/16 -> B/32: upsampling
    ((16, 16), (8, 8)),  # B/16 -> B/8: downsampling
    ((16, 16), (24, 20)),  # square -> non-square
    ((4, 6), (9, 5)),  # non-square, up in one direction and down in the other
    ((8, 8), (12, 40)),
]


@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
@pytest.mark.parametrize("antialias", [True, False])
@pytest.mark.parametrize("old, new", RESIZES)
def test_pi_resize_equals_timm(old, new, antialias, interpolation):
    weight = randn(6, 3, *old)
    ours = resample_patch_embed(weight, new, interpolation=interpolation, antialias=antialias)
    theirs = timm_resample_patch_embed(weight, list(new), interpolation=interpolation,
                                       antialias=antialias)
    assert ours.shape == (6, 3, *new)
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)  # measured: 0.0


def test_plain_resize_is_an_image_resize_of_the_filters():
    weight = randn(6, 3, 8, 8)
    expected = F.interpolate(weight, size=(16, 12), mode="bicubic", antialias=True)
    torch.testing.assert_close(resample_patch_embed(weight, (16, 12), method="plain"), expected)


@pytest.mark.parametrize("interpolation", ["bicubic", "bilinear"])
def test_resize_matrix_is_the_patch_resize(interpolation):
    patch = randn(5, 7)  # one (P_h, P_w) patch
    B = patch_resize_matrix((5, 7), (10, 9), interpolation=interpolation)
    assert B.shape == (10 * 9, 5 * 7)
    resized = F.interpolate(patch[None, None], size=(10, 9), mode=interpolation,
                            antialias=True)[0, 0]
    torch.testing.assert_close(B @ patch.flatten(), resized.flatten())
    torch.testing.assert_close(patch_resize_matrix(6, 6), torch.eye(36))  # same size: identity


UPSAMPLINGS = [(16, "bicubic"), (12, "bicubic"), (16, "bilinear"), ((12, 20), "bicubic")]


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
@pytest.mark.parametrize("new, interpolation", UPSAMPLINGS)
def test_pi_resize_keeps_every_token_when_upsampling(new, interpolation, dtype, tolerance):
    """<x, w> = <Bx, w'>: the resized patches give the original tokens with PI-resized filters.

    Measured (8x8 -> 16x16 patches, random images in [0, 1], tokens up to ~1): PI-resize
    max error 2e-6 in float32, 3e-15 in float64; plain resize 2.2 to 2.9, its tokens'
    norm 3.5 to 3.8 times the original (the filter covers ~4x the pixels).
    """
    embedding = PatchEmbedding(32, 8, 3, 16).to(dtype)
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1), dtype=dtype)
    reference = embedding(images)  # (2, 16, 16)
    resized_images = resize_patches(images, 8, new, interpolation=interpolation)
    errors = {}
    for method in ("pi", "plain"):
        resized = resize_patch_embedding(embedding, new, method=method,
                                           interpolation=interpolation)
        errors[method] = (resized(resized_images) - reference).abs().max().item()
    assert errors["pi"] < tolerance
    assert errors["plain"] > 0.5  # the naive resize does not keep the tokens


def test_pi_resize_is_least_squares_when_downsampling():
    """Downsampling: no w' fits every patch; PI-resize solves B^T w' = w in least squares,
    so the residual is orthogonal to the columns of B^T (the normal equations)."""
    weight = randn(4, 2, 8, 8, dtype=torch.float64)
    resized = resample_patch_embed(weight, 6)
    B = patch_resize_matrix(8, 6, dtype=torch.float64)  # (36, 64)
    residual = resized.reshape(4, 2, 36) @ B - weight.reshape(4, 2, 64)  # B^T w' - w, as rows
    assert residual.abs().max() > 1e-3  # not exact ...
    torch.testing.assert_close(residual @ B.T, torch.zeros(4, 2, 36, dtype=torch.float64))


def test_resize_patch_embedding_keeps_grid_bias_device_and_dtype():
    embedding = PatchEmbedding((32, 48), 8, 3, 16).double()
    resized = resize_patch_embedding(embedding, (12, 16))
    assert resized.image_size == (48, 96) and resized.grid_size == embedding.grid_size
    assert resized.proj.weight.dtype == torch.float64
    assert torch.equal(resized.proj.bias, embedding.proj.bias)
    other = resize_patch_embedding(embedding, 16, image_size=64)
    assert other.grid_size == (4, 4) and other.proj.weight.shape == (16, 3, 16, 16)
    same = resample_patch_embed(embedding.proj.weight, 8)
    assert torch.equal(same, embedding.proj.weight) and same is not embedding.proj.weight


def test_resize_patches_round_trip_at_the_same_size():
    images = torch.rand(2, 3, 16, 24)
    torch.testing.assert_close(resize_patches(images, 8, 8), images)
    assert resize_patches(images[0], 8, (4, 12)).shape == (3, 8, 36)


def test_flexivit_functions_on_meta_tensors():
    weight = torch.empty(768, 3, 16, 16, device="meta")
    assert resample_patch_embed(weight, 32).shape == (768, 3, 32, 32)
    assert resample_patch_embed(weight, 8, method="plain").device.type == "meta"
    assert patch_resize_matrix(16, 8, device="meta").shape == (64, 256)
    resized = resize_patch_embedding(PatchEmbedding(224, 16, 3, 768).to("meta"), 32)
    assert resized.proj.weight.device.type == "meta" and resized.image_size == (448, 448)
    assert resize_patches(torch.empty(2, 3, 32, 32, device="meta"), 16, 8).shape == (2, 3, 16, 16)


@pytest.mark.parametrize("call, error, message", [
    (lambda: resample_patch_embed(torch.zeros(6, 48), 8), ValueError,
     r"Conv2d weight \(D, C, P_h, P_w\), got 2 dimensions.*reshape"),
    (lambda: resample_patch_embed(torch.zeros(6, 3, 4, 4, dtype=torch.int64), 8), TypeError,
     r"floating-point, got dtype torch.int64.*float\(\)"),
    (lambda: resample_patch_embed([[1.0]], 8), TypeError, r"weight must be a torch.Tensor"),
    (lambda: resample_patch_embed(torch.zeros(6, 3, 4, 4), 0), ValueError,
     r"new_size must be a positive int, got 0"),
    (lambda: resample_patch_embed(torch.zeros(6, 3, 4, 4), 8, method="lstsq"), ValueError,
     r"method must be one of 'pi', 'plain', got 'lstsq'"),
    (lambda: resample_patch_embed(torch.zeros(6, 3, 4, 4), 8, interpolation="nearest"),
     ValueError, r"interpolation must be one of 'bilinear', 'bicubic', got 'nearest'"),
    (lambda: resample_patch_embed(torch.zeros(6, 3, 4, 4), 8, antialias=1), TypeError,
     r"antialias must be True or False, got 1"),
    (lambda: patch_resize_matrix(4, 8, dtype=torch.int64), TypeError,
     r"dtype must be a floating-point torch.dtype"),
    (lambda: resize_patch_embedding(torch.nn.Conv2d(3, 8, 4), 8), TypeError,
     r"embedding must be a vit_tutorial PatchEmbedding.*got Conv2d.*resample_patch_embed"),
    (lambda: resize_patch_embedding(PatchEmbedding(32, 8, 3, 8), 16, image_size=40),
     ValueError, r"image height 40 is not divisible by patch_size 16"),
    (lambda: resize_patches(torch.zeros(3, 32), 8, 4), ValueError,
     r"images must be floating-point \(B, C, H, W\) or \(C, H, W\), got .* \(3, 32\)"),
    (lambda: resize_patches(torch.zeros(1, 3, 30, 32), 8, 4), ValueError,
     r"image height 30 is not divisible by patch_size 8"),
])
def test_flexivit_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- 2. 2-D RoPE ---------------------------------------------------------------------

GRIDS = [(4, 4), (3, 5), (7, 2)]


@pytest.fixture(scope="module")
def timm_rope_vit():
    """A tiny ``vit_base_patch16_rope_224`` (RoPE-Axial, the paper's port) with random weights."""
    torch.manual_seed(0)
    model = timm.create_model("vit_base_patch16_rope_224", pretrained=False, embed_dim=D,
                              depth=2, num_heads=HEADS, img_size=64, dynamic_img_size=True)
    return model.eval()


@pytest.fixture(scope="module")
def timm_rope_mixed_vit():
    torch.manual_seed(0)
    model = timm.create_model("vit_base_patch16_rope_mixed_224", pretrained=False, embed_dim=D,
                              depth=2, num_heads=HEADS, img_size=64, dynamic_img_size=True)
    return model.eval()


def test_frequencies_equal_timm():
    torch.testing.assert_close(rope_frequencies(64, temperature=100.0),
                               freq_bands(16, temperature=100.0, step=1), rtol=0, atol=0)


@pytest.mark.parametrize("grid", GRIDS)
def test_axial_tables_equal_timm_rope_vit(timm_rope_vit, grid):
    rope = timm_rope_vit.rope  # RotaryEmbeddingCat(in_pixels=False, temperature=100, 'xy')
    theirs_sin, theirs_cos = rope.get_embed(shape=grid).chunk(2, dim=-1)
    sin, cos = rope_2d_axial(grid, HEAD_DIM)
    torch.testing.assert_close(sin, theirs_sin, rtol=0, atol=1e-7)  # measured: 0.0
    torch.testing.assert_close(cos, theirs_cos, rtol=0, atol=1e-7)


def test_axial_tables_equal_timm_ij_indexing():
    """grid_indexing='ij' (row first) with the LLM temperature, as timm's EVA-02 default."""
    rope = RotaryEmbeddingCat(16, in_pixels=False, temperature=10000.0, grid_indexing="ij")
    theirs_sin, theirs_cos = rope.get_embed(shape=(3, 5)).chunk(2, dim=-1)
    sin, cos = rope_2d_axial((3, 5), 16, temperature=10000.0, grid_indexing="ij")
    torch.testing.assert_close(sin, theirs_sin, rtol=0, atol=1e-7)
    torch.testing.assert_close(cos, theirs_cos, rtol=0, atol=1e-7)


def test_axial_layout_column_then_row():
    """'xy': the first D_h/4 pairs turn with the column, the rest with the row; the lowest
    frequency pair of each half turns one radian per patch."""
    sin, _ = rope_2d_axial((3, 5), 8)  # pairs: (column, ω0), (column, ω1), (row, ω0), (row, ω1)
    angles = torch.asin(sin[:, ::2]).reshape(3, 5, 4)  # (N, 4) -> (rows, cols, pairs)
    torch.testing.assert_close(angles[1, :2, 0], torch.tensor([0.0, 1.0]))  # column 0, 1
    torch.testing.assert_close(angles[:2, 1, 2], torch.tensor([0.0, 1.0]))  # row 0, 1
    torch.testing.assert_close(sin[:, 0], sin[:, 1], rtol=0, atol=0)  # each angle twice


@pytest.mark.parametrize("grid", GRIDS)
def test_mixed_tables_equal_timm_rope_mixed_vit(timm_rope_mixed_vit, grid):
    rope = timm_rope_mixed_vit.rope  # RotaryEmbeddingMixed(temperature=10, 'xy')
    theirs_sin, theirs_cos = rope.get_embed(shape=grid).chunk(2, dim=-1)  # (depth, h, N, D_h)
    sin, cos = rope_2d_mixed(rope.freqs, grid)
    assert sin.shape == (2, HEADS, grid[0] * grid[1], HEAD_DIM)
    torch.testing.assert_close(sin, theirs_sin, rtol=0, atol=1e-7)  # measured: 0.0
    torch.testing.assert_close(cos, theirs_cos, rtol=0, atol=1e-7)


def test_mixed_frequencies_equal_timm_init():
    torch.manual_seed(3)
    theirs = init_random_2d_freqs(16, 2, 4, temperature=10.0)  # (2, depth, h, D_h/2)
    torch.manual_seed(3)
    angles = torch.rand(2, 4, 1) * 2 * torch.pi  # the angles timm drew
    for block in range(2):
        ours = mixed_frequencies(16, angles[block, :, 0], temperature=10.0)
        torch.testing.assert_close(ours, theirs[:, block], rtol=0, atol=1e-7)


def test_mixed_with_zero_angles_is_axial():
    freqs = mixed_frequencies(16, torch.zeros(3), temperature=10.0)  # (2, 3, 8)
    sin, cos = rope_2d_mixed(freqs, (3, 5))  # (3, N, 16)
    axial_sin, axial_cos = rope_2d_axial((3, 5), 16, temperature=10.0)
    torch.testing.assert_close(sin, axial_sin.expand(3, -1, -1), rtol=0, atol=1e-6)
    torch.testing.assert_close(cos, axial_cos.expand(3, -1, -1), rtol=0, atol=1e-6)


@pytest.mark.parametrize("per_head", [False, True])
def test_apply_rope_equals_timm_apply_rot_embed_cat(per_head):
    q = randn(2, HEADS, 15, HEAD_DIM)
    if per_head:
        sin, cos = rope_2d_mixed(mixed_frequencies(HEAD_DIM, torch.rand(HEADS)), (3, 5))
    else:
        sin, cos = rope_2d_axial((3, 5), HEAD_DIM)
    theirs = apply_rot_embed_cat(q, torch.cat([sin, cos], dim=-1), half=False)
    torch.testing.assert_close(apply_rope(q, sin, cos), theirs, rtol=0, atol=1e-7)


def test_apply_rope_leaves_prefix_tokens_alone_as_timm():
    k = randn(2, HEADS, 1 + 15, HEAD_DIM, seed=1)
    sin, cos = rope_2d_axial((3, 5), HEAD_DIM)
    ours = apply_rope(k, sin, cos, num_prefix_tokens=1)
    rope = torch.cat([sin, cos], dim=-1)
    theirs = torch.cat([k[:, :, :1], apply_rot_embed_cat(k[:, :, 1:], rope)],
                       dim=2)  # as timm's AttentionRope
    torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    assert torch.equal(ours[:, :, 0], k[:, :, 0])


def test_apply_rope_is_complex_multiplication():
    """naver-ai/rope-vit writes RoPE with complex numbers: pair (x_2i, x_2i+1) is x_2i + i x_2i+1,
    multiplied by e^{i θ_i}."""
    x = randn(2, 12, HEAD_DIM, dtype=torch.float64)
    sin, cos = rope_2d_axial((3, 4), HEAD_DIM, dtype=torch.float64)
    theta = torch.atan2(sin[:, ::2], cos[:, ::2])  # (N, D_h/2)
    z = torch.view_as_complex(x.reshape(2, 12, HEAD_DIM // 2, 2).contiguous())
    expected = torch.view_as_real(z * torch.polar(torch.ones_like(theta), theta)).flatten(-2)
    torch.testing.assert_close(apply_rope(x, sin, cos), expected)


def test_rotation_keeps_norms():
    x = randn(3, HEADS, 1 + 20, HEAD_DIM)
    sin, cos = rope_2d_axial((4, 5), HEAD_DIM)
    rotated = apply_rope(x, sin, cos, num_prefix_tokens=1)
    torch.testing.assert_close(rotated.norm(dim=-1), x.norm(dim=-1))


def _scores(q, k, sin, cos, grid_w, pairs):
    """q·k after rotation for query at position p and key at position m, for each (p, m)."""
    q_rot, k_rot = apply_rope(q, sin, cos), apply_rope(k, sin, cos)  # (..., N, D_h)
    return torch.stack([(q_rot[..., pr * grid_w + pc, :] * k_rot[..., mr * grid_w + mc, :]).sum(-1)
                        for (pr, pc), (mr, mc) in pairs])


@pytest.mark.parametrize("kind", ["axial", "mixed"])
def test_score_depends_only_on_the_offset(kind):
    """Shift query and key by the same (dr, dc): the score stays — relative position only."""
    grid = (9, 9)
    if kind == "axial":
        sin, cos = rope_2d_axial(grid, 16, dtype=torch.float64)
    else:
        freqs = mixed_frequencies(16, torch.rand(2, dtype=torch.float64) * 2 * math.pi)
        sin, cos = rope_2d_mixed(freqs, grid)  # (2, N, 16)
    N = grid[0] * grid[1]
    q = randn(N, 16, seed=2, dtype=torch.float64).expand(*sin.shape[:-2], N, 16)
    k = randn(N, 16, seed=3, dtype=torch.float64).expand(*sin.shape[:-2], N, 16)
    q, k = q[..., :1, :].expand_as(q), k[..., :1, :].expand_as(k)  # the same q, k everywhere
    base = ((1, 2), (4, 0))  # query at row 1, column 2; key at row 4, column 0
    shifted = [((1 + dr, 2 + dc), (4 + dr, 0 + dc)) for dr, dc in [(0, 0), (3, 5), (4, 1)]]
    scores = _scores(q, k, sin, cos, grid[1], [base] + shifted)
    torch.testing.assert_close(scores, scores[:1].expand_as(scores), rtol=0, atol=1e-12)
    other = _scores(q, k, sin, cos, grid[1], [((1, 2), (5, 0))])  # another offset
    assert (other - scores[0]).abs().max() > 1e-3


def test_small_grid_tables_are_the_top_left_of_large_ones():
    """Positions are integer (row, column): a 7x7 grid's rotations are the 14x14 grid's top-left
    corner, so nothing is resized when the resolution grows."""
    small, _ = rope_2d_axial(7, HEAD_DIM)
    large, _ = rope_2d_axial(14, HEAD_DIM)
    torch.testing.assert_close(large.reshape(14, 14, -1)[:7, :7].reshape(49, -1), small,
                               rtol=0, atol=0)


def _randomize(module, seed=0, scale=0.3):
    """Weights large enough for peaked attention, so that the rotations change the output, and
    LayerScale factors near 1 instead of timm's 1e-5, so that the branches count."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if "freqs" not in name:
                offset = 1.0 if name.startswith("gamma") else 0.0
                p.copy_(offset + scale * torch.randn(p.shape, generator=generator))
    return module


@pytest.mark.parametrize("grid", [(4, 4), (3, 5)])
def test_block_equals_timm_rope_vit_block(timm_rope_vit, grid):
    theirs = _randomize(timm_rope_vit.blocks[0])
    ours = RoPEEncoderBlock(D, HEADS, 4 * D, layer_scale=1e-5).eval()
    ours.load_state_dict(theirs.state_dict())
    z = randn(2, 1 + grid[0] * grid[1], D, seed=4)
    with torch.no_grad():
        expected = theirs(z, rope=timm_rope_vit.rope.get_embed(shape=grid))
        torch.testing.assert_close(ours(z, grid), expected, rtol=0, atol=1e-5)  # measured: 0.0
        unrotated = EncoderBlock(D, HEADS, 4 * D)  # same weights, no rotation, no LayerScale
        unrotated.load_state_dict({key: value for key, value in theirs.state_dict().items()
                                   if "gamma" not in key})
        assert (ours(z, grid) - unrotated(z)).abs().max() > 1e-2  # the rotation matters


@pytest.mark.parametrize("index", [0, 1])
def test_mixed_block_equals_timm_rope_mixed_vit_block(timm_rope_mixed_vit, index):
    model = timm_rope_mixed_vit
    theirs = _randomize(model.blocks[index], seed=index)
    ours = RoPEEncoderBlock(D, HEADS, 4 * D, rope="mixed", layer_scale=1e-5).eval()
    ours.load_state_dict({**theirs.state_dict(), "attn.freqs": model.rope.freqs[:, index]})
    z = randn(2, 1 + 15, D, seed=5)
    with torch.no_grad():
        expected = theirs(z, rope=model.rope.get_embed(shape=(3, 5))[index])
        torch.testing.assert_close(ours(z, (3, 5)), expected, rtol=0, atol=1e-5)


def test_block_equals_timm_inside_the_model_on_a_non_square_image(timm_rope_vit):
    """Hook block 0 inside timm's own forward pass (48x80 image -> 3x5 grid)."""
    model = timm_rope_vit
    _randomize(model.blocks[0])
    seen = {}
    hook = model.blocks[0].register_forward_hook(
        lambda module, args, kwargs, out: seen.update(z=args[0], out=out), with_kwargs=True)
    with torch.no_grad():
        model.forward_features(torch.rand(1, 3, 48, 80))
    hook.remove()
    ours = RoPEEncoderBlock(D, HEADS, 4 * D, layer_scale=1e-5).eval()
    ours.load_state_dict(model.blocks[0].state_dict())
    with torch.no_grad():
        torch.testing.assert_close(ours(seen["z"], (3, 5)), seen["out"], rtol=0, atol=1e-5)


def test_block_without_layer_scale_equals_timm_eva_block():
    from timm.models.eva import EvaBlock

    theirs = _randomize(EvaBlock(D, HEADS, attn_type="rope", num_prefix_tokens=1)).eval()
    ours = RoPEEncoderBlock(D, HEADS, 4 * D).eval()
    ours.load_state_dict(theirs.state_dict())
    rope = RotaryEmbeddingCat(HEAD_DIM, in_pixels=False, temperature=100.0, grid_indexing="xy")
    z = randn(2, 1 + 15, D, seed=6)
    with torch.no_grad():
        torch.testing.assert_close(ours(z, (3, 5)), theirs(z, rope=rope.get_embed(shape=(3, 5))),
                                   rtol=0, atol=1e-5)


@pytest.mark.parametrize("rope", ["axial", "mixed"])
def test_block_runs_at_any_grid_and_returns_attention(rope):
    torch.manual_seed(0)
    block = RoPEEncoderBlock(D, HEADS, 4 * D, rope=rope).eval()
    for grid in [(7, 7), (14, 14), (3, 5)]:
        z = randn(2, 1 + grid[0] * grid[1], D)
        out, weights = block(z, grid, return_attention=True)
        assert out.shape == z.shape and weights.shape == (2, HEADS, z.shape[1], z.shape[1])
        torch.testing.assert_close(out, block(z, grid), rtol=0, atol=1e-5)
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, HEADS, z.shape[1]))


def test_rope_breaks_permutation_equivariance():
    """Without E_pos the plain block treats patches as a set: shuffling them shuffles the output.
    With RoPE the block knows where each patch is, so the outputs change."""
    torch.manual_seed(0)
    rope_block = _randomize(RoPEEncoderBlock(D, HEADS, 4 * D)).eval()
    plain = EncoderBlock(D, HEADS, 4 * D).eval()
    plain.load_state_dict(rope_block.state_dict())
    z = randn(1, 1 + 16, D)
    order = torch.cat([torch.zeros(1, dtype=torch.long),
                       1 + torch.randperm(16, generator=torch.Generator().manual_seed(1))])
    with torch.no_grad():
        torch.testing.assert_close(plain(z[:, order]), plain(z)[:, order])
        shuffled = rope_block(z[:, order], (4, 4))
        assert (shuffled - rope_block(z, (4, 4))[:, order]).abs().max() > 1e-2


def test_mixed_frequencies_learn():
    block = RoPEEncoderBlock(D, HEADS, 4 * D, rope="mixed")
    block(randn(2, 1 + 9, D), (3, 3)).square().sum().backward()
    assert block.attn.freqs.shape == (2, HEADS, HEAD_DIM // 2)
    assert block.attn.freqs.grad is not None and block.attn.freqs.grad.abs().sum() > 0


def test_rope_dtypes_and_devices():
    sin, cos = rope_2d_axial((3, 5), HEAD_DIM, dtype=torch.float64)
    assert sin.dtype == cos.dtype == torch.float64
    x = randn(2, 15, HEAD_DIM).to(torch.bfloat16)
    assert apply_rope(x, *rope_2d_axial((3, 5), HEAD_DIM)).dtype == torch.bfloat16
    block = RoPEEncoderBlock(D, HEADS, 4 * D, rope="mixed").double()
    assert block(randn(1, 10, D, dtype=torch.float64), 3).dtype == torch.float64


def test_rope_functions_on_meta_tensors():
    sin, cos = rope_2d_axial((14, 14), 64, device="meta")
    assert sin.device.type == "meta" and sin.shape == cos.shape == (196, 64)
    q = torch.empty(2, 12, 197, 64, device="meta")
    assert apply_rope(q, sin, cos, num_prefix_tokens=1).shape == q.shape
    freqs = mixed_frequencies(64, torch.empty(12, device="meta"))
    assert freqs.device.type == "meta" and rope_2d_mixed(freqs, 14)[0].shape == (12, 196, 64)
    with torch.device("meta"):
        for rope in ("axial", "mixed"):
            block = RoPEEncoderBlock(768, 12, 3072, rope=rope, layer_scale=1e-5)
            out, weights = block(torch.empty(2, 197, 768), 14, return_attention=True)
            assert out.shape == (2, 197, 768) and weights.shape == (2, 12, 197, 197)


@pytest.mark.parametrize("call, error, message", [
    (lambda: rope_frequencies(30), ValueError,
     r"head_dim 30 is not divisible by 4.*\(e.g. 28 or 32"),
    (lambda: rope_2d_axial((3, 5), 0), ValueError, r"head_dim must be a positive int, got 0"),
    (lambda: rope_2d_axial((3, 0), 8), ValueError,
     r"grid_size\[1\] \(width\) must be a positive int, got 0"),
    (lambda: rope_2d_axial(3, 8, temperature=0), ValueError,
     r"temperature must be a positive number, got 0"),
    (lambda: rope_2d_axial(3, 8, grid_indexing="yx"), ValueError,
     r"grid_indexing must be one of 'xy', 'ij', got 'yx'"),
    (lambda: rope_2d_axial(3, 8, dtype=torch.int32), TypeError,
     r"dtype must be a floating-point torch.dtype"),
    (lambda: mixed_frequencies(8, torch.zeros(2, 3)), ValueError,
     r"angles must be a floating-point \(h,\) tensor.*got torch.float32 of shape \(2, 3\)"),
    (lambda: rope_2d_mixed(torch.zeros(3, 4, 4), 3), ValueError,
     r"freqs must be a floating-point \(2, \.\.\., h, D_h/2\) tensor.*mixed_frequencies"),
    (lambda: apply_rope(torch.zeros(2, 10, 8), *rope_2d_axial(3, 8)), ValueError,
     r"x has 10 tokens of width 8, the tables have 9 positions.*expected T = .* 0 \+ 9 = 9"),
    (lambda: apply_rope(torch.zeros(2, 9, 16), *rope_2d_axial(3, 8)), ValueError,
     r"x has 9 tokens of width 16, the tables have 9 positions of width 8.*head_dim=16"),
    (lambda: apply_rope(torch.zeros(2, 9, 8), *rope_2d_axial(3, 8)[:1], torch.zeros(9, 4)),
     ValueError, r"sin and cos must have the same shape"),
    (lambda: apply_rope(torch.zeros(2, 9, 8, dtype=torch.int64), *rope_2d_axial(3, 8)),
     ValueError, r"x must be floating-point queries or keys .* got torch.int64"),
    (lambda: apply_rope(torch.zeros(2, 3, 9, 8), torch.zeros(4, 9, 8), torch.zeros(4, 9, 8)),
     ValueError, r"the tables' leading axes \(4,\) do not broadcast to those of x \(2, 3\)"),
    (lambda: apply_rope(torch.zeros(9, 8), torch.zeros(9, 8), torch.zeros(9, 8),
                        num_prefix_tokens=-1),
     ValueError, r"num_prefix_tokens must be an int >= 0"),
    (lambda: RoPEAttention(24, 4), ValueError, r"head_dim 6 is not divisible by 4"),
    (lambda: RoPEAttention(32, 4, rope="sincos"), ValueError,
     r"rope must be one of 'axial', 'mixed', got 'sincos'"),
    (lambda: RoPEEncoderBlock(32, 5, 64), ValueError,
     r"embed_dim 32 is not divisible by num_heads 5"),
    (lambda: RoPEEncoderBlock(32, 4, 64, dropout=1.5), ValueError,
     r"dropout must be a number in \[0, 1\), got 1.5"),
    (lambda: RoPEEncoderBlock(32, 4, 64, layer_scale=-1.0), ValueError,
     r"layer_scale must be a positive number, got -1.0"),
    (lambda: RoPEEncoderBlock(32, 4, 64)(torch.zeros(2, 17, 32), (3, 5)), ValueError,
     r"got 17 tokens, but a 3x5 grid with num_prefix_tokens=1 needs 1 \+ 3·5 = 16"),
    (lambda: RoPEEncoderBlock(32, 4, 64)(torch.zeros(17, 32), 4), ValueError,
     r"tokens must have shape \(B, T, 32\).*use tokens.unsqueeze\(0\)"),
    (lambda: RoPEEncoderBlock(32, 4, 64)(torch.zeros(2, 17, 32)), TypeError, r"grid_size"),
])
def test_rope_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- 3. High-norm tokens -------------------------------------------------------------


def test_token_norms_skip_the_prefix():
    tokens = randn(2, 1 + 12, D)
    norms = token_norms(tokens)
    assert norms.shape == (2, 12)
    torch.testing.assert_close(norms, tokens[:, 1:].norm(dim=-1))
    torch.testing.assert_close(token_norms(tokens[0], num_prefix_tokens=5),
                               tokens[0, 5:].norm(dim=-1))


def test_high_norm_tokens_find_planted_outliers():
    tokens = randn(2, 1 + 49, 64)  # norms near 8
    tokens[0, 1 + 3] *= 10  # patch 3 of image 0 becomes an outlier ...
    tokens[1, 1 + 40] *= 10  # ... and patch 40 of image 1
    tokens[:, 0] *= 100  # a huge class token is not a patch and is ignored
    stats = high_norm_tokens(tokens)
    assert isinstance(stats, HighNormTokens)
    assert stats.mask.nonzero().tolist() == [[0, 3], [1, 40]]
    torch.testing.assert_close(stats.share, torch.tensor(2 / 98))
    torch.testing.assert_close(stats.threshold, 2.0 * stats.median)
    torch.testing.assert_close(stats.median, stats.norms.median(dim=-1).values)
    single = high_norm_tokens(tokens[0], factor=3.0)
    assert single.mask.shape == (49,) and single.share.shape == () and single.mask.sum() == 1


def test_token_norms_on_meta_tensors():
    tokens = torch.empty(4, 1 + 256, 1024, device="meta")
    assert token_norms(tokens).shape == (4, 256)
    stats = high_norm_tokens(tokens)
    assert stats.mask.shape == (4, 256) and stats.median.shape == (4,)


@pytest.mark.parametrize("call, error, message", [
    (lambda: token_norms(torch.zeros(2, 3, 4, 5)), ValueError,
     r"tokens must be a floating-point layer output \(B, T, D\) or \(T, D\), got .*\(2, 3, 4, 5\)"),
    (lambda: token_norms(torch.zeros(2, 5, 4, dtype=torch.int64)), ValueError,
     r"got torch.int64"),
    (lambda: token_norms(torch.zeros(2, 5, 4), num_prefix_tokens=5), ValueError,
     r"num_prefix_tokens=5 leaves no patch tokens in 5 tokens"),
    (lambda: token_norms("tokens"), TypeError, r"tokens must be a torch.Tensor"),
    (lambda: high_norm_tokens(torch.zeros(2, 5, 4), factor=1.0), ValueError,
     r"factor must be greater than 1, got 1.0"),
    (lambda: high_norm_tokens(torch.zeros(2, 5, 4), factor="2"), ValueError,
     r"factor must be a positive number, got '2'"),
])
def test_token_norm_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --- 4. Whole models: a trained ViT at another patch size, a ViT with RoPE ----------------

SMALL = ViTConfig(image_size=28, patch_size=4, in_channels=1, num_classes=10, embed_dim=D,
                  depth=2, num_heads=HEADS, mlp_dim=4 * D)


def small_vit(**changes):
    torch.manual_seed(0)
    return VisionTransformer(replace(SMALL, **changes)).eval()


@pytest.mark.parametrize("registers", [0, 2])
def test_with_patch_size_keeping_the_grid_keeps_the_logits_on_resized_patches(registers):
    """PI-resize, whole model: P 4 -> 8 with the 7x7 grid kept (28 -> 56 pixels), E_pos
    unchanged; patch-wise resized images give the original logits."""
    model = small_vit(num_register_tokens=registers)
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(2))
    moved = with_patch_size(model, 8)
    assert moved.config.image_size == 56 and moved.patch_embed.grid_size == (7, 7)
    assert torch.equal(moved.positional_embedding.pos_embed, model.positional_embedding.pos_embed)
    with torch.no_grad():
        torch.testing.assert_close(moved(resize_patches(images, 4, 8)), model(images),
                                   rtol=0, atol=1e-4)
        plain = with_patch_size(model, 8, method="plain")(resize_patches(images, 4, 8))
        assert (plain - model(images)).abs().max() > 1e-2


def test_with_patch_size_on_a_new_grid_resizes_e_pos_as_lesson_06():
    model = small_vit()
    moved = with_patch_size(model, 7, image_size=28)  # 28x28 at P = 7: a 4x4 grid
    assert moved.patch_embed.grid_size == (4, 4) and moved.training is False
    assert moved.positional_embedding.pos_embed.shape == (1, 1 + 16, D)
    torch.testing.assert_close(moved.positional_embedding.pos_embed,
                               model.resized(16).positional_embedding.pos_embed)
    torch.testing.assert_close(moved.patch_embed.proj.weight,
                               resample_patch_embed(model.patch_embed.proj.weight, 7))
    assert moved(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    wide = with_patch_size(small_vit(positional_embedding="sincos"), (2, 4), image_size=(28, 40))
    assert wide.patch_embed.grid_size == (14, 10) and wide.config.patch_size == (2, 4)
    assert wide(torch.rand(1, 1, 28, 40)).shape == (1, 10)


def test_with_patch_size_errors():
    with pytest.raises(TypeError, match=r"model must be a vit_tutorial VisionTransformer"):
        with_patch_size(torch.nn.Linear(2, 2), 8)
    with pytest.raises(ValueError, match=r"image height 28 is not divisible by patch_size 8"):
        with_patch_size(small_vit(), 8, image_size=28)
    with pytest.raises(ValueError, match=r"method must be one of 'pi', 'plain'"):
        with_patch_size(small_vit(), 8, method="area")


def _timm_rope_vit_as_ours(rope):
    """timm's rope ViT with random weights (LayerScale factors 1: the paper's block) and the
    same weights in a RoPEViT."""
    name = "vit_base_patch16_rope_mixed_224" if rope == "mixed" else "vit_base_patch16_rope_224"
    torch.manual_seed(0)
    theirs = timm.create_model(name, pretrained=False, embed_dim=D, depth=2, num_heads=HEADS,
                               img_size=28, patch_size=4, in_chans=1, num_classes=10,
                               dynamic_img_size=True).eval()
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for key, p in theirs.named_parameters():
            if "freqs" not in key:
                p.copy_(1.0 if key.split(".")[-1].startswith("gamma") else
                        0.3 * torch.randn(p.shape, generator=generator))
    state = {}
    for key, value in theirs.state_dict().items():
        if "gamma" in key:
            continue
        if key == "rope.freqs":  # (2, depth, h, D_h/2): one slice per block
            state.update({f"encoder.blocks.{i}.attn.freqs": value[:, i] for i in range(2)})
            continue
        state[key.replace("cls_token", "class_token.cls_token")
                 .replace("blocks.", "encoder.blocks.")] = value
    ours = RoPEViT(replace(SMALL, positional_embedding="none"), rope=rope).eval()
    ours.load_state_dict(state)
    return ours, theirs


@pytest.mark.parametrize("rope", ["axial", "mixed"])
def test_rope_vit_equals_timm_at_any_image_size(rope):
    ours, theirs = _timm_rope_vit_as_ours(rope)
    for size in [(28, 28), (56, 40), (20, 28)]:
        images = torch.rand(2, 1, *size, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            torch.testing.assert_close(ours(images), theirs(images), rtol=0, atol=1e-5)


def test_rope_vit_with_registers_resized_and_rebuilt():
    model = RoPEViT(replace(SMALL, positional_embedding="none", num_register_tokens=3),
                    rope="mixed").eval()
    assert model.positional_embedding is None and model.num_prefix_tokens == 4
    images = torch.rand(2, 1, 56, 56)
    big = model.resized(56)
    assert big.config.image_size == 56 and model.config.image_size == 28
    with torch.no_grad():
        torch.testing.assert_close(big(images), model(images), rtol=0, atol=0)
        z, maps = model.encoder(model.embed(images), (14, 14), return_attention=True)
        assert z.shape == (2, 4 + 196, D) and maps[0].shape == (2, HEADS, 200, 200)
    rebuilt = RoPEViT.from_state_dict(model.config, model.state_dict()).eval()
    assert rebuilt.rope == "mixed"
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(images), model(images), rtol=0, atol=0)


def test_rope_vit_errors():
    with pytest.raises(ValueError, match="a RoPEViT has no E_pos"):
        RoPEViT(TINY_VIT_CONFIG)
    model = RoPEViT(replace(SMALL, positional_embedding="none"))
    with pytest.raises(ValueError, match=r"image height 30 is not divisible by patch_size 4"):
        model(torch.zeros(1, 1, 30, 28))
    with pytest.raises(ValueError, match=r"images must have shape \(B, 1, H, W\)"):
        model(torch.zeros(1, 28, 28))
    with pytest.raises(TypeError, match=r"weights are torch.float32 but the images are "
                                        r"torch.float64"):
        model(torch.zeros(1, 1, 28, 28, dtype=torch.float64))


def test_resampling_to_a_huge_patch_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"the resize matrix B .* would hold"):
        resample_patch_embed(torch.rand(8, 3, 16, 16), 2000)


def test_rope_vit_embed_masks_patches_as_the_base_model_does():
    torch.manual_seed(0)
    model = RoPEViT(replace(SMALL, positional_embedding="none")).eval()
    images = torch.rand(2, 1, *model.patch_embed.image_size)
    N, D = model.patch_embed.num_patches, model.config.embed_dim
    mask = torch.zeros(2, N, dtype=torch.bool)
    mask[0, 1] = mask[1, -1] = True
    token = torch.randn(1, 1, D)
    masked, plain = model.embed(images, mask=mask, mask_token=token), model.embed(images)
    k = model.num_prefix_tokens
    torch.testing.assert_close(masked[0, k + 1], token[0, 0])
    torch.testing.assert_close(masked[1, -1], token[0, 0])
    keep = torch.cat([torch.ones(2, k, dtype=torch.bool), ~mask], dim=1)
    torch.testing.assert_close(masked[keep], plain[keep])
