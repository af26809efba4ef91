"""Lesson 04: PositionalEmbedding (the learned E_pos) and sincos_2d_pos_embed."""

import math

import pytest
import torch
from timm.layers.pos_embed_sincos import build_sincos2d_pos_embed

from vit_tutorial.positional_embedding import PositionalEmbedding, sincos_2d_pos_embed

SIZES = [  # (num_patches N, embed_dim D, num_prefix_tokens)
    (196, 768, 1),  # ViT-B/16 at 224
    (49, 64, 1),  # the digits lessons: 7x7 grid
    (24, 32, 1),  # a non-square 4x6 grid
    (24, 32, 0),  # no class token
    (1, 4, 1),  # a single patch
]


@pytest.mark.parametrize("N, D, prefix", SIZES)
def test_parameter_name_shape_and_forward(N, D, prefix):
    module = PositionalEmbedding(N, D, num_prefix_tokens=prefix)
    assert list(dict(module.named_parameters())) == ["pos_embed"]  # timm's key
    assert module.pos_embed.shape == (1, N + prefix, D)
    assert (module.num_patches, module.embed_dim, module.num_prefix_tokens) == (N, D, prefix)
    tokens = torch.randn(3, N + prefix, D)
    assert module(tokens).shape == (3, N + prefix, D)
    assert module(tokens[0]).shape == (N + prefix, D)


def test_vit_b16_numbers_and_repr():
    module = PositionalEmbedding(196, 768)
    assert module.pos_embed.shape == (1, 197, 768)
    assert module.pos_embed.numel() == 151_296  # (N + 1)·D parameters
    assert repr(module) == ("PositionalEmbedding(num_patches=196, embed_dim=768, "
                            "num_prefix_tokens=1)")


def test_init_is_normal_std_002():
    """The original code's N(0, 0.02²), drawn with the version-stable normal_ stream."""
    torch.manual_seed(0)
    values = PositionalEmbedding(196, 768).pos_embed.detach()
    torch.manual_seed(0)
    expected = torch.empty(1, 197, 768).normal_(std=0.02)
    assert torch.equal(values, expected)
    assert abs(values.mean().item()) < 5e-4
    assert 0.0195 < values.std().item() < 0.0205
    assert values.abs().max().item() > 3 * 0.02  # not truncated at a few std
    torch.manual_seed(1)
    assert not torch.equal(PositionalEmbedding(196, 768).pos_embed, values)  # random, seeded


def test_addition_is_broadcast_over_the_batch():
    torch.manual_seed(0)
    module = PositionalEmbedding(24, 8)
    tokens = torch.randn(5, 25, 8)
    out = module(tokens)
    for b in range(5):
        torch.testing.assert_close(out[b] - tokens[b], module.pos_embed[0].detach())
    torch.testing.assert_close(module(tokens[2]), out[2])  # the unbatched form agrees


def test_gradient_reaches_pos_embed_summed_over_batch():
    torch.manual_seed(0)
    module = PositionalEmbedding(6, 4)
    upstream = torch.randn(3, 7, 4)
    (module(torch.randn(3, 7, 4)) * upstream).sum().backward()
    assert module.pos_embed.grad.shape == (1, 7, 4)
    torch.testing.assert_close(module.pos_embed.grad, upstream.sum(0, keepdim=True))


def test_positions_make_shuffled_patches_distinguishable():
    """Without E_pos a permutation of the tokens only permutes the output; with it, it doesn't."""
    torch.manual_seed(0)
    module = PositionalEmbedding(4, 8)
    tokens = torch.randn(1, 5, 8)
    perm = torch.tensor([0, 2, 1, 4, 3])  # keep the class token first, swap patches
    assert not torch.allclose(module(tokens[:, perm]), module(tokens)[:, perm])


@pytest.mark.parametrize("tokens, error, message", [
    (torch.zeros(2, 577, 768), ValueError,  # a 384x384 image into a 224 model (Sec. 3.2)
     r"expected 197 tokens = 1 class token \+ 196 patches, got 577 tokens: the images give 576 "
     r"patches, not 196.*vit_tutorial\.interpolation\.resize_pos_embed"),
    (torch.zeros(2, 196, 768), ValueError,
     r"got 196 tokens: it looks like the class token is missing: prepend it first \(ClassToken"),
    (torch.zeros(2, 198, 768), ValueError,
     r"got 198 tokens: it looks like the class token was prepended twice"),
    (torch.zeros(2, 197, 512), ValueError,
     r"tokens have embedding dimension 512 but pos_embed has 768; build the position embedding "
     r"with embed_dim=512"),
    (torch.zeros(768), ValueError,
     r"expects tokens of shape \(B, N \+ 1, D\) or \(N \+ 1, D\), got 1 dimensions"),
    (torch.zeros(1, 2, 197, 768), ValueError, r"got 4 dimensions \(1, 2, 197, 768\)"),
    ([[0.0]], TypeError, r"tokens must be a torch.Tensor, got list"),
])
def test_forward_errors(tokens, error, message):
    with pytest.raises(error, match=message):
        PositionalEmbedding(196, 768)(tokens)


def test_forward_error_without_class_token():
    with pytest.raises(ValueError,
                       match=r"expected 24 tokens \(24 patches, no class token\), got 25"):
        PositionalEmbedding(24, 8, num_prefix_tokens=0)(torch.zeros(1, 25, 8))


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(num_patches=0, embed_dim=8), ValueError, r"num_patches must be a positive int, got 0"),
    (dict(num_patches=196, embed_dim="768"), TypeError,
     r"embed_dim must be a positive int, got '768'"),
    (dict(num_patches=196, embed_dim=8, num_prefix_tokens=-1), ValueError,
     r"num_prefix_tokens must be an int >= 0, got -1; pass 1 for a ViT with a class token"),
    (dict(num_patches=196, embed_dim=8, num_prefix_tokens=True), TypeError,
     r"num_prefix_tokens must be an int >= 0, got True of type bool"),
])
def test_constructor_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        PositionalEmbedding(**kwargs)


# --- the fixed 2-D sine-cosine table -------------------------------------------------------

@pytest.mark.parametrize("grid, D", [((7, 7), 64), ((14, 14), 768), ((4, 6), 32), ((6, 4), 8),
                                     ((1, 3), 4), ((24, 24), 16)])
def test_sincos_matches_timm_exactly(grid, D):
    ours = sincos_2d_pos_embed(grid, D)
    assert ours.shape == (grid[0] * grid[1], D)
    assert ours.dtype == torch.float32 and not ours.requires_grad
    torch.testing.assert_close(ours, build_sincos2d_pos_embed(list(grid), D), rtol=0, atol=0)


def test_sincos_int_grid_and_temperature():
    torch.testing.assert_close(sincos_2d_pos_embed(5, 16), sincos_2d_pos_embed((5, 5), 16))
    torch.testing.assert_close(sincos_2d_pos_embed((3, 4), 16, temperature=100.0),
                               build_sincos2d_pos_embed([3, 4], 16, temperature=100.0))


def test_sincos_layout_row_major_row_then_column_channels():
    """Channels [sin r | sin c | cos r | cos c], D/4 each; rows of the table row-major."""
    gh, gw, D = 4, 6, 32
    q = D // 4
    table = sincos_2d_pos_embed((gh, gw), D).reshape(gh, gw, D)  # (N, D) -> (H/P, W/P, D)
    omega = 1.0 / 10000 ** (torch.arange(q) / q)
    r, c = 2, 5
    expected = torch.cat([torch.sin(r * omega), torch.sin(c * omega),
                          torch.cos(r * omega), torch.cos(c * omega)])
    torch.testing.assert_close(table[r, c], expected)
    row_channels = torch.cat([table[..., :q], table[..., 2 * q:3 * q]], dim=-1)
    col_channels = torch.cat([table[..., q:2 * q], table[..., 3 * q:]], dim=-1)
    # the row channels are the same along a row, the column channels the same down a column
    assert torch.equal(row_channels, row_channels[:, :1].expand_as(row_channels))
    assert torch.equal(col_channels, col_channels[:1].expand_as(col_channels))
    # every row has norm sqrt(D/2): sin² + cos² = 1 for each of the D/2 (sin, cos) pairs
    torch.testing.assert_close(table.norm(dim=-1), torch.full((gh, gw), math.sqrt(D / 2)))


def test_sincos_is_a_channel_permutation_of_mae():
    """MAE's get_2d_sincos_pos_embed (written out here) orders [sin c, cos c, sin r, cos r]."""
    gh, gw, D = 3, 5, 16
    q = D // 4
    omega = 1.0 / 10000 ** (torch.arange(q, dtype=torch.float64) / q)
    rows, cols = torch.meshgrid(torch.arange(gh, dtype=torch.float64),
                                torch.arange(gw, dtype=torch.float64), indexing="ij")
    r, c = rows.reshape(-1, 1) * omega, cols.reshape(-1, 1) * omega
    mae = torch.cat([c.sin(), c.cos(), r.sin(), r.cos()], dim=1).float()
    ours = sincos_2d_pos_embed((gh, gw), D)
    perm = torch.cat([torch.arange(q, 2 * q), torch.arange(3 * q, 4 * q),
                      torch.arange(0, q), torch.arange(2 * q, 3 * q)])
    torch.testing.assert_close(ours[:, perm], mae)


@pytest.mark.parametrize("args, kwargs, error, message", [
    ((7, 30), {}, ValueError,
     r"embed_dim 30 is not divisible by 4.*use a multiple of 4 \(e\.g\. 28 or 32\)"),
    ((7, 2), {}, ValueError, r"embed_dim 2 is not divisible by 4.*\(e\.g\. 4 or 8\)"),
    ((0, 64), {}, ValueError, r"grid_size must be a positive int, got 0"),
    (((4, 0), 64), {}, ValueError, r"grid_size\[1\] \(width\) must be a positive int, got 0"),
    ((7.0, 64), {}, TypeError, r"grid_size must be an int or an \(h, w\) pair of ints, got 7\.0"),
    ((7, 64), dict(temperature=-1.0), ValueError,
     r"temperature must be a positive number, got -1\.0"),
])
def test_sincos_errors(args, kwargs, error, message):
    with pytest.raises(error, match=message):
        sincos_2d_pos_embed(*args, **kwargs)


def test_a_class_token_the_table_has_no_row_for_is_named():
    table = PositionalEmbedding(4, 8, num_prefix_tokens=0)
    with pytest.raises(ValueError, match="this table has no row for it"):
        table(torch.rand(1, 5, 8))


def test_huge_tables_are_refused_before_allocating():
    with pytest.raises(ValueError, match="more than the course's limit"):
        PositionalEmbedding(10 ** 10, 768)
    with pytest.raises(ValueError, match=r"a 100000x100000 sine-cosine table .* grid_size "
                                         r"counts patches"):
        sincos_2d_pos_embed(10 ** 5, 64)
