"""The composed ViT and the shipped TinyViT checkpoint."""

from dataclasses import asdict, replace

import pytest
import torch

from vit_tutorial.model import (TINY_VIT_CHECKPOINT, TINY_VIT_CONFIG, TinyViT, ViTConfig,
                                VisionTransformer, load_tiny_vit)

SMALL = ViTConfig(image_size=32, patch_size=8, in_channels=3, num_classes=5, embed_dim=32,
                  depth=2, num_heads=4, mlp_dim=64)


def test_small_vit_shapes_and_names():
    model = VisionTransformer(SMALL).eval()
    x = torch.randn(2, 3, 32, 32)
    assert model.embed(x).shape == (2, 17, 32)  # 4x4 = 16 patches + class token
    assert model(x).shape == (2, 5)
    names = set(model.state_dict())
    assert {"patch_embed.proj.weight", "class_token.cls_token", "pos_embedding.pos_embed",
            "encoder.blocks.1.attn.qkv.weight", "norm.weight", "head.weight"} <= names


def test_tiny_vit_is_a_vision_transformer_on_a_7x7_grid():
    model = TinyViT()
    assert isinstance(model, VisionTransformer)
    assert model.patch_embed.grid_size == (7, 7)
    assert model.pos_embedding.pos_embed.shape == (1, 50, 64)


def test_position_embedding_variants():
    none = VisionTransformer(replace(SMALL, position_embedding="none"))
    assert none.pos_embedding is None
    assert "pos_embedding.pos_embed" not in none.state_dict()
    sincos = VisionTransformer(replace(SMALL, position_embedding="sincos"))
    table = sincos.pos_embedding.pos_embed
    assert not table.requires_grad and torch.equal(table[0, 0], torch.zeros(32))
    assert table[0, 1:].abs().sum() > 0


def test_without_pos_embed_patch_order_does_not_matter():
    """Lesson 04's point: without E_pos the encoder is permutation-equivariant, so the class
    token's output ignores where each patch was."""
    torch.manual_seed(0)
    model = VisionTransformer(replace(SMALL, position_embedding="none")).eval()
    tokens = model.patch_embed(torch.randn(1, 3, 32, 32))
    shuffled = tokens[:, torch.randperm(16)]
    out = model.encoder(model.class_token(tokens))[:, 0]
    out_shuffled = model.encoder(model.class_token(shuffled))[:, 0]
    torch.testing.assert_close(out, out_shuffled, atol=1e-5, rtol=1e-5)


def test_config_errors():
    with pytest.raises(ValueError, match="embed_dim 30 is not divisible by num_heads 4"):
        ViTConfig(embed_dim=30, num_heads=4)
    with pytest.raises(ValueError, match=r"position_embedding must be one of .*got 'rope'"):
        ViTConfig(position_embedding="rope")
    with pytest.raises(TypeError, match="config must be a ViTConfig, got dict"):
        VisionTransformer({"embed_dim": 8})


def test_shipped_checkpoint_loads_and_is_accurate():
    from vit_tutorial.data import digits
    from vit_tutorial.train import evaluate

    model = load_tiny_vit()
    assert not model.training
    images, labels = digits("test")
    assert evaluate(model, images, labels) >= 0.95


def test_corrupt_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(TINY_VIT_CHECKPOINT.read_bytes()[:1000])
    with pytest.raises(ValueError, match="could not be read .* the file is corrupt"):
        load_tiny_vit(bad)
    with pytest.raises(ValueError, match=r"corrupt or was replaced: its SHA-256 is"):
        load_tiny_vit(bad, sha256="0" * 64)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_tiny_vit(tmp_path / "missing.pt")


def test_checkpoint_of_another_config(tmp_path):
    other = replace(TINY_VIT_CONFIG, depth=2)
    path = tmp_path / "other.pt"
    torch.save({"config": asdict(other), "state_dict": TinyViT(other).state_dict()}, path)
    with pytest.raises(ValueError, match=r"another configuration \(depth: checkpoint 2, expected 4\)"):
        load_tiny_vit(path)
    assert load_tiny_vit(path, config=other).config.depth == 2
    torch.save({"weights": 1}, path)
    with pytest.raises(ValueError, match="not a TinyViT checkpoint"):
        load_tiny_vit(path)


def test_plot_principal_components():
    import matplotlib.pyplot as plt

    from vit_tutorial.model import plot_principal_components
    from vit_tutorial.patch_embedding import PatchEmbedding, principal_components

    gray = PatchEmbedding(28, 4, 1, 64)
    components, explained = principal_components(gray, k=10)
    fig, axes = plot_principal_components(components, explained, ncols=4, title="t")
    assert axes.shape == (3, 4) and not axes[2, 3].axison  # 10 images, 2 unused slots
    assert len(fig.axes) == 13  # 12 panels + one colour bar
    plt.close(fig)
    rgb = PatchEmbedding(32, 8, 3, 16)
    fig, axes = plot_principal_components(*principal_components(rgb, k=4))
    assert len(fig.axes) == 4  # RGB: no colour bar
    plt.close(fig)
    with pytest.raises(ValueError, match=r"components must have shape \(k, C, P, P\)"):
        plot_principal_components(torch.rand(4, 16), torch.rand(4))
    with pytest.raises(ValueError, match=r"explained must have shape \(10,\)"):
        plot_principal_components(components, explained[:3])
    with pytest.raises(TypeError, match="ncols must be a positive int"):
        plot_principal_components(components, explained, ncols=2.5)


def test_resized_keeps_weights_and_class_token_and_is_a_copy():
    torch.manual_seed(0)
    model = VisionTransformer(SMALL).eval()
    big = model.resized(48)  # 4x4 -> 6x6 grid
    assert big.pos_embedding.pos_embed.shape == (1, 37, 32) and not big.training
    assert torch.equal(big.pos_embedding.pos_embed[0, 0], model.pos_embedding.pos_embed[0, 0])
    assert torch.equal(big.head.weight, model.head.weight)
    with torch.no_grad():
        big.head.weight.zero_()
    assert model.head.weight.abs().sum() > 0  # not shared
    assert big(torch.randn(1, 3, 48, 48)).shape == (1, 5)


def test_resized_sincos_is_rebuilt_and_stays_frozen():
    model = VisionTransformer(replace(SMALL, position_embedding="sincos"))
    big = model.resized(48)
    fresh = VisionTransformer(replace(SMALL, image_size=48, position_embedding="sincos"))
    assert torch.equal(big.pos_embedding.pos_embed, fresh.pos_embedding.pos_embed)
    assert not big.pos_embedding.pos_embed.requires_grad


def test_wrong_image_size_points_to_resized():
    model = VisionTransformer(SMALL)
    with pytest.raises(ValueError, match=r"built for 32x32 images, got 48x48; .*model.resized\(\(48, 48\)\)"):
        model(torch.randn(1, 3, 48, 48))
    with pytest.raises(ValueError, match="image height 50 is not divisible by patch_size 8"):
        model.resized(50)
