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
    with torch.no_grad():  # every weight random, LayerNorms too: swapping norm1/norm2 shows
        for parameter in reference.parameters():
            parameter.normal_(0, 0.5)
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
     r"embed_dim 30 is not divisible by num_heads 4; "
     r".* pick num_heads from \[1, 2, 3, 5, 6, 10, 15, 30\]"),
    (dict(embed_dim=32, num_heads=0, mlp_dim=8), ValueError,
     r"num_heads must be a positive int, got 0"),
    (dict(embed_dim=32, num_heads=4, mlp_dim=8, dropout=1.5), ValueError,
     r"dropout must be a number in \[0, 1\)"),
])
def test_block_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        EncoderBlock(**kwargs)


def test_encoder_errors():
    with pytest.raises(ValueError, match=r"tokens must have shape \(B, T, 16\)"):
        Encoder(1, 16, 2, 32)(torch.randn(1, 5, 8))
    with pytest.raises(ValueError, match="depth must be a positive int, got 0"):
        Encoder(0, 16, 2, 32)
    assert Attention(16, 2).head_dim == 8


def test_one_sequence_without_a_batch_axis_gets_a_hint():
    with pytest.raises(ValueError, match=r"use tokens.unsqueeze\(0\)"):
        EncoderBlock(8, 2, 16)(torch.rand(5, 8))
    with pytest.raises(TypeError, match="tokens must be floating point"):
        EncoderBlock(8, 2, 16)(torch.ones(1, 5, 8, dtype=torch.long))


def test_dropout_given_as_text_is_a_type_error():
    with pytest.raises(TypeError, match=r"dropout must be a number in \[0, 1\), got '0.1' of "
                                        r"type str"):
        EncoderBlock(8, 2, 16, dropout="0.1")
    assert EncoderBlock(8, 2, 16, dropout=0.1).drop.p == 0.1


def test_huge_sizes_are_refused_before_allocating():
    with pytest.raises(ValueError, match=r"the MLP's weight \(D = 1024 × mlp_dim = 1000000\) "
                                         r"would hold"):
        EncoderBlock(1024, 8, 10 ** 6)
