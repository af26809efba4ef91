r"""Lesson 03 — the class token $x_\text{class}$ (Sec. 3.1, Eq. 1 and 4).

A learnable $D$-dimensional vector is put *in front of* the $N$ patch embeddings, so the
sequence the encoder reads has $N + 1$ tokens and $z_0^0 = x_\text{class}$. After the last
layer, its state $z_L^0$ is the image representation $y = \mathrm{LN}(z_L^0)$ (Eq. 4).
One vector is shared by every image: it is broadcast over the batch with ``expand``,
which makes a view, not a copy.
"""

from __future__ import annotations

import torch
from torch import nn

from vit_tutorial.checks import check_positive_int, check_same_device, check_tensor
from vit_tutorial.names import moved

__all__ = ["ClassToken", "prepend_class_token"]
# Old homes of the lesson's drawing, now in its figures module: a clear error names it.
__getattr__ = moved(__name__, {name: f"vit_tutorial.class_token_figures.{name}" for name in (
    "plot_token_sequence",)})


def prepend_class_token(tokens: torch.Tensor, cls_token: torch.Tensor) -> torch.Tensor:
    r"""Prepend $x_\text{class}$ to a sequence of patch embeddings: $[x_\text{class}; x_p E]$.

    Args:
        tokens: patch embeddings ``(B, N, D)``, or ``(N, D)`` for one image.
        cls_token: the class token ``(1, 1, D)`` (a ``(D,)`` vector works too).

    Returns:
        The sequence with the class token at position 0.

    Shapes:
        - tokens ``(B, N, D)`` -> ``(B, N + 1, D)``
        - tokens ``(N, D)`` -> ``(N + 1, D)``

    Example:
        >>> prepend_class_token(torch.zeros(2, 196, 768), torch.ones(1, 1, 768)).shape
        torch.Size([2, 197, 768])
    """
    check_tensor(tokens, "tokens")
    check_tensor(cls_token, "cls_token")
    if tokens.ndim not in (2, 3):
        raise ValueError(
            f"tokens must have shape (B, N, D) or (N, D), got {tokens.ndim} dimensions "
            f"{tuple(tokens.shape)}; pass the patch embeddings, e.g. PatchEmbedding()(images)"
        )
    D = cls_token.shape[-1] if cls_token.ndim else 0
    if cls_token.numel() != D or cls_token.ndim not in (1, 3):
        raise ValueError(
            f"cls_token must have shape (1, 1, D) or (D,), got {tuple(cls_token.shape)}; "
            f"make it with nn.Parameter(torch.zeros(1, 1, D))"
        )
    if tokens.shape[-1] != D:
        raise ValueError(
            f"tokens have embedding dimension {tokens.shape[-1]} but cls_token has {D}; "
            f"build the class token with embed_dim={tokens.shape[-1]} "
            f"(the D of the patch embedding)"
        )
    for value, name in ((tokens, "tokens"), (cls_token, "cls_token")):
        if not value.is_floating_point():
            raise TypeError(f"{name} must be floating point, got dtype {value.dtype}; embeddings "
                            f"are real numbers: convert with {name}.float()")
    check_same_device(tokens, "tokens", cls_token, "cls_token")
    single = tokens.ndim == 2
    x = tokens.unsqueeze(0) if single else tokens  # (N, D) -> (1, N, D)
    cls = cls_token.reshape(1, 1, D).expand(x.shape[0], -1, -1)  # (1, 1, D) -> (B, 1, D), a view
    dtype = torch.promote_types(x.dtype, cls.dtype)  # never round a value down
    x = torch.cat([cls.to(dtype), x.to(dtype)], dim=1)  # (B, 1, D) + (B, N, D) -> (B, N + 1, D)
    return x[0] if single else x


class ClassToken(nn.Module):
    r"""The learnable class token $x_\text{class}$, prepended to every sequence.

    Args:
        embed_dim: $D$.
        init: ``"zeros"`` (default) as in the original code and torchvision, or
            ``"randn"`` (standard normal), as vit-pytorch and several tutorials do; both train.

    Attributes:
        cls_token: ``nn.Parameter`` of shape ``(1, 1, D)`` — timm's key name, so real
            weights load.

    Shapes:
        tokens ``(B, N, D)`` -> ``(B, N + 1, D)``

    Note:
        The starting value matters little: the token is trained like every other weight,
        and in a ViT the position embedding $E_\text{pos}^0$ is added to it before the
        first layer anyway. Zeros is what the released models started from.
    """

    def __init__(self, embed_dim: int, *, init: str = "zeros"):
        super().__init__()
        D = check_positive_int(embed_dim, "embed_dim")
        if init == "zeros":
            value = torch.zeros(1, 1, D)
        elif init == "randn":
            value = torch.randn(1, 1, D)
        else:
            raise ValueError(f"init must be 'zeros' or 'randn', got {init!r}")
        self.embed_dim = D
        self.cls_token = nn.Parameter(value)  # (1, 1, D)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return prepend_class_token(tokens, self.cls_token)  # (B, N, D) -> (B, N + 1, D)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}"
