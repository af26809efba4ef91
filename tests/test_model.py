"""Lesson 08's model module: Table 1's sizes, the shipped TinyViT and course-model checkpoints and
their loaders, and the accuracy helper."""

from dataclasses import asdict, replace

import pytest
import torch

from vit_tutorial.model import (
    TINY_VIT_CHECKPOINT,
    TINY_VIT_CONFIG,
    TinyViT,
    VisionTransformer,
    evaluate,
    load_tiny_vit,
)


def test_tiny_vit_is_a_vision_transformer_on_a_7x7_grid():
    model = TinyViT()
    assert isinstance(model, VisionTransformer)
    assert model.patch_embed.grid_size == (7, 7)
    assert model.positional_embedding.pos_embed.shape == (1, 50, 64)


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

    with pytest.raises(ValueError, match="trained on centred digits"):
        load_course_model(TINY_VIT_CHECKPOINT)
    with pytest.raises(ValueError, match="not on centred digits as TinyViT is"):
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

    with pytest.raises(TypeError, match="vit_b_16\\(\\) got an unexpected keyword argument 'foo'"):
        vit_b_16(foo=1)
