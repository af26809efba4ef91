"""The composed ViT and the shipped TinyViT checkpoint."""

from dataclasses import asdict, replace

import pytest
import torch

from vit_tutorial.model import (
    TINY_VIT_CHECKPOINT,
    TINY_VIT_CONFIG,
    TinyViT,
    VisionTransformer,
    ViTConfig,
    evaluate,
    load_tiny_vit,
)

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


def test_tiny_vit_is_a_vision_transformer_on_a_7x7_grid():
    model = TinyViT()
    assert isinstance(model, VisionTransformer)
    assert model.patch_embed.grid_size == (7, 7)
    assert model.positional_embedding.pos_embed.shape == (1, 50, 64)


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


def test_shipped_checkpoint_loads_and_is_accurate():
    from vit_tutorial.data import digits

    model = load_tiny_vit()
    assert not model.training
    images, labels = digits("test")
    assert evaluate(model, images, labels) >= 0.95


def test_damaged_or_missing_checkpoint(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(TINY_VIT_CHECKPOINT.read_bytes()[:1000])
    with pytest.raises(ValueError, match=rf"checkpoint {bad} is damaged"):
        load_tiny_vit(bad)
    with pytest.raises(ValueError, match=r"corrupt or was replaced: its SHA-256"):
        load_tiny_vit(bad, sha256="0" * 64)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_tiny_vit(tmp_path / "missing.pt")


def test_checkpoint_of_another_config(tmp_path):
    other = replace(TINY_VIT_CONFIG, depth=2)
    path = tmp_path / "other.pt"
    torch.save({"config": asdict(other), "state_dict": TinyViT(other).state_dict()}, path)
    with pytest.raises(ValueError,
                       match=r"another configuration \(depth: checkpoint 2, expected 4\)"):
        load_tiny_vit(path)
    assert load_tiny_vit(path, config=other).config.depth == 2
    torch.save({"weights": 1}, path)
    with pytest.raises(ValueError, match="not a checkpoint of the course"):
        load_tiny_vit(path)


def test_checkpoint_with_missing_or_misshapen_weights(tmp_path):
    path = tmp_path / "partial.pt"
    state = TinyViT().state_dict()
    del state["head.bias"]
    state["norm.weight"] = torch.ones(3)
    torch.save({"config": asdict(TINY_VIT_CONFIG), "state_dict": state}, path)
    with pytest.raises(ValueError, match=r"missing: head.bias; wrong shape: norm.weight \(3,\)"):
        load_tiny_vit(path)


def test_evaluate_needs_data():
    with pytest.raises(ValueError, match="at least one; got 0 images and 0 labels"):
        evaluate(TinyViT(), torch.zeros(0, 1, 28, 28), torch.zeros(0, dtype=torch.long))


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


@pytest.mark.parametrize("labels, batch_size, error, message", [
    (lambda y: y[:, None], 512, ValueError, r"class indices, .* got torch.int64 of shape "
                                            r"\(40, 1\); for a column"),
    (lambda y: torch.nn.functional.one_hot(y, 10), 512, ValueError, r"one-hot rows\? pass "
                                                                    r"labels.argmax\(-1\)"),
    (lambda y: y.float(), 512, ValueError, "got torch.float32 of shape"),
    (lambda y: y, -1, ValueError, "batch_size must be a positive int, got -1"),
    (lambda y: y, 0, ValueError, "batch_size must be a positive int, got 0"),
    (lambda y: y, 2.5, TypeError, "batch_size must be a positive int, got 2.5"),
])
def test_evaluate_refuses_labels_and_batch_sizes_that_give_no_accuracy(labels, batch_size,
                                                                       error, message):
    """Each of these once returned a number: 36.97 for a column, 0.0 for batch_size=-1."""
    model, y = TinyViT().eval(), torch.arange(40) % 10
    with pytest.raises(error, match=message):
        evaluate(model, torch.rand(40, 1, 28, 28), labels(y), batch_size=batch_size)
    assert 0 <= evaluate(model, torch.rand(40, 1, 28, 28), y, batch_size=7) <= 1


def test_each_loader_refuses_the_other_models_checkpoint():
    """Same configuration, different training: the recipe stored with the weights tells."""
    from vit_tutorial.model import COURSE_MODEL_CHECKPOINT, load_course_model

    with pytest.raises(ValueError, match=r"trained on centred digits \(its stored recipe\), not "
                                         r"on digits placed anywhere .*load_tiny_vit\(path\)"):
        load_course_model(TINY_VIT_CHECKPOINT)
    with pytest.raises(ValueError, match=r"not on centred digits as TinyViT is; load it with "
                                         r"load_course_model\(path\)"):
        load_tiny_vit(COURSE_MODEL_CHECKPOINT)


def test_the_task_names_match_the_shipped_recipes():
    from vit_tutorial.checkpoints import read_checkpoint
    from vit_tutorial.model import (
        _COURSE_MODEL_TASK,
        _TINY_VIT_TASK,
        COURSE_MODEL_CHECKPOINT,
        _training_task,
    )
    from vit_tutorial.train import COURSE_RECIPE, TrainConfig

    for path, recipe, task in ((TINY_VIT_CHECKPOINT, TrainConfig(), _TINY_VIT_TASK),
                               (COURSE_MODEL_CHECKPOINT, COURSE_RECIPE, _COURSE_MODEL_TASK)):
        assert _training_task(read_checkpoint(path)["recipe"]) == task
        assert _training_task(asdict(recipe)) == task


def test_a_path_that_is_not_a_path_is_a_clear_type_error():
    with pytest.raises(TypeError, match=r"path must be a file path \(a str or pathlib.Path\), "
                                        r"got 3 of type int"):
        load_tiny_vit(3)


def test_a_preset_with_an_unknown_keyword_lists_the_valid_ones():
    from vit_tutorial.model import vit_b_16

    with pytest.raises(TypeError, match=r"vit_b_16\(\) got an unexpected keyword argument "
                                        r"'foo'; the keywords are .*image_size, patch_size"):
        vit_b_16(foo=1)


def test_a_huge_image_size_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"E_pos for 1000000x1000000 images .* more than the "
                                         r"course's limit of 268,435,456"):
        ViTConfig(image_size=10 ** 6)
    assert ViTConfig(image_size=4096, patch_size=16).image_size == 4096  # 65,536 patches: fine
