"""Lesson 03: the class token x_class."""

import pytest
import torch

from vit_tutorial.class_token import ClassToken, prepend_class_token


@pytest.mark.parametrize("B, N, D", [(1, 196, 768), (4, 49, 32), (2, 6, 8), (3, 1, 1)])
def test_prepend_shapes_and_position(B, N, D):
    tokens = torch.randn(B, N, D)
    cls = torch.randn(1, 1, D)
    out = prepend_class_token(tokens, cls)
    assert out.shape == (B, N + 1, D)
    assert torch.equal(out[:, 0], cls[0].expand(B, D))  # first, not last
    assert torch.equal(out[:, 1:], tokens)


def test_unbatched_and_vector_forms():
    tokens, cls = torch.randn(196, 768), torch.randn(768)
    out = prepend_class_token(tokens, cls)
    assert out.shape == (197, 768)
    assert torch.equal(out[0], cls)
    assert torch.equal(prepend_class_token(tokens, cls.reshape(1, 1, 768)), out)


def test_class_token_module():
    module = ClassToken(768)
    assert list(dict(module.named_parameters())) == ["cls_token"]
    assert module.cls_token.shape == (1, 1, 768)
    assert torch.equal(module.cls_token, torch.zeros(1, 1, 768))  # the original code's init
    assert module(torch.randn(2, 196, 768)).shape == (2, 197, 768)


def test_randn_init_is_seeded_normal():
    torch.manual_seed(0)
    module = ClassToken(4096, init="randn")
    assert 0.9 < module.cls_token.std().item() < 1.1


def test_gradient_reaches_cls_token():
    torch.manual_seed(0)
    module = ClassToken(8)
    out = module(torch.randn(3, 5, 8))
    loss = (out[:, 0] * torch.randn(3, 8)).sum()
    loss.backward()
    assert module.cls_token.grad.shape == (1, 1, 8)
    assert module.cls_token.grad.abs().sum() > 0


def test_batch_shares_one_token():
    """Every image gets the same vector; its gradient is the sum over the batch."""
    module = ClassToken(4, init="randn")
    out = module(torch.zeros(3, 2, 4))
    out[:, 0].sum().backward()
    assert torch.equal(module.cls_token.grad, torch.full((1, 1, 4), 3.0))


def test_matches_timm_concat():
    """timm's VisionTransformer._pos_embed concatenates cls_token.expand(B, -1, -1) first."""
    torch.manual_seed(0)
    tokens, cls = torch.randn(2, 196, 768), torch.randn(1, 1, 768)
    expected = torch.cat([cls.expand(2, -1, -1), tokens], dim=1)
    assert torch.equal(prepend_class_token(tokens, cls), expected)


@pytest.mark.parametrize("tokens, cls, error, message", [
    (torch.randn(2, 196, 512), torch.zeros(1, 1, 768), ValueError,
     r"tokens have embedding dimension 512 but cls_token has 768; "
     r"build the class token with embed_dim=512"),
    (torch.randn(196), torch.zeros(1, 1, 768), ValueError,
     r"tokens must have shape \(B, N, D\) or \(N, D\), got 1 dimensions"),
    (torch.randn(2, 2, 196, 768), torch.zeros(1, 1, 768), ValueError, r"got 4 dimensions"),
    (torch.randn(2, 196, 768), torch.zeros(2, 1, 768), ValueError,
     r"cls_token must have shape \(1, 1, D\) or \(D,\), got \(2, 1, 768\)"),
    (torch.randn(2, 196, 768), torch.zeros(1, 768), ValueError, r"got \(1, 768\)"),
    (torch.randn(2, 196, 768), torch.tensor(1.0), ValueError, r"got \(\)"),
    ([[0.0]], torch.zeros(1, 1, 768), TypeError, r"tokens must be a torch.Tensor, got list"),
    (torch.randn(2, 196, 768), None, TypeError, r"cls_token must be a torch.Tensor, got NoneType"),
])
def test_prepend_errors(tokens, cls, error, message):
    with pytest.raises(error, match=message):
        prepend_class_token(tokens, cls)


def test_module_errors():
    with pytest.raises(ValueError, match=r"init must be 'zeros' or 'randn', got 'ones'"):
        ClassToken(8, init="ones")
    with pytest.raises(ValueError, match=r"embed_dim must be a positive int, got 0"):
        ClassToken(0)
    with pytest.raises(ValueError, match=r"tokens have embedding dimension 4 but cls_token has 8"):
        ClassToken(8)(torch.randn(1, 3, 4))


@pytest.mark.parametrize("dtype", [torch.long, torch.bool])
def test_non_float_tokens_are_refused_not_truncated(dtype):
    with pytest.raises(TypeError, match=f"tokens must be floating point, got dtype {dtype}"):
        prepend_class_token(torch.ones(2, 3, 4, dtype=dtype), torch.full((1, 1, 4), 0.7))


def test_mixed_float_dtypes_are_promoted_never_rounded():
    out = prepend_class_token(torch.ones(2, 3, 4), torch.full((1, 1, 4), 0.7, dtype=torch.float64))
    assert out.dtype == torch.float64 and out[0, 0, 0].item() == 0.7
