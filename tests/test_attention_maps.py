"""Lesson 09: mean attention distance (Figure 7, right) and attention rollout (Figure 6)."""

import pytest
import torch

from vit_tutorial.attention_maps import (
    HEAD_FUSIONS,
    attention_rollout,
    mass_on_ink,
    mean_attention_distance,
    rollout_map,
    uniform_attention_distance,
)
from vit_tutorial.encoder import Encoder

# --- mean attention distance (Figure 7, right) ----------------------------------------------

def _attention(pattern, prefix=1):
    """(1, 1, T, T) attention from an (N, N) pattern over the patches, plus prefix rows/cols."""
    N = pattern.shape[0]
    full = torch.zeros(1, 1, prefix + N, prefix + N)
    full[0, 0, prefix:, prefix:] = pattern
    full[0, 0, :prefix, :] = 1 / (prefix + N)
    return full


def test_attending_to_itself_is_distance_zero():
    assert mean_attention_distance(_attention(torch.eye(9)), 3, 4).tolist() == [0.0]


def test_attending_to_the_right_neighbour_is_one_patch_away():
    # 1x4 grid of 16-pixel patches: each patch attends to the next one (the last to the previous)
    pattern = torch.tensor([[0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 1, 0.]])
    assert mean_attention_distance(_attention(pattern), (1, 4), 16).item() == pytest.approx(16.0)


def test_uniform_attention_gives_the_uniform_value_and_ignores_the_class_token():
    pattern = torch.full((4, 4), 0.2)  # rows sum to 0.8: the rest went to the class token
    got = mean_attention_distance(_attention(pattern), 2, 10)
    # 2x2 grid, P = 10: of 4 keys, 1 at 0, 2 at 10, 1 at 10·√2
    expected = (0 + 10 + 10 + 10 * 2 ** 0.5) / 4
    assert got.item() == pytest.approx(expected, rel=1e-6)
    assert uniform_attention_distance(2, 10) == pytest.approx(expected)


def test_per_layer_and_head_shapes_from_a_real_encoder():
    encoder = Encoder(2, 16, 4, 32).eval()
    _, maps = encoder(torch.randn(3, 1 + 49, 16), return_attention=True)
    distances = mean_attention_distance(maps, 7, 4)
    assert distances.shape == (2, 4)
    assert torch.all(distances > 0) and torch.all(distances <= 6 * 4 * 2 ** 0.5)


def test_mean_attention_distance_errors():
    with pytest.raises(ValueError, match=r"T = 1 \+ 7·7 = 50, got \(1, 1, 49, 49\)"):
        mean_attention_distance(torch.zeros(1, 1, 49, 49), 7, 4)
    with pytest.raises(TypeError, match="attention must be a torch.Tensor"):
        mean_attention_distance("weights", 7, 4)


def test_distance_over_chosen_queries_only():
    # 1x3 grid: patch 0 attends 2 patches away, patches 1 and 2 to themselves
    pattern = torch.tensor([[0, 0, 1], [0, 1, 0], [0, 0, 1.]])
    attention = _attention(pattern)
    mask = torch.tensor([[True, False, False]])
    assert mean_attention_distance(attention, (1, 3), 4, query_mask=mask).item() == 8.0
    assert mean_attention_distance(attention, (1, 3), 4).item() == pytest.approx(8 / 3)
    with pytest.raises(ValueError, match="selects no query patch"):
        mean_attention_distance(attention, (1, 3), 4, query_mask=torch.zeros(1, 3, dtype=bool))
    with pytest.raises(ValueError, match=r"query_mask must be a \(B, N\) = \(1, 3\) bool"):
        mean_attention_distance(attention, (1, 3), 4, query_mask=torch.ones(3, dtype=bool))


def test_distance_is_computed_where_the_attention_is():
    maps = [torch.rand(2, 3, 50, 50, device="meta") for _ in range(2)]
    assert mean_attention_distance(maps, 7, 4).device.type == "meta"
    assert mean_attention_distance(_attention(torch.eye(4)).double(), 2, 4).dtype == torch.float64


# --- attention rollout (Figure 6) ------------------------------------------------------------


def _random_attention(B=2, h=3, T=5, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(B, h, T, T, generator=generator).softmax(dim=-1)


def test_rollout_is_the_product_of_the_layers_residual_attention():
    layers = [_random_attention(seed=s) for s in range(3)]
    expected = torch.eye(5).expand(2, 5, 5)
    for layer in layers:  # a direct loop over the layers, written out
        step = 0.5 * layer.mean(dim=1) + 0.5 * torch.eye(5)
        expected = step @ expected
    torch.testing.assert_close(attention_rollout(layers), expected)


def test_rollout_rows_sum_to_one_and_identity_gives_identity():
    rollout = attention_rollout([_random_attention(seed=s) for s in range(4)])
    torch.testing.assert_close(rollout.sum(-1), torch.ones(2, 5))
    eye = torch.eye(5).expand(1, 2, 5, 5)
    torch.testing.assert_close(attention_rollout([eye, eye]), torch.eye(5).expand(1, 5, 5))


def _rollout_by_hand(layers, head_fusion):
    """Abnar & Zuidema's rollout written out entry by entry, for one fusion of the heads."""
    fuse = {"mean": lambda values: sum(values) / len(values), "max": max, "min": min}[head_fusion]
    B, h, T, _ = layers[0].shape
    result = []
    for b in range(B):
        rollout = [[float(i == j) for j in range(T)] for i in range(T)]  # I
        for layer in layers:  # first layer first
            step = [[fuse([layer[b, k, i, j].item() for k in range(h)]) + float(i == j)
                     for j in range(T)] for i in range(T)]  # fused heads + I (the residual)
            step = [[value / sum(row) for value in row] for row in step]  # rows sum to 1 again
            rollout = [[sum(step[i][m] * rollout[m][j] for m in range(T)) for j in range(T)]
                       for i in range(T)]  # step @ rollout: the later layer on the left
        result.append(rollout)
    return torch.tensor(result, dtype=torch.float64)


@pytest.mark.parametrize("head_fusion", HEAD_FUSIONS)
def test_rollout_of_every_fusion_is_the_direct_loop(head_fusion):
    layers = [_random_attention(T=4, seed=s).double() for s in range(3)]
    rollout = attention_rollout(layers, head_fusion)
    torch.testing.assert_close(rollout, _rollout_by_hand(layers, head_fusion))
    torch.testing.assert_close(rollout.sum(-1), torch.ones(2, 4, dtype=torch.float64))  # rows
    # The order matters: the first layer is applied first (rightmost in the product).
    assert not torch.allclose(attention_rollout(layers[::-1], head_fusion), rollout)
    eye = torch.eye(4, dtype=torch.float64).expand(2, 3, 4, 4)  # each token looks at itself
    torch.testing.assert_close(attention_rollout([eye, eye], head_fusion),
                               torch.eye(4, dtype=torch.float64).expand(2, 4, 4))
    uniform = torch.full((2, 3, 4, 4), 0.25, dtype=torch.float64)  # a row sums to 2 before the
    torch.testing.assert_close(attention_rollout([uniform], head_fusion),  # renormalisation
                               (0.25 * torch.ones(4, 4) + torch.eye(4)).double().expand(2, 4, 4)
                               / 2)


def test_rollout_head_fusions_and_device():
    layers = [_random_attention(seed=s) for s in range(2)]
    assert not torch.allclose(attention_rollout(layers, "max"), attention_rollout(layers, "min"))
    meta = [layer.to("meta") for layer in layers]
    assert attention_rollout(meta).device.type == "meta"


def test_rollout_of_a_real_encoder_and_its_map():
    encoder = Encoder(2, 16, 2, 32).eval()
    _, maps = encoder(torch.randn(3, 1 + 6, 16), return_attention=True)
    heat = rollout_map(attention_rollout(maps), (2, 3))
    assert heat.shape == (3, 2, 3)
    torch.testing.assert_close(heat.sum(dim=(1, 2)), torch.ones(3))


@pytest.mark.parametrize("attentions, kwargs, error, message", [
    (torch.rand(1, 1, 5, 5), {}, TypeError, "must be a list of per-layer weights"),
    ([], {}, ValueError, "attentions is empty"),
    ([torch.rand(1, 1, 5, 5)], {"head_fusion": "median"}, ValueError, "head_fusion must be one"),
    ([torch.rand(1, 1, 5, 5).softmax(-1), torch.rand(1, 1, 4, 4).softmax(-1)], {}, ValueError,
     r"attentions\[1\] must"),
])
def test_rollout_errors(attentions, kwargs, error, message):
    with pytest.raises(error, match=message):
        attention_rollout(attentions, **kwargs)


def test_rollout_map_errors():
    with pytest.raises(ValueError, match=r"T = 1 \+ 2·2"):
        rollout_map(torch.rand(1, 4, 4), 2)


def test_mass_on_ink():
    images = torch.zeros(1, 1, 4, 4)
    images[0, 0, :2, :2] = 1.0  # ink fills the top-left 2x2 patch of a 2x2 grid of patches
    on_ink = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])
    uniform = torch.full((1, 2, 2), 0.25)
    mass, share = mass_on_ink(on_ink, images, 2)
    assert mass.item() == pytest.approx(1.0) and share.item() == pytest.approx(0.25)
    assert mass_on_ink(uniform, images, 2)[0].item() == pytest.approx(0.25)
    with pytest.raises(ValueError, match="must agree"):
        mass_on_ink(uniform, images, 4)


@pytest.mark.parametrize("attentions, error, message", [
    ([torch.randn(2, 3, 5, 5)], ValueError,  # the scores before the softmax
     r"attentions\[0\] is not attention weights: each row must be >= 0 and sum to 1"),
    ([torch.rand(2, 3, 5, 5) * 2], ValueError, "pass the weights after the softmax"),
    ([torch.ones(2, 3, 5, 5, dtype=torch.int64)], TypeError,
     r"attentions\[0\] must hold floating-point weights, got torch.int64"),
    ([torch.rand(2, 3, 5, 5).softmax(-1), torch.rand(2, 3, 5, 5).softmax(-1).double()],
     TypeError, r"attentions\[1\] is torch.float64 but attentions\[0\] torch.float32"),
])
def test_rollout_takes_only_softmax_weights_in_one_dtype(attentions, error, message):
    with pytest.raises(error, match=message):
        attention_rollout(attentions)
    half = [torch.rand(2, 3, 50, 50).softmax(-1).half()]  # float16 rounding is no error
    assert attention_rollout(half).dtype == torch.float16


def test_mean_attention_distance_of_no_layers_is_a_clear_error():
    with pytest.raises(ValueError, match="attention is an empty list; pass one"):
        mean_attention_distance([], 7, 4)
