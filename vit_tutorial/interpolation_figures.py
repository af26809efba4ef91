r"""Lesson 06's figures: what resizing $E_\text{pos}$ does, channel by channel, tile by tile,
and how ``align_corners`` places the new grid (``notebooks/06_interpolation.ipynb``; the
resize itself is :mod:`vit_tutorial.interpolation`)."""

from __future__ import annotations

import math

import torch

from vit_tutorial.checks import check_positive_int, check_tensor
from vit_tutorial.figures import few_ticks
from vit_tutorial.interpolation import SMOOTH_MODES, resize_pos_embed, split_sizes
from vit_tutorial.similarity import position_similarity

__all__ = ["plot_resized_channels", "plot_resized_similarity", "plot_align_corners"]


def plot_resized_channels(pos_embeds, titles, grid_sizes=None, num_prefix_tokens: int = 1,
                          channels=(0, 1, 2)):
    r"""Draw a few channels of several versions of $E_\text{pos}$ as maps over their grids.

    One column per version (e.g. the original 7×7 and its 14×14 resizes by different
    methods), one row per channel. Every map in a row shares one colour scale, so the
    versions can be compared value for value.

    Args:
        pos_embeds: a list of $E_\text{pos}$ tensors, each ``(1, prefix + N, D)`` or
            ``(prefix + N, D)`` with the same $D$.
        titles: one title per tensor.
        grid_sizes: one grid ``(H/P, W/P)`` (or int) per tensor; ``None`` infers square grids.
        num_prefix_tokens: prefix tokens in front of each grid (not drawn).
        channels: which of the $D$ channels to draw.

    Returns:
        ``(fig, axes)``, with ``axes`` of shape ``(len(channels), len(pos_embeds))``.

    Shapes:
        each pos_embed ``(1, prefix + N, D)`` -> maps ``(D, H/P, W/P)``
    """
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    pos_embeds, titles = list(pos_embeds), list(titles)
    grid_sizes = [None] * len(pos_embeds) if grid_sizes is None else list(grid_sizes)
    if not pos_embeds or len(titles) != len(pos_embeds) or len(grid_sizes) != len(pos_embeds):
        raise ValueError(
            f"pass one title and one grid size per position embedding, got "
            f"{len(pos_embeds)} embeddings, {len(titles)} titles and {len(grid_sizes)} grid "
            f"sizes (at least one embedding)"
        )
    maps = []
    for i, (pos_embed, grid_size) in enumerate(zip(pos_embeds, grid_sizes)):
        single, k, (gh, gw) = split_sizes(pos_embed, grid_size, num_prefix_tokens,
                                           name=f"pos_embeds[{i}]")
        x = pos_embed.detach().cpu().float()
        grid = x[k:] if single else x[0, k:]  # (prefix + N, D) -> (N, D)
        maps.append(grid.T.reshape(-1, gh, gw))  # (N, D) -> (D, N) -> (D, H/P, W/P)
    D = maps[0].shape[0]
    if any(m.shape[0] != D for m in maps):
        raise ValueError(
            f"all position embeddings must have the same D, got "
            f"{[m.shape[0] for m in maps]}; compare versions of one E_pos"
        )
    channels = list(channels)
    for ch in channels:
        if not 0 <= ch < D:
            raise ValueError(f"channel {ch} is out of range for D = {D}; "
                             f"pick channels in 0..{D - 1}")

    fig, axes = plt.subplots(len(channels), len(maps), squeeze=False, layout="constrained",
                             figsize=(2.6 * len(maps) + 0.8, 2.5 * len(channels)))
    for row, ch in enumerate(channels):
        vmin = min(float(m[ch].min()) for m in maps)
        vmax = max(float(m[ch].max()) for m in maps)
        for col, (m, title) in enumerate(zip(maps, titles)):
            ax = axes[row, col]
            im = ax.imshow(m[ch].numpy(), cmap="viridis", vmin=vmin, vmax=vmax)
            gh, gw = m.shape[1:]
            ax.set_title(f"{title}\n{gh}×{gw} grid, channel {ch}", fontsize=9)
            ax.set_xlabel("patch column")
            ax.set_ylabel("patch row")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # patches have whole indices
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        fig.colorbar(im, ax=axes[row, :].tolist(), shrink=0.85,
                     label=f"$E_{{pos}}$ value, channel {ch}")
    return fig, axes


def plot_resized_similarity(pos_embed: torch.Tensor, resized: torch.Tensor, patches, *,
                            old_grid_size=None, new_grid_size=None, num_prefix_tokens: int = 1):
    r"""Compare a few tiles of Figure 7 (centre) before and after a resize of $E_\text{pos}$,
    drawn large.

    For each old patch $(i, j)$ in ``patches`` the top row shows its tile in the old table
    (its cosine similarity with every old patch, lesson 05) and the bottom row the tile of
    the new patch that covers the top-left part of it,
    $(\lfloor i\,h'/h \rfloor, \lfloor j\,w'/w \rfloor)$ — for a grid doubled, patch
    $(2i, 2j)$ of the four that cover old patch $(i, j)$. A black square marks the old
    patch's place in the image on both grids, so the two tiles can be compared place for
    place. All tiles share one diverging colour scale from -1 to 1.

    Args:
        pos_embed: the old $E_\text{pos}$, ``(1, prefix + N, D)`` or ``(prefix + N, D)``.
        resized: the new one, ``(1, prefix + N', D)`` or ``(prefix + N', D)``.
        patches: the old patches to show, a list of ``(i, j)`` pairs counted from 0.
        old_grid_size: the old grid ``(h, w)``; ``None`` infers a square grid.
        new_grid_size: the new grid ``(h', w')``; ``None`` infers a square grid.
        num_prefix_tokens: prefix tokens in front of each grid (1 for the class token).

    Returns:
        ``(fig, axes)``, ``axes`` of shape ``(2, len(patches))``: row 0 the old tiles, row 1
        the new ones. Each tile's square is a ``Rectangle`` with gid ``"old patch"``.

    Shapes:
        pos_embed ``(1, prefix + N, D)`` and resized ``(1, prefix + N', D)`` ->
        ``len(patches)`` tiles of ``h × w`` above ``len(patches)`` tiles of ``h' × w'``
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    _, k, (oh, ow) = split_sizes(pos_embed, old_grid_size, num_prefix_tokens, "pos_embed")
    check_tensor(resized, "resized")
    positions = resized.shape[-2] - k
    if new_grid_size is None and resized.ndim in (2, 3) and positions > 0 and (
            math.isqrt(positions) ** 2 != positions):
        raise ValueError(f"resized has {resized.shape[-2]} tokens = {k} prefix + {positions} grid "
                         f"positions, and {positions} is not a perfect square; pass "
                         f"new_grid_size=(h', w') with h'·w' = {positions}")
    _, _, (nh, nw) = split_sizes(resized, new_grid_size, num_prefix_tokens, "resized")
    if pos_embed.shape[-1] != resized.shape[-1]:
        raise ValueError(f"pos_embed and resized must have the same D, got {pos_embed.shape[-1]} "
                         f"and {resized.shape[-1]}; pass an E_pos and its resized version")
    patches = list(patches) if isinstance(patches, (list, tuple)) else patches
    ok = (isinstance(patches, list) and patches
          and all(isinstance(p, (list, tuple)) and len(p) == 2
                  and all(isinstance(v, int) and not isinstance(v, bool) for v in p)
                  and 0 <= p[0] < oh and 0 <= p[1] < ow for p in patches))
    if not ok:
        raise ValueError(f"patches must be a non-empty list of (row, column) pairs of ints with "
                         f"0 <= row < {oh} and 0 <= column < {ow} (old patches, counted from 0), "
                         f"got {patches!r}")
    with torch.no_grad():
        sim_old = position_similarity(pos_embed.detach().cpu(), (oh, ow), k)  # (h, w, h, w)
        sim_new = position_similarity(resized.detach().cpu(), (nh, nw), k)  # (h', w', h', w')
    sy, sx = nh / oh, nw / ow  # new patches per old patch, down and across
    count = len(patches)
    fig, axes = plt.subplots(2, count, squeeze=False, layout="constrained",
                             figsize=(2.6 * count + 1.0, 6.0))
    for col, (i, j) in enumerate(patches):
        r, c = math.floor(i * sy), math.floor(j * sx)  # the new patch at old (i, j)'s top left
        panels = ((sim_old[i, j], (i - 0.5, j - 0.5), (1.0, 1.0),
                   f"old patch ({i}, {j}), {oh}×{ow} grid"),
                  (sim_new[r, c], (i * sy - 0.5, j * sx - 0.5), (sy, sx),
                   f"new patch ({r}, {c}), {nh}×{nw} grid"))
        for row, (tile, (y, x), (h, w), title) in enumerate(panels):
            ax = axes[row, col]
            im = ax.imshow(tile.float().numpy(), cmap="RdBu_r", vmin=-1.0, vmax=1.0,
                           interpolation="nearest")
            ax.add_patch(Rectangle((x, y), w, h, fill=False, edgecolor="black", linewidth=2,
                                   gid="old patch"))
            ax.set_title(title, fontsize=9)
            gh, gw = tile.shape
            ax.set_xticks(few_ticks(gw - 1))
            ax.set_yticks(few_ticks(gh - 1))
            ax.set_xlabel("patch column")
            if col == 0:
                ax.set_ylabel("patch row")
    fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="cosine similarity")
    return fig, axes


def plot_align_corners(values: torch.Tensor, new_size: int, mode: str = "bilinear",
                       ylabel: str = "value"):
    r"""Draw a 1-D resize with ``align_corners=False`` and ``True``, every sample at its place
    in the image.

    The $n$ old samples (e.g. one channel of $E_\text{pos}$ along one row of the grid) and
    the $m$ new ones cover the same image width. The x-axis counts old patches: old patch
    $i$ spans $[i, i + 1]$ and its sample is drawn at its centre $i + \tfrac12$; new patch
    $j$ is drawn at its own centre $(j + \tfrac12)\,n/m$. With ``align_corners=False`` each
    new sample is read at that same place, so the new samples lie on the interpolating
    curve through the old ones (clamped to the end values beyond the outer centres). With
    ``align_corners=True`` new sample $j$ is read at $j\,(n - 1)/(m - 1)$ on the old grid
    (corner centre on corner centre), a little further out than its own place, except at
    the middle.

    Args:
        values: the old samples, ``(n,)`` with $n \ge 2$.
        new_size: $m$, the number of new samples.
        mode: ``"bilinear"`` (default: straight lines, easiest to read) or ``"bicubic"``.
        ylabel: the y-axis label, e.g. ``"E_pos value, channel 13"``.

    Returns:
        ``(fig, ax)``.

    Shapes:
        values ``(n,)`` -> two resized versions ``(m,)``, drawn, not returned
    """
    import matplotlib.pyplot as plt

    check_tensor(values, "values")
    if values.ndim != 1 or values.shape[0] < 2:
        raise ValueError(
            f"values must be a 1-D tensor of at least 2 samples, got shape "
            f"{tuple(values.shape)}; pass e.g. one channel of E_pos along one grid row, "
            f"pos_embed[0, 1:, c].reshape(H/P, W/P)[row]"
        )
    if not values.is_floating_point():
        raise TypeError(f"values must be a floating-point tensor, got dtype {values.dtype}; "
                        f"convert it with values.float()")
    m = check_positive_int(new_size, "new_size")
    if mode not in SMOOTH_MODES:
        raise ValueError(f"mode must be 'bilinear' or 'bicubic' (the modes align_corners "
                         f"applies to), got {mode!r}")
    n = values.shape[0]
    old = values.detach().cpu().float()
    table = old.reshape(1, n, 1)  # (n,) -> (1, N, D): a 1 x n grid, D = 1
    resized = {
        align: resize_pos_embed(table, (1, m), (1, n), num_prefix_tokens=0, mode=mode,
                                align_corners=align)[0, :, 0]  # (1, m, 1) -> (m,)
        for align in (False, True)
    }
    x_old = torch.arange(n) + 0.5  # old patch centres, in old patches
    x_new = (torch.arange(m) + 0.5) * n / m  # new patch centres, same units

    colors = plt.cm.viridis([0.0, 0.45, 0.8])
    fig, ax = plt.subplots(figsize=(9, 4.2), layout="constrained")
    for edge in range(n + 1):
        ax.axvline(edge, color="0.85", linewidth=0.8, zorder=0)
    ax.plot(x_old, old, "-", color="0.6", linewidth=1, zorder=1,
            label="straight lines between the old samples")
    ax.plot(x_old, old, "o", color=colors[0], markersize=9, zorder=2,
            label=f"old: {n} samples, at their patch centres")
    ax.plot(x_new, resized[False], "s", color=colors[1], markersize=6, zorder=3,
            label=f"new ({m}), align_corners=False (as timm): read at their own centre")
    ax.plot(x_new, resized[True], "^", color=colors[2], markersize=6, zorder=3,
            markeredgecolor="black", markeredgewidth=0.5,
            label=f"new ({m}), align_corners=True (as torchvision): corners pinned")
    ax.set_xlim(0, n)
    ax.set_xlabel(f"position across the image, in old patches (grey lines: the {n} old patch "
                  f"edges)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{mode} resize of {n} samples to {m}: where each new sample is read")
    ax.legend(fontsize=8, loc="best")
    return fig, ax
