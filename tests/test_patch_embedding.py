"""Lesson 02: PatchEmbedding (Conv2d) and LinearPatchEmbedding (flatten + Linear), Eq. 1."""

import pytest
import torch

from vit_tutorial.patch_embedding import (
    LinearPatchEmbedding,
    PatchEmbedding,
)

CONFIGS = [  # image_size, patch_size, in_channels, embed_dim
    (224, 16, 3, 768),
    ((32, 48), 16, 3, 24),  # non-square image
    (28, 4, 1, 32),  # digits
    ((24, 36), (8, 12), 2, 10),  # non-square patches
]


@pytest.mark.parametrize("image_size, patch_size, C, D", CONFIGS)
def test_shapes_and_attributes(image_size, patch_size, C, D):
    embed = PatchEmbedding(image_size, patch_size, C, D)
    H, W = embed.image_size
    x = torch.rand(2, C, H, W)
    gh, gw = embed.grid_size
    assert embed.num_patches == gh * gw
    assert embed(x).shape == (2, gh * gw, D)
    assert LinearPatchEmbedding(image_size, patch_size, C, D)(x).shape == (2, gh * gw, D)


def test_defaults_are_vit_b16():
    embed = PatchEmbedding()
    assert (embed.image_size, embed.patch_size, embed.grid_size, embed.num_patches) == \
        ((224, 224), (16, 16), (14, 14), 196)
    assert embed.proj.weight.shape == (768, 3, 16, 16)
    assert list(dict(embed.named_parameters())) == ["proj.weight", "proj.bias"]
    assert sum(p.numel() for p in embed.parameters()) == 768 * 768 + 768


@pytest.mark.parametrize("image_size, patch_size, C, D", CONFIGS)
def test_conv_and_linear_are_the_same_function(image_size, patch_size, C, D):
    torch.manual_seed(0)
    conv = PatchEmbedding(image_size, patch_size, C, D)
    linear = LinearPatchEmbedding.from_conv(conv)
    x = torch.randn(3, C, *conv.image_size)
    torch.testing.assert_close(linear(x), conv(x))
    back = linear.to_conv()
    torch.testing.assert_close(back(x), conv(x))
    assert torch.equal(back.proj.weight, conv.proj.weight)
    # and from a freshly initialised Linear, too
    other = LinearPatchEmbedding(image_size, patch_size, C, D)
    torch.testing.assert_close(other.to_conv()(x), other(x))


def test_weight_copy_is_a_copy():
    conv = PatchEmbedding(32, 16, 3, 8)
    linear = LinearPatchEmbedding.from_conv(conv)
    with torch.no_grad():
        linear.proj.weight.zero_()
    assert conv.proj.weight.abs().sum() > 0


def test_weight_copy_keeps_dtype():
    conv = PatchEmbedding(32, 16, 3, 8).double()
    linear = LinearPatchEmbedding.from_conv(conv)
    assert linear.proj.weight.dtype == torch.float64


def test_from_conv_type_error():
    with pytest.raises(TypeError, match="from_conv expects a PatchEmbedding, got Conv2d"):
        LinearPatchEmbedding.from_conv(torch.nn.Conv2d(3, 8, 16, 16))


def test_gradient_reaches_projection():
    embed = PatchEmbedding(32, 16, 3, 8)
    embed(torch.rand(2, 3, 32, 32)).sum().backward()
    assert embed.proj.weight.grad.abs().sum() > 0


def test_agrees_with_timm_patch_embed():
    from timm.layers import PatchEmbed

    torch.manual_seed(0)
    reference = PatchEmbed(img_size=224, patch_size=16, in_chans=3, embed_dim=768)
    ours = PatchEmbedding(224, 16, 3, 768)
    ours.load_state_dict(reference.state_dict())  # same key names: proj.weight, proj.bias
    x = torch.randn(4, 3, 224, 224)
    torch.testing.assert_close(ours(x), reference(x), rtol=0, atol=1e-6)


def test_agrees_with_timm_non_square():
    from timm.layers import PatchEmbed

    reference = PatchEmbed(img_size=(32, 48), patch_size=(8, 16), in_chans=2, embed_dim=12)
    ours = PatchEmbedding((32, 48), (8, 16), 2, 12)
    ours.load_state_dict(reference.state_dict())
    x = torch.randn(2, 2, 32, 48)
    torch.testing.assert_close(ours(x), reference(x), rtol=0, atol=1e-6)


def test_agrees_with_torchvision_conv_proj():
    from torchvision.models import vit_b_16

    torch.manual_seed(0)
    reference = vit_b_16().eval()  # random weights, nothing downloaded
    ours = PatchEmbedding()
    ours.proj.load_state_dict(reference.conv_proj.state_dict())
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected = reference._process_input(x)  # conv_proj, then (B, D, N) -> (B, N, D)
        torch.testing.assert_close(ours(x), expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("x, error, message", [
    (torch.rand(3, 224, 224), ValueError,
     r"expects a batch of images \(B, C, H, W\), got 3 dimensions .*images.unsqueeze\(0\)"),
    (torch.rand(2, 1, 224, 224), ValueError,
     r"built for in_channels=3, got images with 1 channels .* in_channels=1"),
    (torch.rand(2, 3, 384, 384), ValueError,
     r"built for 224x224 images, got 384x384; resize the images to 224x224 or build it with "
     r"image_size=\(384, 384\)"),
    (torch.zeros(2, 3, 224, 224, dtype=torch.uint8), TypeError,
     r"expects floating-point images, got dtype torch.uint8.*ToDtype"),
    ([[0.0]], TypeError, r"images must be a torch.Tensor, got list"),
])
def test_forward_errors(x, error, message):
    for module in (PatchEmbedding(), LinearPatchEmbedding()):
        with pytest.raises(error, match=message):
            module(x)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(image_size=225), ValueError, r"image height 225 is not divisible by patch_size 16"),
    (dict(image_size=(224, 200)), ValueError,
     r"image width 200 is not divisible by patch_size 16.*192"),
    (dict(patch_size=0), ValueError, r"patch_size must be a positive int, got 0"),
    (dict(in_channels=0), ValueError, r"in_channels must be a positive int, got 0"),
    (dict(embed_dim=76.8), TypeError, r"embed_dim must be a positive int, got 76\.8"),
    (dict(image_size="224"), TypeError, r"image_size must be an int or an \(h, w\) pair"),
])
def test_constructor_errors(kwargs, error, message):
    for cls in (PatchEmbedding, LinearPatchEmbedding):
        with pytest.raises(error, match=message):
            cls(**kwargs)


def test_principal_components_of_filters():
    from vit_tutorial.patch_embedding import principal_components

    torch.manual_seed(0)
    embed = PatchEmbedding(32, 4, 1, 64)
    with torch.no_grad():  # filters that vary along one direction only, plus tiny noise
        direction = torch.randn(1, 1, 4, 4)
        embed.proj.weight.copy_(torch.randn(64, 1, 1, 1) * direction
                                + 1e-4 * torch.randn(64, 1, 4, 4))
    components, explained = principal_components(embed, k=3)
    assert components.shape == (3, 1, 4, 4) and explained.shape == (3,)
    assert explained[0] > 0.99 and torch.all(explained[:-1] >= explained[1:])
    cosine = torch.nn.functional.cosine_similarity(
        components[0].flatten(), direction.flatten(), dim=0)
    assert abs(cosine.item()) > 0.999
    torch.testing.assert_close(components.flatten(1).norm(dim=1), torch.ones(3))
    with pytest.raises(ValueError, match=r"k must be at most min\(D, C·P·P\) = 16, got 17"):
        principal_components(embed, k=17)
    with pytest.raises(TypeError, match="expects a PatchEmbedding"):
        principal_components(embed.proj)


def test_a_channels_last_batch_or_another_dtype_says_what_to_do():
    embed = PatchEmbedding(32, 4, 3, 8)
    with pytest.raises(ValueError, match=r"look channels-last \(B, H, W, C\); use "
                                         r"images.permute\(0, 3, 1, 2\)"):
        embed(torch.rand(2, 32, 32, 3))
    with pytest.raises(TypeError, match=r"weights are torch.float32 but the images are "
                                        r"torch.float64"):
        embed(torch.rand(2, 3, 32, 32, dtype=torch.float64))
