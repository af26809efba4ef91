"""Lesson 05: position_similarity, locality_score and the Figure 7 (centre) plot."""


import pytest
import torch
import torch.nn.functional as F

from vit_tutorial.positional_embedding import PositionalEmbedding, sincos_2d_pos_embed
from vit_tutorial.similarity import locality_score, position_similarity

GRIDS = [(7, 7), (4, 6), (6, 4), (1, 5), (14, 14)]


@pytest.mark.parametrize("grid", GRIDS)
def test_shapes_symmetry_and_unit_diagonal(grid):
    torch.manual_seed(0)
    gh, gw = grid
    N = gh * gw
    pos_embed = torch.randn(1, N + 1, 16)
    sim = position_similarity(pos_embed, grid)
    assert sim.shape == (gh, gw, gh, gw)
    flat = sim.reshape(N, N)
    torch.testing.assert_close(flat, flat.T)  # sim[i, j, k, l] == sim[k, l, i, j]
    torch.testing.assert_close(flat.diagonal(), torch.ones(N))
    assert flat.abs().max() <= 1 + 1e-6


@pytest.mark.parametrize("grid", [(7, 7), (4, 6)])
def test_tile_ij_is_patch_ij_row_major(grid):
    torch.manual_seed(0)
    gh, gw = grid
    pos_embed = torch.randn(1, gh * gw + 1, 8)
    sim = position_similarity(pos_embed, grid)
    row1, col1, row2, col2 = gh - 1, 1, 0, gw - 1  # patches (i, j) and (k, l)
    first, second = 1 + row1 * gw + col1, 1 + row2 * gw + col2  # row-major, after x_class
    expected = F.cosine_similarity(pos_embed[0, first], pos_embed[0, second], dim=0)
    torch.testing.assert_close(sim[row1, col1, row2, col2], expected)


def test_the_three_input_forms_agree():
    torch.manual_seed(0)
    pos_embed = torch.randn(1, 25, 8)
    sim = position_similarity(pos_embed, (4, 6))
    torch.testing.assert_close(position_similarity(pos_embed[0], (4, 6)), sim)
    torch.testing.assert_close(
        position_similarity(pos_embed[0, 1:], (4, 6), num_prefix_tokens=0), sim)
    torch.testing.assert_close(position_similarity(pos_embed[0, 1:], (4, 6), 0),
                               position_similarity(torch.cat([torch.zeros(3, 8), pos_embed[0, 1:]]),
                                                   (4, 6), num_prefix_tokens=3))


def test_class_token_row_is_dropped():
    torch.manual_seed(0)
    pos_embed = torch.randn(1, 50, 16)
    changed = pos_embed.clone()
    changed[0, 0] = 100 * torch.randn(16)
    assert torch.equal(position_similarity(changed, 7), position_similarity(pos_embed, 7))


def test_works_on_a_module_parameter_and_keeps_gradients():
    module = PositionalEmbedding(24, 8)
    sim = position_similarity(module.pos_embed, (4, 6))
    sim.sum().backward()
    assert module.pos_embed.grad.shape == (1, 25, 8)


def test_dtypes():
    table = sincos_2d_pos_embed(4, 16)
    assert position_similarity(table.half(), 4, 0).dtype == torch.float32
    assert position_similarity(table.double(), 4, 0).dtype == torch.float64


def test_channel_permutation_does_not_change_similarity():
    """Why timm's, MAE's and big_vision's channel orders all draw the same Figure 7."""
    torch.manual_seed(0)
    table = sincos_2d_pos_embed((4, 6), 32)
    perm = torch.randperm(32)
    torch.testing.assert_close(position_similarity(table[:, perm], (4, 6), 0),
                               position_similarity(table, (4, 6), 0))


def test_sincos_table_is_local_and_translation_invariant():
    sim = position_similarity(sincos_2d_pos_embed(7, 64), 7, num_prefix_tokens=0)
    tile = sim[3, 3]  # the centre patch
    neighbours = torch.stack([tile[2, 3], tile[4, 3], tile[3, 2], tile[3, 4]])
    corners = torch.stack([tile[0, 0], tile[0, 6], tile[6, 0], tile[6, 6]])
    assert neighbours.min() > corners.max()
    # the similarity depends on the displacement only: cos(a - b) = sin a sin b + cos a cos b
    torch.testing.assert_close(sim[0, 0, 1, 2], sim[4, 3, 5, 5])


# --- locality_score ------------------------------------------------------------------------

def test_locality_score_hand_made():
    """On a 3x3 grid with sim = 1 - 0.1·(Manhattan distance): 0.9 - 0.6 = 0.3."""
    rows, cols = torch.meshgrid(torch.arange(3), torch.arange(3), indexing="ij")
    r, c = rows.reshape(-1), cols.reshape(-1)
    steps = (r[:, None] - r[None, :]).abs() + (c[:, None] - c[None, :]).abs()
    sim = (1 - 0.1 * steps).reshape(3, 3, 3, 3)
    assert locality_score(sim) == pytest.approx(0.9 - 0.6)  # only the corner pairs are 4 apart
    # far=3: 16 ordered pairs 3 steps apart (corner <-> far edge middle) and 4 pairs 4 apart
    assert locality_score(sim, far=3) == pytest.approx(0.9 - (16 * 0.7 + 4 * 0.6) / 20)


def test_locality_score_reference_values():
    torch.manual_seed(0)
    identical = torch.ones(49, 64)
    assert locality_score(position_similarity(identical, 7, 0)) == pytest.approx(0.0, abs=1e-6)
    random = locality_score(position_similarity(torch.randn(49, 64), 7, 0))
    assert abs(random) < 0.05
    sincos_7 = locality_score(position_similarity(sincos_2d_pos_embed(7, 64), 7, 0))
    assert sincos_7 == pytest.approx(0.1644, abs=1e-3)
    sincos_14 = locality_score(position_similarity(sincos_2d_pos_embed(14, 768), 14, 0))
    assert sincos_14 == pytest.approx(0.1929, abs=1e-3)
    assert isinstance(sincos_14, float)


@pytest.mark.parametrize("similarity, kwargs, message", [
    (torch.ones(2, 2, 2, 2), {}, r"a 2x2 grid has no pair of patches 4 or more steps apart "
                                 r"\(the largest distance is 2\).*e\.g\. 3x3 for far=4, "
                                 r"or pass a smaller far"),
    (torch.ones(1, 4, 1, 4), {}, r"a 1x4 grid has no pair"),
    (torch.ones(3, 3, 3, 3), dict(far=1),
     r"far must be an int >= 2 \(1 step is a neighbour\), got 1"),
    (torch.ones(49, 49), {}, r"similarity must have shape \(H/P, W/P, H/P, W/P\), got \(49, 49\); "
                             r"compute it with position_similarity"),
    (torch.ones(7, 7, 7, 6), {}, r"got \(7, 7, 7, 6\)"),
])
def test_locality_score_errors(similarity, kwargs, message):
    with pytest.raises(ValueError, match=message):
        locality_score(similarity, **kwargs)


# --- position_similarity errors -----------------------------------------------------------

@pytest.mark.parametrize("pos_embed, grid, prefix, message", [
    (torch.zeros(196, 8), 14, 1, r"expected 1 \+ 14·14 = 197 rows in pos_embed.*got 196; pass "
                                 r"num_prefix_tokens=0 for a table without a class-token row"),
    (torch.zeros(1, 197, 8), 14, 0, r"expected 0 \+ 14·14 = 196 rows.*got 197; pass "
                                    r"num_prefix_tokens=1 for this grid \(one class-token row\)"),
    (torch.zeros(1, 197, 8), 7, 1, r"got 197; pass num_prefix_tokens=148 for this grid, or "
                                   r"grid_size=14 if the 196 patches form a 14x14 grid"),
    (torch.zeros(1, 50, 8), (8, 8), 1, r"got 50; the grid is too large for this table"
                                       r".*grid_size=7"),
    (torch.zeros(1, 50, 8), 0, 1, r"grid_size must be a positive int, got 0"),
    (torch.zeros(1, 50, 8), (7, -7), 1, r"grid_size\[1\] \(width\) must be a positive int, got -7"),
    (torch.zeros(2, 50, 8), 7, 1, r"got \(2, 50, 8\); this looks like a batch of tokens"),
    (torch.zeros(50), 7, 1, r"pos_embed must have shape \(1, N \+ 1, D\) or \(N \+ 1, D\), "
                            r"got 1 dimensions"),
    (torch.zeros(1, 1, 50, 8), 7, 1, r"got 4 dimensions"),
    (torch.zeros(1, 50, 8), 7, -1, r"num_prefix_tokens must be an int >= 0, got -1"),
])
def test_position_similarity_value_errors(pos_embed, grid, prefix, message):
    with pytest.raises(ValueError, match=message):
        position_similarity(pos_embed, grid, prefix)


def test_position_similarity_type_errors():
    import numpy as np

    with pytest.raises(TypeError,
                       match=r"pos_embed must be a torch.Tensor, got ndarray.*torch.from_numpy"):
        position_similarity(np.zeros((50, 8)), 7)
    with pytest.raises(TypeError,
                       match=r"grid_size must be an int or an \(h, w\) pair of ints, got '7'"):
        position_similarity(torch.zeros(50, 8), "7")
    with pytest.raises(TypeError, match=r"similarity must be a torch.Tensor, got list"):
        locality_score([[1.0]])


# --- the figure ----------------------------------------------------------------------------


# --- taking E_pos out of real models (random weights: nothing is downloaded) ---------------


def test_pos_embed_of_torchvision_and_timm_and_ours():
    from timm.models.vision_transformer import VisionTransformer as TimmViT
    from torchvision.models import VisionTransformer as TorchvisionViT

    from vit_tutorial.model import TinyViT
    from vit_tutorial.similarity import pos_embed_of

    tv = TorchvisionViT(image_size=32, patch_size=8, num_layers=1, num_heads=2, hidden_dim=16,
                        mlp_dim=32)
    table, grid, prefix = pos_embed_of(tv)
    assert (tuple(table.shape), grid, prefix) == ((1, 17, 16), (4, 4), 1)
    assert torch.equal(table, tv.encoder.pos_embedding) and not table.requires_grad
    assert position_similarity(table, grid, prefix).shape == (4, 4, 4, 4)

    timm_model = TimmViT(img_size=(32, 48), patch_size=8, embed_dim=16, depth=1, num_heads=2)
    table, grid, prefix = pos_embed_of(timm_model)
    assert (tuple(table.shape), grid, prefix) == ((1, 25, 16), (4, 6), 1)
    assert position_similarity(table, grid, prefix).shape == (4, 6, 4, 6)

    registers = TimmViT(img_size=32, patch_size=8, embed_dim=16, depth=1, num_heads=2,
                        reg_tokens=4, no_embed_class=True)
    table, grid, prefix = pos_embed_of(registers)
    assert (tuple(table.shape), prefix) == ((1, 16, 16), 0)  # pos_embed covers the patches only

    table, grid, prefix = pos_embed_of(TinyViT())
    assert (tuple(table.shape), grid, prefix) == ((1, 50, 64), (7, 7), 1)


def test_pos_embed_of_errors():
    from vit_tutorial.similarity import pos_embed_of

    with pytest.raises(TypeError, match="model must be a ViT"):
        pos_embed_of(torch.zeros(3))
    with pytest.raises(ValueError, match="Linear has no learned absolute position embedding"):
        pos_embed_of(torch.nn.Linear(2, 2))
