"""The Vision Transformer itself (``vit_tutorial.vision_transformer``, imported from
``vit_tutorial.model``): its shapes, its config's checks, E_pos variants and resizing."""

from dataclasses import replace

import pytest
import torch

from vit_tutorial.model import VisionTransformer, ViTConfig

SMALL = ViTConfig(image_size=32, patch_size=8, in_channels=3, num_classes=5, embed_dim=32,
                  depth=2, num_heads=4, mlp_dim=64)


def test_small_vit_shapes_and_names():
    model = VisionTransformer(SMALL).eval()
    x = torch.randn(2, 3, 32, 32)
    assert model.embed(x).shape == (2, 17, 32)  # 4x4 = 16 patches + class token
    assert model(x).shape == (2, 5)
    names = set(model.state_dict())
    assert {"patch_embed.proj.weight", "class_token.cls_token", "positional_embedding.pos_embed",
            "encoder.blocks.1.attn.qkv.weight", "norm.weight", "head.weight"} <= names


def test_position_embedding_variants():
    none = VisionTransformer(replace(SMALL, positional_embedding="none"))
    assert none.positional_embedding is None
    assert "positional_embedding.pos_embed" not in none.state_dict()
    sincos = VisionTransformer(replace(SMALL, positional_embedding="sincos"))
    table = sincos.positional_embedding.pos_embed
    assert not table.requires_grad and torch.equal(table[0, 0], torch.zeros(32))
    assert table[0, 1:].abs().sum() > 0


def test_without_pos_embed_patch_order_does_not_matter():
    """Lesson 04's point: without E_pos the encoder is permutation-equivariant, so the class
    token's output ignores where each patch was."""
    torch.manual_seed(0)
    model = VisionTransformer(replace(SMALL, positional_embedding="none")).eval()
    tokens = model.patch_embed(torch.randn(1, 3, 32, 32))
    shuffled = tokens[:, torch.randperm(16)]
    out = model.encoder(model.class_token(tokens))[:, 0]
    out_shuffled = model.encoder(model.class_token(shuffled))[:, 0]
    torch.testing.assert_close(out, out_shuffled, atol=1e-5, rtol=1e-5)


def test_config_errors():
    with pytest.raises(ValueError, match="embed_dim 30 is not divisible by num_heads 4"):
        ViTConfig(embed_dim=30, num_heads=4)
    with pytest.raises(ValueError, match=r"positional_embedding must be one of .*got 'rope'"):
        ViTConfig(positional_embedding="rope")
    with pytest.raises(TypeError, match="config must be a ViTConfig, got dict"):
        VisionTransformer({"embed_dim": 8})


def test_resized_keeps_weights_and_class_token_and_is_a_copy():
    torch.manual_seed(0)
    model = VisionTransformer(SMALL).eval()
    big = model.resized(48)  # 4x4 -> 6x6 grid
    assert big.positional_embedding.pos_embed.shape == (1, 37, 32) and not big.training
    assert torch.equal(big.positional_embedding.pos_embed[0, 0],
                       model.positional_embedding.pos_embed[0, 0])
    assert torch.equal(big.head.weight, model.head.weight)
    with torch.no_grad():
        big.head.weight.zero_()
    assert model.head.weight.abs().sum() > 0  # not shared
    assert big(torch.randn(1, 3, 48, 48)).shape == (1, 5)


def test_resized_sincos_is_rebuilt_and_stays_frozen():
    model = VisionTransformer(replace(SMALL, positional_embedding="sincos"))
    big = model.resized(48)
    fresh = VisionTransformer(replace(SMALL, image_size=48, positional_embedding="sincos"))
    assert torch.equal(big.positional_embedding.pos_embed, fresh.positional_embedding.pos_embed)
    assert not big.positional_embedding.pos_embed.requires_grad


def test_wrong_image_size_points_to_resized():
    model = VisionTransformer(SMALL)
    with pytest.raises(ValueError,
                       match=r"built for 32x32 images, got 48x48; .*model.resized\(\(48, 48\)\)"):
        model(torch.randn(1, 3, 48, 48))
    with pytest.raises(ValueError, match="image height 50 is not divisible by patch_size 8"):
        model.resized(50)


@pytest.mark.parametrize("changes, error, message", [
    ({"num_classes": -1}, ValueError, "num_classes must be a positive int, got -1"),
    ({"dropout": "0.1"}, TypeError, r"dropout must be a number in \[0, 1\), got '0.1'"),
    ({"dropout": 1.5}, ValueError, r"dropout must be a number in \[0, 1\), got 1.5"),
    ({"image_size": 10, "patch_size": 4}, ValueError, "image height 10 is not divisible by "
                                                      "patch_size 4"),
    ({"num_register_tokens": -1}, ValueError, "num_register_tokens must be a whole number"),
    ({"prefix_pos_embed": 1}, TypeError, "prefix_pos_embed must be True or False"),
    ({"positional_embedding": "rope"}, ValueError, "positional_embedding must be one of"),
])
def test_config_is_checked_when_made(changes, error, message):
    with pytest.raises(error, match=message):
        replace(SMALL, **changes)


def test_config_takes_numpy_numbers_and_pairs():
    import numpy as np

    config = replace(SMALL, embed_dim=np.int64(32), image_size=[32, 32], dropout=np.float32(0.1))
    assert type(config.embed_dim) is int and config.image_size == 32
    assert config.dropout == pytest.approx(0.1)
    assert replace(SMALL, image_size=(32, 48)).image_size == (32, 48)


def test_a_huge_image_size_is_refused_before_allocating():
    with pytest.raises(ValueError, match="more than the course's limit"):
        ViTConfig(image_size=10 ** 6)
    assert ViTConfig(image_size=4096, patch_size=16).image_size == 4096  # 65,536 patches: fine
