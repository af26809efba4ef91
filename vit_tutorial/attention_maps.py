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

from vit_tutorial.checks import (
    check_has_values,
    check_num_prefix_tokens,
    check_positive_int,
    check_same_device,
    check_tensor,
    to_pair,
)
from vit_tutorial.grid import grid_distances, grid_positions
from vit_tutorial.names import moved

__all__ = ["row_column_score", "mean_attention_distance", "uniform_attention_distance",
           "HEAD_FUSIONS", "attention_rollout", "rollout_map", "mass_on_ink"]
# Old homes of the lesson's drawing, now in its figures module: a clear error names it.
__getattr__ = moved(__name__, {name: f"vit_tutorial.attention_maps_figures.{name}" for name in (
    "plot_attention_distance", "plot_rollout")})


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
