r"""Lesson 10, part 3 — registers (Darcet et al., ICLR 2024): how large the patch tokens'
outputs are, and which are outliers (see :mod:`vit_tutorial.after_the_paper`)."""

from __future__ import annotations

from typing import NamedTuple

import torch

from vit_tutorial.checks import check_num_prefix_tokens, check_positive_number, check_tensor

__all__ = ["token_norms", "HighNormTokens", "high_norm_tokens"]


def token_norms(tokens: torch.Tensor, num_prefix_tokens: int = 1) -> torch.Tensor:
    r"""The L2 norm $\lVert z^i_\ell \rVert$ of every patch token (Darcet et al. 2024).

    "Vision Transformers Need Registers" finds that large, long-trained ViTs (DINOv2,
    OpenCLIP, DeiT III) turn a small share of patch tokens into outliers whose output norms
    are many times the others', mostly in patches that look like their neighbours
    (background). Their attention maps show these tokens as bright specks.

    Args:
        tokens: a layer's output ``(B, prefix + N, D)``, or ``(prefix + N, D)``.
        num_prefix_tokens: tokens in front of the patches, left out (class token, registers).

    Returns:
        The norms of the $N$ patch tokens, in ``tokens``' dtype.

    Shapes:
        ``(B, prefix + N, D)`` -> ``(B, N)``; ``(prefix + N, D)`` -> ``(N,)``
    """
    check_tensor(tokens, "tokens")
    k = check_num_prefix_tokens(num_prefix_tokens)
    if tokens.ndim not in (2, 3) or not tokens.is_floating_point():
        raise ValueError(f"tokens must be a floating-point layer output (B, T, D) or (T, D), got "
                         f"{tokens.dtype} of shape {tuple(tokens.shape)}")
    if tokens.shape[-2] <= k:
        raise ValueError(f"num_prefix_tokens={k} leaves no patch tokens in {tokens.shape[-2]} "
                         f"tokens; pass the number of class and register tokens (usually 1)")
    return torch.linalg.vector_norm(tokens[..., k:, :], dim=-1)  # (B, T, D) -> (B, N, D) -> (B, N)


class HighNormTokens(NamedTuple):
    """What :func:`high_norm_tokens` returns (``(B, ...)`` shapes; no ``B`` for one image)."""

    norms: torch.Tensor  #: ``(B, N)`` patch-token norms
    median: torch.Tensor  #: ``(B,)`` each image's median norm
    threshold: torch.Tensor  #: ``(B,)`` factor × median
    mask: torch.Tensor  #: ``(B, N)`` bool, True for the outliers
    share: torch.Tensor  #: ``()`` fraction of all patch tokens that are outliers


def high_norm_tokens(tokens: torch.Tensor, num_prefix_tokens: int = 1, *,
                     factor: float = 2.0) -> HighNormTokens:
    r"""Find the high-norm outlier tokens: norm above ``factor`` × the image's median norm.

    Darcet et al. (2024) call a DINOv2 ViT-g token an outlier when its output norm exceeds a
    fixed cutoff read off the bimodal histogram of norms (150 there). A cutoff relative to
    each image's median, as here, needs no tuning per model; for the paper's rule use
    ``token_norms(tokens) > 150``.

    Args:
        tokens: a layer's output ``(B, prefix + N, D)`` or ``(prefix + N, D)``.
        num_prefix_tokens: tokens in front of the patches, left out.
        factor: how many medians make an outlier; > 1.

    Returns:
        :class:`HighNormTokens` ``(norms, median, threshold, mask, share)``.

    Shapes:
        norms, mask ``(B, N)``; median, threshold ``(B,)``; share ``()``. Without ``B``
        for a single ``(prefix + N, D)`` sequence.
    """
    factor = check_positive_number(factor, "factor", "e.g. 2.0 (twice the median norm)")
    if factor <= 1:
        raise ValueError(f"factor must be greater than 1, got {factor}; at or below 1 about "
                         f"half the tokens would count as outliers; try 2.0")
    norms = token_norms(tokens, num_prefix_tokens)  # (B, N)
    median = norms.median(dim=-1).values  # (B, N) -> (B,), the lower median for even N
    threshold = factor * median  # (B,)
    mask = norms > threshold.unsqueeze(-1)  # (B, N) > (B, 1) -> (B, N)
    return HighNormTokens(norms, median, threshold, mask, mask.to(norms.dtype).mean())
