"""Lesson 01: image_to_patches, patches_to_image, num_patches."""

import pytest
import torch
import torch.nn.functional as F

from vit_tutorial.patches import (
    image_to_patches,
    num_patches,
    patches_to_image,
)

SIZES = [  # (image_size (H, W), patch_size (P_h, P_w), C)
    ((224, 224), (16, 16), 3),
    ((32, 48), (16, 16), 3),  # non-square image
    ((28, 28), (4, 4), 1),  # the digits lessons: 7x7 grid, grayscale
    ((24, 36), (8, 12), 2),  # non-square patches
    ((16, 16), (16, 16), 3),  # a single patch
]


@pytest.mark.parametrize("image_size, patch_size, C", SIZES)
def test_shapes_batched_and_single(image_size, patch_size, C):
    (H, W), (ph, pw) = image_size, patch_size
    N = (H // ph) * (W // pw)
    x = torch.rand(2, C, H, W)
    assert image_to_patches(x, patch_size).shape == (2, N, C * ph * pw)
    assert image_to_patches(x[0], patch_size).shape == (N, C * ph * pw)
    assert num_patches(image_size, patch_size) == N


def test_vit_b16_numbers():
    assert num_patches(224, 16) == 196
    assert image_to_patches(torch.zeros(3, 224, 224), 16).shape == (196, 768)
    assert num_patches(384, 16) == 576  # Sec. 3.2 fine-tuning resolution


@pytest.mark.parametrize("image_size, patch_size, C", SIZES)
def test_round_trip_is_exact(image_size, patch_size, C):
    x = torch.randn(3, C, *image_size)
    patches = image_to_patches(x, patch_size)
    assert torch.equal(patches_to_image(patches, patch_size, image_size), x)
    assert torch.equal(patches_to_image(patches[1], patch_size, image_size), x[1])


@pytest.mark.parametrize("image_size, patch_size, C", SIZES)
def test_agrees_with_unfold(image_size, patch_size, C):
    """torch's own im2col (F.unfold) gives the same (C, P, P)-ordered, row-major patches."""
    x = torch.randn(2, C, *image_size)
    expected = F.unfold(x, kernel_size=patch_size, stride=patch_size).transpose(1, 2)
    torch.testing.assert_close(image_to_patches(x, patch_size), expected, rtol=0, atol=0)


def test_patch_vector_order_is_c_p_p_and_row_major():
    x = torch.arange(2 * 4 * 6).reshape(1, 2, 4, 6)  # C=2, H=4, W=6, P=2 -> 2x3 grid
    patches = image_to_patches(x, 2)
    # patch 1 is the top row's second patch: columns 2..3 of rows 0..1, channel 0 then 1
    assert patches[0, 1].tolist() == x[0, :, 0:2, 2:4].reshape(-1).tolist()
    # patch 3 starts the second row of patches
    assert patches[0, 3].tolist() == x[0, :, 2:4, 0:2].reshape(-1).tolist()


def test_matches_conv2d_weight_layout():
    """Conv2d.weight.reshape(D, -1) applied to our patch vectors is the convolution."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 5, kernel_size=(4, 8), stride=(4, 8))
    x = torch.randn(2, 3, 16, 32)
    by_conv = conv(x).flatten(2).transpose(1, 2)  # (B, N, D)
    by_matmul = image_to_patches(x, (4, 8)) @ conv.weight.reshape(5, -1).T + conv.bias
    torch.testing.assert_close(by_matmul, by_conv)


def test_keeps_dtype_and_gradient():
    x = torch.randint(0, 255, (3, 32, 32), dtype=torch.uint8)
    assert image_to_patches(x, 16).dtype == torch.uint8
    y = torch.randn(1, 3, 32, 32, requires_grad=True)
    image_to_patches(y, 16).sum().backward()
    assert torch.equal(y.grad, torch.ones_like(y))


def test_works_on_non_contiguous_input():
    x = torch.randn(2, 32, 48, 3).permute(0, 3, 1, 2)  # channels-last view
    torch.testing.assert_close(image_to_patches(x, 16), image_to_patches(x.contiguous(), 16))


@pytest.mark.parametrize("bad, message", [
    (torch.rand(3, 225, 224),
     r"image height 225 is not divisible by patch_size 16; resize or crop .* 224"),
    (torch.rand(3, 224, 230), r"image width 230 is not divisible by patch_size 16.*\(e\.g\. 224\)"),
    (torch.rand(3, 8, 8), r"image height 8 is not divisible by patch_size 16.*\(e\.g\. 16\)"),
    (torch.rand(224, 224), r"\(B, C, H, W\) or \(C, H, W\), got 2 dimensions.*unsqueeze\(0\)"),
    (torch.rand(1, 1, 3, 32, 32), r"got 5 dimensions"),
])
def test_image_to_patches_value_errors(bad, message):
    with pytest.raises(ValueError, match=message):
        image_to_patches(bad, 16)


@pytest.mark.parametrize("patch_size, error, message", [
    (0, ValueError, r"patch_size must be a positive int, got 0"),
    (-4, ValueError, r"patch_size must be a positive int, got -4"),
    (16.0, TypeError,
     r"patch_size must be an int or an \(h, w\) pair of ints, got 16\.0 of type float"),
    ("16", TypeError, r"got '16' of type str"),
    (True, TypeError, r"got True of type bool"),
    ((16, 16, 16), ValueError, r"an int or an \(h, w\) pair, got \(16, 16, 16\) with 3 entries"),
    ((16, 0), ValueError, r"patch_size\[1\] \(width\) must be a positive int, got 0"),
    ((16, 8.5), TypeError, r"patch_size\[1\] \(width\) must be a positive int, got 8\.5"),
])
def test_bad_patch_sizes(patch_size, error, message):
    with pytest.raises(error, match=message):
        image_to_patches(torch.rand(3, 32, 32), patch_size)
    with pytest.raises(error, match=message):
        num_patches(32, patch_size)


def test_non_tensor_inputs():
    import numpy as np

    with pytest.raises(TypeError,
                       match=r"images must be a torch.Tensor, got ndarray.*torch.from_numpy"):
        image_to_patches(np.zeros((3, 32, 32)), 16)
    with pytest.raises(TypeError, match=r"images must be a torch.Tensor, got list"):
        image_to_patches([[0.0]], 16)
    with pytest.raises(TypeError, match=r"patches must be a torch.Tensor"):
        patches_to_image(np.zeros((4, 768)), 16, 32)


def test_num_patches_errors():
    with pytest.raises(ValueError, match=r"image height 225 is not divisible by patch_size 16"):
        num_patches(225, 16)
    with pytest.raises(ValueError, match=r"image_size must be a positive int, got -224"):
        num_patches(-224, 16)


@pytest.mark.parametrize("patches, image_size, message", [
    (torch.rand(5, 768), 32,
     r"expected 4 patches for a 32x32 image with 16x16 patches \(2x2 grid\), got 5"),
    (torch.rand(1, 4, 700), 32,
     r"should hold C·16·16 values, got 700, which is not a multiple of 256"),
    (torch.rand(768), 32, r"\(B, N, C·P·P\) or \(N, C·P·P\), got 1 dimensions"),
    (torch.rand(4, 768), 33, r"image height 33 is not divisible by patch_size 16"),
])
def test_patches_to_image_errors(patches, image_size, message):
    with pytest.raises(ValueError, match=message):
        patches_to_image(patches, 16, image_size)


def test_numpy_integers_are_accepted_as_sizes():
    import numpy as np

    assert num_patches(np.int64(224), np.int32(16)) == 196
    assert image_to_patches(torch.zeros(3, 32, 32), (np.int64(16), 16)).shape == (4, 768)


def test_a_wrong_patch_size_does_not_change_the_channel_count():
    """(1, 4, 768) patches of 16x16 pixels read as 8x8 would give a 12-channel image."""
    patches = image_to_patches(torch.rand(1, 3, 32, 32), 16)
    with pytest.raises(ValueError, match="would give C = 12 channels, and an image has 1 to 4"):
        patches_to_image(patches, 8, 16)
    features = torch.rand(2, 12, 16, 16)  # a feature map: say how many channels it has
    assert torch.equal(patches_to_image(image_to_patches(features, 8), 8, 16, in_channels=12),
                       features)
    with pytest.raises(ValueError, match=r"C·P·P = 3·8·8 = 192 values, got 768"):
        patches_to_image(patches, 8, 16, in_channels=3)
