"""Lesson 02's explorer (vit_tutorial.explorers.patch_embedding): the pure function, then
the widget driven from code."""

import pytest
import torch

from vit_tutorial.explorers.patch_embedding import patch_embedding_explorer, patch_embedding_view

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_patch_embedding_view_is_lesson_02s_embedding():
    from vit_tutorial.data import grace_hopper
    from vit_tutorial.patch_embedding import PatchEmbedding
    from vit_tutorial.patches import image_to_patches

    state = torch.random.get_rng_state()
    view = patch_embedding_view(78)
    assert torch.equal(torch.random.get_rng_state(), state)  # the reader's RNG untouched
    image = grace_hopper(224)
    torch.manual_seed(0)
    embed = PatchEmbedding(224, 16, 3, 768)
    with torch.no_grad():
        expected = embed(image.unsqueeze(0))[0, 78]  # (1, N, D) -> (D,)
    torch.testing.assert_close(view.embedding, expected)
    torch.testing.assert_close(view.patch_vector, image_to_patches(image, 16)[78])
    assert (view.row, view.column) == (5, 8)
    assert view.png.startswith(PNG_SIGNATURE) and view.png != patch_embedding_view(0).png


def test_patch_embedding_view_bad_index():
    with pytest.raises(ValueError, match=r"index must be from 0 to 195 \(the 14×14 patches\), "
                                         r"got 196"):
        patch_embedding_view(196)
    with pytest.raises(ValueError, match=r"index must be from 0 to 48 \(the 7×7 patches\)"):
        patch_embedding_view(49, patch_size=32)


def test_patch_embedding_view_takes_numpy_integers():
    import numpy as np

    view = patch_embedding_view(np.int64(78))
    assert view.index == 78 and type(view.index) is int
    assert view.png == patch_embedding_view(78).png


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(image_size=100000), ValueError, "image_size must be from 32 to 448, got 100000"),
    (dict(embed_dim=10**9), ValueError, "embed_dim must be from 1 to 1280, got 1000000000"),
    (dict(embed_dim=1281), ValueError, "embed_dim must be from 1 to 1280, got 1281"),
    (dict(patch_size=100000), ValueError, "patch_size must be from 1 to 64, got 100000"),
    (dict(patch_size=15), ValueError, "image height 224 is not divisible by patch_size 15"),
    (dict(index=(3,)), TypeError, r"index must be an int from 0 to 195 \(the 14×14 patches\), "
                                  r"got \(3,\) of type tuple; pass one int, not a tuple"),
    (dict(index=[]), TypeError, "got \\[\\] of type list; pass one int, not a list"),
])
def test_patch_embedding_view_refuses_bad_settings_before_allocating(kwargs, error, message):
    # A 100000-pixel photo would be 35 GB; D = 10⁹ a 3 TB projection.
    with pytest.raises(error, match=message):
        patch_embedding_view(**kwargs)


def test_patch_embedding_explorer():
    explorer = patch_embedding_explorer()
    assert explorer.view.index == 78 and (explorer.index.min, explorer.index.max) == (0, 195)
    before = explorer.image.value
    explorer.index.value = 0
    assert explorer.view.index == 0 and explorer.image.value != before
    assert explorer.readout_text.startswith("patch n = 0 of N = 196: grid row 0, column 0")


@pytest.mark.parametrize("index", [196, -1])
def test_patch_embedding_explorer_rejects_an_index_off_the_grid(index):
    with pytest.raises(ValueError, match=rf"index must be from 0 to 195 \(the 14×14 patches\), "
                                         rf"got {index}"):
        patch_embedding_explorer(index)


def test_patch_embedding_explorer_class_rejects_an_index_off_the_grid():
    from vit_tutorial.explorers.patch_embedding import PatchEmbeddingExplorer

    with pytest.raises(ValueError, match=r"index must be from 0 to 195 \(the 14×14 patches\), "
                                         r"got 500"):
        PatchEmbeddingExplorer(500)  # an IntSlider would clamp it to 195


@pytest.mark.parametrize("index", [78.0, True])
def test_patch_embedding_explorer_rejects_a_non_int_index(index):
    with pytest.raises(TypeError, match="index must be an int from 0 to 195"):
        patch_embedding_explorer(index)
