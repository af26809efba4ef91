"""The pre-norm encoder (Eq. 2–3)."""

import pytest
import torch

from vit_tutorial.encoder import Attention, Encoder, EncoderBlock


def test_block_shapes_and_timm_names():
    block = EncoderBlock(32, 4, 64)
    assert block(torch.randn(2, 10, 32)).shape == (2, 10, 32)
    names = {name for name, _ in block.named_parameters()}
    assert names == {"norm1.weight", "norm1.bias", "attn.qkv.weight", "attn.qkv.bias",
                     "attn.proj.weight", "attn.proj.bias", "norm2.weight", "norm2.bias",
                     "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias"}
    assert block.norm1.eps == 1e-6


def test_attention_weights_sum_to_one_and_reproduce_the_output():
    torch.manual_seed(0)
    block = EncoderBlock(32, 4, 64).eval()
    z = torch.randn(3, 7, 32)
    out, weights = block(z, return_attention=True)
    assert weights.shape == (3, 4, 7, 7)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4, 7))
    torch.testing.assert_close(out, block(z), atol=1e-5, rtol=1e-5)  # SDPA path == explicit path


def test_matches_timm_block():
    from timm.models.vision_transformer import Block

    torch.manual_seed(0)
    reference = Block(dim=48, num_heads=3, mlp_ratio=2.0, qkv_bias=True).eval()
    ours = EncoderBlock(48, 3, 96).eval()
    ours.load_state_dict(reference.state_dict())
    z = torch.randn(2, 5, 48)
    torch.testing.assert_close(ours(z), reference(z), atol=1e-5, rtol=1e-5)


def test_encoder_returns_one_map_per_layer():
    encoder = Encoder(3, 16, 2, 32).eval()
    z, maps = encoder(torch.randn(1, 5, 16), return_attention=True)
    assert z.shape == (1, 5, 16) and len(maps) == 3 and maps[0].shape == (1, 2, 5, 5)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(embed_dim=30, num_heads=4, mlp_dim=8), ValueError,
     r"embed_dim 30 is not divisible by num_heads 4; .* pick num_heads from \[1, 2, 3, 5, 6, 10, 15, 30\]"),
    (dict(embed_dim=32, num_heads=0, mlp_dim=8), ValueError, r"num_heads must be a positive int, got 0"),
    (dict(embed_dim=32, num_heads=4, mlp_dim=8, dropout=1.5), ValueError, r"dropout must be in \[0, 1\)"),
])
def test_block_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        EncoderBlock(**kwargs)


def test_encoder_errors():
    with pytest.raises(ValueError, match=r"expects tokens \(B, T, 16\), got \(1, 5, 8\)"):
        Encoder(1, 16, 2, 32)(torch.randn(1, 5, 8))
    with pytest.raises(ValueError, match="depth must be a positive int, got 0"):
        Encoder(0, 16, 2, 32)
    assert Attention(16, 2).head_dim == 8


# --- mean attention distance (Figure 7, right) ----------------------------------------------

from vit_tutorial.encoder import mean_attention_distance, uniform_attention_distance  # noqa: E402


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


def test_plot_attention_distance():
    import matplotlib.pyplot as plt

    from vit_tutorial.encoder import plot_attention_distance

    fig, ax = plot_attention_distance(torch.rand(4, 3) * 10, 5.0, title="t")
    assert len(ax.collections) == 3  # one scatter per head
    assert ax.get_xlabel() == "network depth (layer)" and "pixels" in ax.get_ylabel()
    assert len(ax.lines) == 1  # the uniform line
    plt.close(fig)
    fig, ax = plot_attention_distance(torch.rand(2, 12))  # many heads: no legend
    assert ax.get_legend() is None
    plt.close(fig)
    with pytest.raises(ValueError, match=r"distances must have shape \(L, h\)"):
        plot_attention_distance(torch.rand(4))
    with pytest.raises(TypeError, match="uniform must be a number"):
        plot_attention_distance(torch.rand(2, 2), uniform="14")
    with pytest.raises(ValueError, match=r"spread must be a number in \[0, 1\)"):
        plot_attention_distance(torch.rand(2, 2), spread=1.5)
