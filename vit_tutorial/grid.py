r"""Geometry of the patch grid, shared by the lessons: where patch $n$ sits, and how far
apart two patches are.

Patches are numbered row-major (lesson 01): patch $n$ of an ``(H/P, W/P)`` grid sits in
row $n \,//\, (W/P)$ and column $n \bmod (W/P)$.
"""

from __future__ import annotations

import torch

from vit_tutorial.checks import to_pair

__all__ = ["DISTANCE_METRICS", "grid_positions", "grid_distances"]

#: How :func:`grid_distances` measures: steps between 4-neighbours, a straight line, or
#: the larger of the two offsets (steps between 8-neighbours).
DISTANCE_METRICS = ("steps", "euclidean", "chebyshev")


def grid_positions(grid_size: int | tuple[int, int], *,
                   device: torch.device | str | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Row and column of every patch, in the order of the sequence.

    Shapes:
        ``(H/P, W/P)`` -> rows ``(N,)``, columns ``(N,)`` (int64)

    Example:
        >>> grid_positions((2, 3))
        (tensor([0, 0, 0, 1, 1, 1]), tensor([0, 1, 2, 0, 1, 2]))
    """
    gh, gw = to_pair(grid_size, "grid_size")
    n = torch.arange(gh * gw, device=device)  # (N,)
    return n // gw, n % gw


def grid_distances(grid_size: int | tuple[int, int], metric: str = "steps", *,
                   patch_size: int | tuple[int, int] = 1,
                   device: torch.device | str | None = None,
                   dtype: torch.dtype = torch.float64) -> torch.Tensor:
    r"""Distance between every pair of patches of a grid.

    Args:
        grid_size: ``(H/P, W/P)``, or one int for a square grid.
        metric: ``"steps"`` ($|\Delta r| + |\Delta c|$, lesson 05's locality score),
            ``"euclidean"`` (between patch centres, Figure 7's attention distance) or
            ``"chebyshev"`` ($\max(|\Delta r|, |\Delta c|)$).
        patch_size: the patch's side(s) in pixels, to measure in pixels; 1 counts patches.
        device: where to build the table (use the device of the tensor it will meet).
        dtype: a floating dtype.

    Returns:
        ``(N, N)``: entry ``[n, m]`` is the distance from patch ``n`` to patch ``m``.

    Example:
        >>> grid_distances((1, 3))
        tensor([[0., 1., 2.],
                [1., 0., 1.],
                [2., 1., 0.]], dtype=torch.float64)
    """
    if metric not in DISTANCE_METRICS:
        raise ValueError(f"metric must be one of {', '.join(map(repr, DISTANCE_METRICS))}, got "
                         f"{metric!r}")
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating torch.dtype, got {dtype!r}; pass e.g. "
                        f"torch.float64")
    ph, pw = to_pair(patch_size, "patch_size")
    rows, cols = grid_positions(grid_size, device=device)
    dr = (rows[:, None] - rows[None, :]).abs().to(dtype) * ph  # (N, 1) - (1, N) -> (N, N)
    dc = (cols[:, None] - cols[None, :]).abs().to(dtype) * pw
    if metric == "steps":
        return dr + dc
    if metric == "chebyshev":
        return torch.maximum(dr, dc)
    return (dr ** 2 + dc ** 2).sqrt()
