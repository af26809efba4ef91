"""Loading real weights: never downloads under CI or without being asked."""

import pytest
import torch

from vit_tutorial import weights
from vit_tutorial.weights import WeightsUnavailable, torchvision_pretrained_state_dict


@pytest.fixture
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    return tmp_path


def test_no_download_unless_asked(empty_cache, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(WeightsUnavailable, match="not in torch's cache, and download=False"):
        torchvision_pretrained_state_dict()


def test_never_downloads_under_ci(empty_cache, monkeypatch):
    monkeypatch.setenv("CI", "true")
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url",
                        lambda *a, **k: pytest.fail("tried to download"))
    with pytest.raises(WeightsUnavailable, match="running under CI"):
        torchvision_pretrained_state_dict(download=True)


def test_offline_is_reported(empty_cache, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setattr(weights, "_reachable", lambda host, timeout: False)
    with pytest.raises(WeightsUnavailable, match=r"no connection to download\.pytorch\.org"):
        torchvision_pretrained_state_dict(download=True)


def test_loads_from_the_cache(empty_cache):
    (empty_cache / "checkpoints").mkdir()
    torch.save({"encoder.pos_embedding": torch.ones(1, 197, 768)},
               empty_cache / "checkpoints" / "vit_b_16-c867db91.pth")
    state = torchvision_pretrained_state_dict()
    assert state["encoder.pos_embedding"].shape == (1, 197, 768)


def test_unknown_weights():
    with pytest.raises(ValueError, match="torchvision has no weights vit_b_16.IMAGENET9K"):
        torchvision_pretrained_state_dict(weights="IMAGENET9K")


# --- converting torchvision and timm models (random weights, nothing downloaded) ----------

from collections import OrderedDict  # noqa: E402

import timm  # noqa: E402
import torchvision  # noqa: E402

from vit_tutorial.model import vit_b_16  # noqa: E402
from vit_tutorial.weights import convert_state_dict, from_timm, from_torchvision  # noqa: E402


def _randomise(model, std=0.05):
    """torchvision starts its head at zero: give every weight a random value, so that equal
    logits mean something."""
    torch.manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, std)
    return model.eval()


def _small_torchvision(**kw):
    return torchvision.models.VisionTransformer(image_size=32, patch_size=8, num_layers=2,
                                                num_heads=4, hidden_dim=64, mlp_dim=128,
                                                num_classes=7, **kw)


def _small_timm(**kw):
    args = dict(img_size=32, patch_size=8, embed_dim=64, depth=2, num_heads=4, num_classes=7)
    return timm.models.vision_transformer.VisionTransformer(**{**args, **kw})


def test_small_torchvision_logits():
    reference = _randomise(_small_torchvision())
    ours = from_torchvision(reference)
    assert not ours.training and ours.config.depth == 2 and ours.config.num_classes == 7
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), atol=1e-4, rtol=0)


def test_small_timm_logits_non_square():
    reference = _randomise(_small_timm(img_size=(32, 48)))
    ours = from_timm(reference)
    assert ours.patch_embed.grid_size == (4, 6)
    x = torch.randn(2, 3, 32, 48)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), atol=1e-4, rtol=0)


@pytest.fixture(scope="module")
def torchvision_b16():
    return _randomise(torchvision.models.vit_b_16(), std=0.02)


@pytest.mark.slow  # ViT-B/16 itself: seconds; the small models above run in the quick loop
def test_vit_b16_from_torchvision_and_timm_at_224(torchvision_b16):
    x = torch.randn(1, 3, 224, 224)
    tv = torchvision_b16
    tm = _randomise(timm.create_model("vit_base_patch16_224", pretrained=False), std=0.02)
    with torch.no_grad():
        torch.testing.assert_close(from_torchvision(tv)(x), tv(x), atol=1e-4, rtol=0)
        torch.testing.assert_close(from_timm(tm)(x), tm(x), atol=1e-4, rtol=0)


@pytest.mark.slow  # ViT-B/16 itself: seconds; the small models above run in the quick loop
def test_vit_b16_at_384_matches_torchvisions_own_path(torchvision_b16):
    """Lesson 06's interpolation with torchvision's settings (bicubic, align_corners=True)
    reproduces torchvision's interpolate_embeddings + vit_b_16(image_size=384)."""
    from torchvision.models.vision_transformer import interpolate_embeddings

    tv224 = torchvision_b16
    state = interpolate_embeddings(384, 16, OrderedDict(tv224.state_dict()))
    tv384 = torchvision.models.vit_b_16(image_size=384).eval()
    tv384.load_state_dict(state)
    ours384 = from_torchvision(tv224).resized(384, align_corners=True)
    assert ours384.positional_embedding.pos_embed.shape == (1, 577, 768)
    x = torch.randn(1, 3, 384, 384)
    with torch.no_grad():
        torch.testing.assert_close(ours384(x), tv384(x), atol=1e-4, rtol=0)


def test_parameter_count_equals_torchvision():
    with torch.device("meta"):
        ours = sum(p.numel() for p in vit_b_16().parameters())
        theirs = sum(p.numel() for p in torchvision.models.vit_b_16().parameters())
    assert ours == theirs == 86_567_656


@pytest.mark.parametrize("kwargs, variant", [
    (dict(global_pool="avg"), "global pooling 'avg'"),
    (dict(class_token=False, global_pool="avg"), "no class token"),
    (dict(init_values=1e-5), "layer scale"),
    (dict(qk_norm=True), "qk-norm"),
    (dict(qkv_bias=False), "attention without qkv bias"),
    (dict(pre_norm=True), "a LayerNorm before the blocks"),
    (dict(act_layer=torch.nn.ReLU), "a different activation"),
    (dict(norm_layer=torch.nn.Identity), "a different norm layer"),
    (dict(num_classes=0), "no classification head"),
])
def test_unsupported_timm_variants(kwargs, variant):
    with pytest.raises(ValueError, match=rf"unsupported timm ViT variant: {variant}"):
        from_timm(_small_timm(**kwargs))


def test_unsupported_torchvision_variants():
    with pytest.raises(ValueError,
                       match="unsupported torchvision ViT variant: a head with a pre-logits"):
        from_torchvision(_small_torchvision(representation_size=32))


def test_wrong_library_and_wrong_keys():
    with pytest.raises(TypeError, match="expects a torchvision VisionTransformer"):
        from_torchvision(_small_timm())
    with pytest.raises(TypeError, match="expects a timm VisionTransformer"):
        from_timm(_small_torchvision())
    with pytest.raises(ValueError, match="doesn't match the timm ViT layout"):
        convert_state_dict(_small_torchvision().state_dict(), "timm")
    with pytest.raises(ValueError, match=r"likely cause: these look like timm keys"):
        convert_state_dict(_small_timm().state_dict(), "torchvision")
    prefixed = {f"module.{k}": v for k, v in _small_timm().state_dict().items()}
    with pytest.raises(ValueError, match=r"'module\.' \(saved from DataParallel\)"):
        convert_state_dict(prefixed, "timm")
    with pytest.raises(ValueError, match="source must be 'torchvision', 'timm' or "
                                         "'timm-naflex', got 'jax'"):
        convert_state_dict({}, "jax")


def test_state_dict_of_another_size():
    from vit_tutorial.model import ViTConfig
    from vit_tutorial.weights import _load

    state = convert_state_dict(_small_timm().state_dict(), "timm")
    config = ViTConfig(image_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=4,
                       mlp_dim=64, num_classes=7)
    with pytest.raises(ValueError, match="the timm weights don't fit a ViT of config"):
        _load(config, state, "timm")


@pytest.mark.parametrize("kwargs", [dict(reg_tokens=4), dict(reg_tokens=4, no_embed_class=True),
                                    dict(no_embed_class=True)])
def test_from_timm_with_registers_and_either_pos_embed_layout(kwargs):
    """timm's register tokens (lesson 10) and its no_embed_class layout convert exactly."""
    from timm.models.vision_transformer import VisionTransformer as TimmViT

    torch.manual_seed(0)
    reference = TimmViT(img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=4,
                        num_classes=5, **kwargs).eval()
    with torch.no_grad():
        for parameter in reference.parameters():  # every weight random, registers too
            parameter.normal_(0, 0.5)
    ours = from_timm(reference).eval()
    assert ours.config.num_register_tokens == kwargs.get("reg_tokens", 0)
    assert ours.config.prefix_pos_embed == (not kwargs.get("no_embed_class", False))
    images = torch.rand(2, 3, 32, 32)
    torch.testing.assert_close(ours(images), reference(images), rtol=0, atol=1e-4)
    z = ours.embed(images)  # class token, then the registers, then the 16 patches
    assert z.shape == (2, 1 + kwargs.get("reg_tokens", 0) + 16, 32)
