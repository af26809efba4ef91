r"""Lesson 03's figure: a token sequence as a heat map, the class token's row apart (the
class token itself is :mod:`vit_tutorial.class_token`)."""

from __future__ import annotations

import torch

from vit_tutorial.checks import check_positive_int, check_tensor

__all__ = ["plot_token_sequence"]

# --- figures for lesson 03 -------------------------------------------------------------


def plot_token_sequence(tokens: torch.Tensor, num_tokens: int = 6, num_channels: int = 24,
                        titles=None, axes=None):
    r"""Show the start of each image's sequence $[x_\text{class}; x_p^1 E; \dots]$ as a heat map.

    One panel per image: rows are positions in the sequence (row 0, the class token, is
    set off by a white line), columns are the first embedding channels. The class-token row
    and the patch rows have a colour scale each (two labelled colour bars), because their
    spreads can differ many times over (a ``randn`` token has std 1, a seeded random $E$
    gives patch embeddings of a few tenths): on one scale the patch rows would be one flat
    colour. Each scale is shared by all panels, so a row that is the same in every image
    looks the same in every panel.

    Args:
        tokens: sequences with the class token in front, ``(B, N + 1, D)``, or ``(N + 1, D)``
            for one image.
        num_tokens: how many positions to show, from position 0 (at least 2: the class
            token and one patch).
        num_channels: how many of the $D$ channels to show, from channel 0.
        titles: one title per image; ``"image 0"``, ``"image 1"``, … if ``None``.
        axes: matplotlib ``Axes``, one per image; a new figure is made if ``None``.

    Returns:
        ``(fig, axes)``.

    Shapes:
        tokens ``(B, N + 1, D)`` -> ``B`` panels of ``num_tokens × num_channels``
    """
    import matplotlib.pyplot as plt
    import numpy as np

    check_tensor(tokens, "tokens")
    if tokens.ndim not in (2, 3):
        raise ValueError(
            f"tokens must have shape (B, N + 1, D) or (N + 1, D), got {tokens.ndim} dimensions "
            f"{tuple(tokens.shape)}; pass the sequence after prepend_class_token"
        )
    x = tokens.detach().cpu().float()
    x = x.unsqueeze(0) if x.ndim == 2 else x  # (N + 1, D) -> (1, N + 1, D)
    B, T, D = x.shape
    num_tokens = check_positive_int(num_tokens, "num_tokens")
    num_channels = check_positive_int(num_channels, "num_channels")
    if num_tokens > T:
        raise ValueError(f"num_tokens {num_tokens} is more than the sequence's {T} tokens; "
                         f"pass num_tokens <= {T}")
    if num_tokens < 2:
        raise ValueError(f"num_tokens must be at least 2 (the class token and a patch), got "
                         f"{num_tokens}")
    if num_channels > D:
        raise ValueError(f"num_channels {num_channels} is more than D = {D}; "
                         f"pass num_channels <= {D}")
    titles = [f"image {b}" for b in range(B)] if titles is None else list(titles)
    if len(titles) != B:
        raise ValueError(f"got {len(titles)} titles for {B} images; pass one title per image")
    shown = x[:, :num_tokens, :num_channels].numpy()  # (B, N + 1, D) -> (B, tokens, channels)
    rows = np.arange(num_tokens)[None, :, None]  # (1, tokens, 1), broadcast over B and channels
    parts = {"cls": np.ma.masked_where(np.broadcast_to(rows != 0, shown.shape), shown),
             "patches": np.ma.masked_where(np.broadcast_to(rows == 0, shown.shape), shown)}
    scales = {name: _colour_range(part) for name, part in parts.items()}
    cmaps = {"cls": "cividis", "patches": "viridis"}
    if axes is None:
        fig, axes = plt.subplots(1, B, figsize=(2.9 * B + 2.2, 0.32 * num_tokens + 1.6),
                                 squeeze=False, layout="constrained")
        axes = list(axes[0])
    else:
        axes = list(axes)
        if len(axes) != B:
            raise ValueError(f"got {len(axes)} axes for {B} images; pass one Axes per image")
    fig = axes[0].figure
    labels = ["0: x_class"] + [str(t) for t in range(1, num_tokens)]
    images = {}
    for b, ax in enumerate(axes):
        for name, part in parts.items():  # the masked cells of each part are transparent
            vmin, vmax = scales[name]
            images[name] = ax.imshow(part[b], cmap=cmaps[name], vmin=vmin, vmax=vmax,
                                     aspect="auto", interpolation="nearest")
        ax.axhline(0.5, color="white", linewidth=2)
        ax.set_yticks(range(num_tokens), labels if b == 0 else [""] * num_tokens)
        ax.set_title(titles[b])
        ax.set_xlabel("channel")
    axes[0].set_ylabel("position in the sequence")
    fig.colorbar(images["patches"], ax=axes, shrink=0.9, pad=0.01,
                 label=f"x_p E value (rows 1–{num_tokens - 1})")
    fig.colorbar(images["cls"], ax=axes, shrink=0.9, pad=0.01, label="x_class value (row 0)")
    return fig, axes


def _colour_range(values) -> tuple[float, float]:
    """``(vmin, vmax)`` of a masked array, widened if all its values are equal (a zero token)."""
    low, high = float(values.min()), float(values.max())
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return low, high
