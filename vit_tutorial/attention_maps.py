r"""Lesson 09 — what a trained ViT attends to: Figure 7 (right) and Figure 6.

Two readings of the attention weights $A$ that every encoder block computes
(``model.forward_features(images, return_attention=True)``):

- **mean attention distance** (Sec. 4.5, Figure 7 right): how far, in pixels, each head
  looks from its query patch, weighted by $A$;
- **attention rollout** (Abnar & Zuidema 2020; Figure 6, App. D.8): how much each input
  patch contributes to the class token's final state, following $A$ through every layer
  and the residual path. App. D.8 says only that the weights are averaged over the heads
  and multiplied through the layers; the identity for the residual path and the
  renormalised rows are Abnar & Zuidema's.

See ``notebooks/09_attention_maps.ipynb``.
"""

from __future__ import annotations

import torch

from vit_tutorial._checks import (
    check_has_values,
    check_num_prefix_tokens,
    check_positive_int,
    check_same_device,
    check_tensor,
    to_pair,
)
from vit_tutorial.grid import grid_distances, grid_positions

__all__ = ["row_column_score", "mean_attention_distance", "uniform_attention_distance",
           "plot_attention_distance",
           "HEAD_FUSIONS", "attention_rollout", "rollout_map", "mass_on_ink",
           "plot_rollout"]

#: The marker of each head in :func:`plot_attention_distance` (repeated past eight heads).
HEAD_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


def row_column_score(similarity: torch.Tensor, axis: str = "both", min_steps: int = 2
                     ) -> float:
    r"""Figure 7 (centre)'s second pattern, as a number: how much more alike two patches'
    position embeddings are when they share a row or a column (Sec. 4.5).

    Distance alone makes near patches alike (lesson 05's locality score), so pairs are
    compared at equal distance: for every pair in the same row (or column) at least
    ``min_steps`` apart, its similarity minus the mean similarity of pairs that share
    neither, at the same straight-line distance (interpolated between the distances that
    occur). The score is the mean of those differences: about 0 without such structure.

    Args:
        similarity: ``(H/P, W/P, H/P, W/P)`` from
            :func:`vit_tutorial.similarity.position_similarity`.
        axis: ``"rows"``, ``"columns"`` or ``"both"``.
        min_steps: the shortest distance counted (1 would compare neighbours, which are alike
            for being near).

    Returns:
        The score, a Python float.
    """
    check_tensor(similarity, "similarity")
    if similarity.ndim != 4 or similarity.shape[:2] != similarity.shape[2:]:
        raise ValueError(f"similarity must have shape (H/P, W/P, H/P, W/P), got "
                         f"{tuple(similarity.shape)}; compute it with position_similarity")
    check_has_values(similarity, "similarity", "a score")
    if axis not in ("rows", "columns", "both"):
        raise ValueError(f"axis must be 'rows', 'columns' or 'both', got {axis!r}")
    grid = tuple(similarity.shape[:2])
    sim = similarity.detach().reshape(grid[0] * grid[1], -1).double()  # (N, N)
    rows, cols = grid_positions(grid, device=sim.device)
    dr, dc = rows[:, None] - rows[None, :], cols[:, None] - cols[None, :]  # (N, N)
    dist = grid_distances(grid, "euclidean", device=sim.device)  # (N, N)
    off = (dr != 0) & (dc != 0)
    on = {"rows": dr == 0, "columns": dc == 0, "both": (dr == 0) | (dc == 0)}[axis]
    on = on & (dist >= min_steps)
    if not on.any() or not off.any():
        raise ValueError(f"a {grid[0]}x{grid[1]} grid has no pairs to compare; use a grid of "
                         f"at least {min_steps + 1}x{min_steps + 1}")
    xs = dist[off].unique()  # the off-axis distances, sorted
    ys = torch.stack([sim[off & (dist == x)].mean() for x in xs])  # their mean similarity
    expected = _interpolate(dist[on], xs, ys)  # at each on-axis pair's distance
    return (sim[on] - expected).mean().item()


def _interpolate(x: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """Piecewise-linear ``ys(x)`` through the points ``(xs, ys)``, flat beyond the ends."""
    x = x.clamp(xs[0], xs[-1])
    right = torch.searchsorted(xs, x).clamp(1, len(xs) - 1)  # xs[right - 1] <= x <= xs[right]
    x0, x1, y0, y1 = xs[right - 1], xs[right], ys[right - 1], ys[right]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


def _check_layer(attention: object, grid: tuple[int, int], k: int) -> torch.Tensor:
    check_tensor(attention, "attention")
    T = k + grid[0] * grid[1]
    if attention.ndim != 4 or tuple(attention.shape[-2:]) != (T, T):
        raise ValueError(f"attention must have shape (B, h, T, T) with T = {k} + "
                         f"{grid[0]}·{grid[1]} = {T}, got {tuple(attention.shape)}; pass one "
                         f"layer's weights from forward_features(images, return_attention=True) "
                         f"and the model's grid_size")
    if not attention.is_floating_point():
        raise TypeError(f"attention must hold floating-point weights, got {attention.dtype}")
    return attention


def uniform_attention_distance(grid_size: int | tuple[int, int],
                               patch_size: int | tuple[int, int]) -> float:
    """Mean attention distance (pixels) of a head that attends to every patch equally."""
    return grid_distances(grid_size, "euclidean", patch_size=patch_size).mean().item()


def mean_attention_distance(attention, grid_size: int | tuple[int, int],
                            patch_size: int | tuple[int, int], num_prefix_tokens: int = 1,
                            query_mask: torch.Tensor | None = None) -> torch.Tensor:
    r"""Figure 7 (right): each head's mean attention distance, in pixels.

    For every query patch, the distance to each key patch (between patch centres, in
    pixels) is weighted by the attention weight and summed; this is averaged over the query
    patches (all of them, or those ``query_mask`` picks) and the images of the batch.

    Args:
        attention: one layer's weights ``(B, h, T, T)``, or a list of them (one per layer).
        grid_size: the patch grid ``(H/P, W/P)``; ``T = num_prefix_tokens + N``.
        patch_size: $P$ in pixels.
        num_prefix_tokens: rows/columns in front of the grid (the class token).
        query_mask: ``(B, N)`` booleans: average only over these query patches (e.g. the
            patches that hold ink); ``None`` for all.

    Returns:
        ``(h,)`` for one layer, ``(L, h)`` for a list: distances in pixels, on the
        attention's device.

    Note:
        The class token has no place in the image, so its row and column are dropped and
        each query's weights over the $N$ patches are renormalised to sum to 1. The paper
        does not say how it treats the class token; other choices shift the numbers a little.
    """
    if isinstance(attention, (list, tuple)):
        if not attention:
            raise ValueError("attention is an empty list; pass one (B, h, T, T) tensor per "
                             "layer, as forward_features(images, return_attention=True) "
                             "returns them")
        return torch.stack([mean_attention_distance(a, grid_size, patch_size, num_prefix_tokens,
                                                    query_mask)
                            for a in attention])  # L x (h,) -> (L, h)
    k = check_num_prefix_tokens(num_prefix_tokens)
    grid = to_pair(grid_size, "grid_size")
    attention = _check_layer(attention, grid, k)
    weights = attention[..., k:, k:].double()  # (B, h, N, N): patches attending to patches
    weights = weights / weights.sum(-1, keepdim=True).clamp_min(1e-12)  # rows sum to 1 again
    distance = grid_distances(grid, "euclidean", patch_size=patch_size,
                              device=attention.device)  # (N, N), pixels
    per_query = (weights * distance).sum(-1)  # (B, h, N)
    if query_mask is None:
        return per_query.mean(dim=(0, 2)).to(attention.dtype)  # (h,)
    mask = _check_query_mask(query_mask, per_query.shape[0], per_query.shape[-1])
    mask = mask.to(per_query.device, torch.float64)[:, None, :]  # (B, N) -> (B, 1, N)
    return ((per_query * mask).sum(dim=(0, 2)) / mask.sum()).to(attention.dtype)  # (h,)


def _check_query_mask(mask: object, B: int, N: int) -> torch.Tensor:
    check_tensor(mask, "query_mask")
    if tuple(mask.shape) != (B, N) or mask.dtype != torch.bool:
        raise ValueError(f"query_mask must be a (B, N) = ({B}, {N}) bool tensor, got "
                         f"{tuple(mask.shape)} {mask.dtype}; e.g. the patches that hold ink")
    if mask.device.type != "meta" and not mask.any():
        raise ValueError("query_mask selects no query patch; select at least one")
    return mask


def plot_attention_distance(distances: torch.Tensor, uniform: float | None = None, *,
                            ax=None, title: str | None = None, spread: float = 0.3):
    r"""Draw Figure 7 (right): each head's mean attention distance against network depth.

    One dot per head and layer, as in the paper: the x-axis is the layer (counted from 0, as
    the code counts), the y-axis the distance in pixels from :func:`mean_attention_distance`.
    The heads of a layer are spread a little sideways so that equal values stay visible;
    each head keeps its colour (sampled from viridis) and its marker shape in every layer, so
    heads whose colours are close still differ.

    Args:
        distances: ``(L, h)`` distances in pixels, one row per layer.
        uniform: if given, a dashed horizontal line at this distance, labelled as the value
            of a head that attends to every patch equally (:func:`uniform_attention_distance`).
        ax: a matplotlib ``Axes`` to draw into; a new figure is made if ``None``.
        title: the axes' title; ``None`` for none.
        spread: the total sideways width, in layers, over which a layer's heads are spread
            (0 puts them on one vertical line); in [0, 1).

    Returns:
        ``(fig, ax)``.

    Shapes:
        ``(L, h)`` -> ``L`` columns of ``h`` dots
    """
    import matplotlib.pyplot as plt

    values = _check_distances(distances, uniform, spread)  # (L, h)
    L, h = values.shape
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 3.6), layout="constrained")
    colours = plt.get_cmap("viridis")(torch.linspace(0, 0.9, h).tolist())  # one per head
    offsets = torch.linspace(-spread / 2, spread / 2, h) if h > 1 else torch.zeros(1)
    layers = torch.arange(L, dtype=torch.float64)
    for head in range(h):
        ax.scatter((layers + offsets[head]).tolist(), values[:, head].tolist(), s=34,
                   color=colours[head], marker=HEAD_MARKERS[head % len(HEAD_MARKERS)],
                   edgecolor="black", linewidth=0.4, zorder=3,
                   label=f"head {head}" if h <= 8 else None)  # a legend of 8 at most
    if uniform is not None:
        ax.axhline(float(uniform), color="0.35", linestyle="--", linewidth=1.2, zorder=2,
                   label=f"uniform attention ({float(uniform):.1f} px)")
    top = max(values.max().item(), float(uniform) if uniform is not None else 0.0)
    ax.set_ylim(0, 1.25 * top if top > 0 else 1.0)
    ax.set_xlim(-0.5, L - 0.5)
    ax.set_xticks(range(L))
    ax.set_xlabel("network depth (layer, from 0)")
    ax.set_ylabel("mean attention distance (pixels)")
    if title:
        ax.set_title(title)
    ax.grid(axis="y", alpha=0.3)
    if h <= 8 or uniform is not None:
        ax.legend(fontsize=8, loc="lower right", ncol=2 if h > 3 else 1, framealpha=0.9)
    return ax.figure, ax


def _check_distances(distances: object, uniform: object, spread: object) -> torch.Tensor:
    import numbers

    check_tensor(distances, "distances")
    if distances.ndim != 2 or distances.numel() == 0:
        raise ValueError(f"distances must have shape (L, h), one row per layer and one column "
                         f"per head, got {tuple(distances.shape)}; compute it with "
                         f"mean_attention_distance(maps, grid_size, patch_size)")
    if uniform is not None and (isinstance(uniform, bool)
                                or not isinstance(uniform, numbers.Real)):
        raise TypeError(f"uniform must be a number of pixels (e.g. "
                        f"uniform_attention_distance(grid_size, patch_size)) or None, got "
                        f"{type(uniform).__name__}")
    if (isinstance(spread, bool) or not isinstance(spread, numbers.Real)
            or not 0 <= spread < 1):
        raise ValueError(f"spread must be a number in [0, 1) (a fraction of the gap between "
                         f"layers), got {spread!r}; the default is 0.3")
    return distances.detach().cpu().double()


# --- Figure 6: attention rollout ---------------------------------------------------------

#: How :func:`attention_rollout` merges a layer's heads into one matrix.
HEAD_FUSIONS = ("mean", "max", "min")


def attention_rollout(attentions, head_fusion: str = "mean") -> torch.Tensor:
    r"""Attention rollout (Abnar & Zuidema 2020): Figure 6's maps.

    The paper's App. D.8 says that it averages the attention weights over the heads and
    multiplies them recursively through the layers; adding the identity for the residual
    path and renormalising the rows is Abnar & Zuidema's recipe, which this follows. For each
    layer $\ell$ the heads' weights are merged (averaged, by default), the identity
    is added for the residual path and each row renormalised:
    $\hat A_\ell = (\bar A_\ell + I) / 2$. The rollout multiplies them from the first
    layer up: $R = \hat A_L \cdots \hat A_2 \hat A_1$. Row $i$ of $R$ says how much each
    input token flows into token $i$'s final state; row 0 (the class token) is Figure 6's
    map (see :func:`rollout_map`).

    Args:
        attentions: a list of ``L`` weights ``(B, h, T, T)``, first layer first, as
            ``forward_features(images, return_attention=True)`` returns them.
        head_fusion: ``"mean"`` (as the paper), ``"max"`` or ``"min"`` over the heads.

    Returns:
        $R$, ``(B, T, T)``; each row sums to 1. Computed in the attention's dtype and on
        its device.

    Shapes:
        ``L x (B, h, T, T)`` -> ``(B, T, T)``
    """
    if isinstance(attentions, torch.Tensor) or not isinstance(attentions, (list, tuple)):
        raise TypeError(f"attentions must be a list of per-layer weights (B, h, T, T), got "
                        f"{type(attentions).__name__}; pass the list that "
                        f"forward_features(images, return_attention=True) returns")
    if not attentions:
        raise ValueError("attentions is empty; pass one (B, h, T, T) tensor per layer")
    if head_fusion not in HEAD_FUSIONS:
        raise ValueError(f"head_fusion must be one of {', '.join(map(repr, HEAD_FUSIONS))}, "
                         f"got {head_fusion!r}")
    first = check_tensor(attentions[0], "attentions[0]")
    rollout = None
    for index, layer in enumerate(attentions):
        _check_rollout_layer(layer, index, first)
        fused = getattr(layer, head_fusion)(dim=1)  # (B, h, T, T) -> (B, T, T)
        fused = fused.values if head_fusion != "mean" else fused
        eye = torch.eye(layer.shape[-1], dtype=layer.dtype, device=layer.device)  # (T, T)
        step = fused + eye  # the residual path: each token also keeps itself
        step = step / step.sum(dim=-1, keepdim=True)  # rows sum to 1 again
        rollout = step if rollout is None else step @ rollout  # (B, T, T)
    return rollout


def _check_rollout_layer(layer: object, index: int, first: torch.Tensor) -> None:
    """One layer's weights for the rollout: the first layer's shape, dtype and device, and
    softmax rows (each >= 0, summing to 1) — not the scores before the softmax."""
    name = f"attentions[{index}]"
    check_tensor(layer, name)
    if layer.ndim != 4 or layer.shape[-1] != layer.shape[-2] or (
            layer.shape[0], layer.shape[-1]) != (first.shape[0], first.shape[-1]):
        raise ValueError(f"{name} must have shape (B, h, T, T) like the first "
                         f"layer's {tuple(first.shape)}, got {tuple(layer.shape)}")
    if not layer.is_floating_point():
        raise TypeError(f"{name} must hold floating-point weights, got {layer.dtype}")
    if layer.dtype != first.dtype:
        raise TypeError(f"{name} is {layer.dtype} but attentions[0] {first.dtype}; convert all "
                        f"layers to one dtype, e.g. [a.float() for a in attentions]")
    check_same_device(layer, name, first, "attentions[0]")
    rows = layer.double().sum(dim=-1)  # (B, h, T)
    tolerance = 1e-3 if layer.element_size() >= 4 else 2e-2  # float16 and bfloat16: coarser
    if layer.device.type != "meta" and (layer.min() < 0 or (rows - 1).abs().max() > tolerance):
        raise ValueError(f"{name} is not attention weights: each row must be >= 0 and sum to "
                         f"1 (a softmax), but its values go down to {layer.min().item():.3g} "
                         f"and its rows sum to {rows.min().item():.3g}…{rows.max().item():.3g}; "
                         f"pass the weights after the softmax, scores.softmax(-1), as "
                         f"forward_features(images, return_attention=True) returns them")


def rollout_map(rollout: torch.Tensor, grid_size: int | tuple[int, int],
                num_prefix_tokens: int = 1) -> torch.Tensor:
    """Figure 6's map: the class token's row of the rollout, over the patch grid.

    Returns:
        ``(B, H/P, W/P)``: how much each patch flows into the class token's final state,
        scaled to sum to 1 over the patches.

    Shapes:
        ``(B, T, T)`` -> ``(B, H/P, W/P)``
    """
    check_tensor(rollout, "rollout")
    k = check_num_prefix_tokens(num_prefix_tokens)
    gh, gw = to_pair(grid_size, "grid_size")
    if rollout.ndim != 3 or tuple(rollout.shape[1:]) != (k + gh * gw,) * 2:
        raise ValueError(f"rollout must have shape (B, T, T) with T = {k} + {gh}·{gw}, got "
                         f"{tuple(rollout.shape)}; compute it with attention_rollout(maps)")
    row = rollout[:, 0, k:]  # the class token's row, patches only: (B, N)
    row = row / row.sum(dim=-1, keepdim=True).clamp_min(1e-12)
    return row.reshape(-1, gh, gw)  # (B, N) -> (B, H/P, W/P)


def mass_on_ink(maps: torch.Tensor, images: torch.Tensor, patch_size: int,
                threshold: float = 0.25) -> tuple[torch.Tensor, torch.Tensor]:
    """How much of each rollout map lies on the strokes, against the strokes' share.

    Each patch's weight is spread evenly over its $P \\times P$ pixels; the ink is every
    pixel brighter than ``threshold``.

    Returns:
        ``(mass, share)``, each ``(B,)``: the map's mass on ink pixels, and the fraction of
        the image's pixels that are ink. A map that ignored the strokes would give
        ``mass ≈ share``.
    """
    check_tensor(maps, "maps")
    check_tensor(images, "images")
    P = check_positive_int(patch_size, "patch_size")
    if maps.ndim != 3 or images.ndim != 4 or images.shape[0] != maps.shape[0] or tuple(
            images.shape[-2:]) != (maps.shape[1] * P, maps.shape[2] * P):
        raise ValueError(f"maps (B, H/P, W/P) and images (B, C, H, W) must agree, got "
                         f"{tuple(maps.shape)} and {tuple(images.shape)} with P = {P}")
    pixels = maps.repeat_interleave(P, dim=1).repeat_interleave(P, dim=2) / (P * P)  # (B, H, W)
    ink = images.amax(dim=1) > threshold  # (B, C, H, W) -> (B, H, W)
    mass = (pixels * ink).flatten(1).sum(-1)  # (B,)
    share = ink.flatten(1).to(maps.dtype).mean(-1)  # (B,)
    return mass, share


def plot_rollout(images: torch.Tensor, maps: torch.Tensor, *, labels=None, axes=None):
    """Figure 6 for a few images: the image, its rollout map, and the map over the image.

    Args:
        images: ``(B, C, H, W)`` in [0, 1].
        maps: ``(B, H/P, W/P)`` from :func:`rollout_map`.
        labels: optional ``B`` strings for the rows' titles.
        axes: a ``(B, 3)`` array of ``Axes``; a new figure if ``None``.

    Returns:
        ``(fig, axes)``.
    """
    import matplotlib.pyplot as plt
    import torch.nn.functional as F

    check_tensor(images, "images")
    check_tensor(maps, "maps")
    B = images.shape[0]
    if axes is None:
        _, axes = plt.subplots(B, 3, figsize=(6.6, 2.2 * B), squeeze=False,
                               layout="constrained")
    H, W = images.shape[-2:]
    big = F.interpolate(maps[:, None].float(), size=(H, W), mode="nearest")[:, 0]  # (B, H, W)
    for b in range(B):
        image = images[b].detach().cpu().float().mean(0).numpy()  # (C, H, W) -> (H, W)
        weights = big[b].detach().cpu().numpy()
        row = axes[b]
        row[0].imshow(image, cmap="gray", vmin=0, vmax=1)
        shown = row[1].imshow(weights, cmap="viridis", vmin=0)
        row[2].imshow(image, cmap="gray", vmin=0, vmax=1)
        row[2].imshow(weights, cmap="viridis", alpha=0.6, vmin=0)
        titles = (labels[b] if labels is not None else "input", "rollout", "rollout over input")
        for ax, title in zip(row, titles):
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
        row[1].figure.colorbar(shown, ax=row[1], shrink=0.8, label="share of the class token")
    return axes[0][0].figure, axes
