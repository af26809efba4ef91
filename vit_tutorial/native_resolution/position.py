r"""Position embeddings per image (lesson 11, part 2): each image of a NaFlex batch has its own
grid, so each gets $E_\text{pos}$ for its own grid.

Two kinds, both as timm's ``NaFlexEmbeds`` computes them:

- **learned** — one table on a base grid (e.g. 16 × 16), resized to each image's grid with
  lesson 06's :func:`~vit_tutorial.interpolation.resize_pos_embed` (timm's settings:
  bicubic, anti-aliased, ``align_corners=False``; left as it is at the base grid):
  :func:`pos_embed_for_grid`.
- **factorized** (NaViT) — a table of rows $E_y$ ``(1, h, D)`` and one of columns $E_x$
  ``(1, w, D)``; the patch at (r, c) gets $E_y[r] + E_x[c]$, each table linearly
  interpolated to the image's grid first: :class:`FactorizedPositionalEmbedding`.

:func:`pos_embed_per_token` lays either out over a padded batch: each token gets the row of
its own image's table at its own (row, column).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from vit_tutorial.checks import check_positive_int, check_tensor, to_pair, work_dtype
from vit_tutorial.interpolation import resize_pos_embed
from vit_tutorial.native_resolution.sequences import naflex_grid_sizes

__all__ = ["pos_embed_for_grid", "FactorizedPositionalEmbedding", "pos_embed_per_token"]


def pos_embed_for_grid(pos_embed: torch.Tensor, grid_size: int | tuple[int, int],
                       base_grid: int | tuple[int, int], num_prefix_tokens: int = 0
                       ) -> torch.Tensor:
    r"""A learned $E_\text{pos}$ on ``base_grid`` for an image whose grid is ``grid_size``,
    as timm's NaFlex models resize it: bicubic, anti-aliased, ``align_corners=False``, and
    not touched when the grids are equal.

    Args:
        pos_embed: ``(1, prefix + h·w, D)`` on the base grid ``(h, w)`` (timm's NaFlex
            tables have no prefix rows: ``num_prefix_tokens=0``).
        grid_size: the image's grid ``(H/P, W/P)``.
        base_grid: ``(h, w)``.
        num_prefix_tokens: rows in front of the grid, kept as they are.

    Shapes:
        ``(1, prefix + h·w, D)`` -> ``(1, prefix + H/P · W/P, D)``
    """
    if to_pair(grid_size, "grid_size") == to_pair(base_grid, "base_grid"):
        return pos_embed
    return resize_pos_embed(pos_embed, grid_size, base_grid, num_prefix_tokens,
                            mode="bicubic", align_corners=False, antialias=True)


class FactorizedPositionalEmbedding(nn.Module):
    r"""NaViT's factorized $E_\text{pos}$: a learned vector per row and one per column, added.

    The patch at (r, c) gets $E_y[r] + E_x[c]$: $(h + w) \cdot D$ numbers instead of
    $h \cdot w \cdot D$. For another grid, $E_y$ and $E_x$ are each interpolated linearly
    (``align_corners=False``) to the new number of rows and columns, as in timm.

    Args:
        grid_size: the base grid ``(h, w)`` (timm's ``pos_embed_grid_size``).
        embed_dim: $D$.

    Attributes:
        pos_embed_y: ``(1, h, D)``, the rows' table (timm's name, so its weights load).
        pos_embed_x: ``(1, w, D)``, the columns' table.

    Shapes:
        - :meth:`table` ``(H', W')`` -> ``(1, H'·W', D)``, row-major
        - tokens ``(B, h·w, D)`` -> ``(B, h·w, D)`` (the base grid's table added)
    """

    def __init__(self, grid_size: int | tuple[int, int], embed_dim: int):
        super().__init__()
        self.grid_size = to_pair(grid_size, "grid_size")  # (h, w)
        self.embed_dim = check_positive_int(embed_dim, "embed_dim")  # D
        h, w = self.grid_size
        self.pos_embed_y = nn.Parameter(torch.empty(1, h, self.embed_dim))  # E_y: (1, h, D)
        self.pos_embed_x = nn.Parameter(torch.empty(1, w, self.embed_dim))  # E_x: (1, w, D)
        nn.init.normal_(self.pos_embed_y, std=0.02)  # as timm
        nn.init.normal_(self.pos_embed_x, std=0.02)

    @staticmethod
    def resample(table: torch.Tensor, length: int) -> torch.Tensor:
        """A ``(1, n, D)`` table linearly interpolated to ``(1, length, D)``."""
        if table.shape[1] == length:
            return table
        x = table.transpose(1, 2).to(work_dtype(table.dtype))  # (1, n, D) -> (1, D, n)
        x = F.interpolate(x, size=length, mode="linear", align_corners=False)  # (1, D, length)
        return x.transpose(1, 2).to(table.dtype)  # (1, D, length) -> (1, length, D)

    def table(self, grid_size: int | tuple[int, int]) -> torch.Tensor:
        """$E_\\text{pos}$ for a grid ``(H', W')``: row r, column c gets $E_y[r] + E_x[c]$."""
        gh, gw = to_pair(grid_size, "grid_size")
        e_y = self.resample(self.pos_embed_y, gh)  # (1, H', D)
        e_x = self.resample(self.pos_embed_x, gw)  # (1, W', D)
        grid = e_y[:, :, None, :] + e_x[:, None, :, :]  # (1, H', 1, D) + (1, 1, W', D)
        return grid.reshape(1, gh * gw, self.embed_dim)  # (1, H', W', D) -> (1, H'·W', D)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        check_tensor(tokens, "tokens")
        h, w = self.grid_size
        if tokens.ndim != 3 or tuple(tokens.shape[1:]) != (h * w, self.embed_dim):
            raise ValueError(f"expected the patch tokens of the base grid, (B, {h}·{w}, "
                             f"{self.embed_dim}), got {tuple(tokens.shape)}; for another grid "
                             f"add table((rows, columns)), or read a NaFlex batch")
        return tokens + self.table(self.grid_size)  # (B, N, D) + (1, N, D)

    def extra_repr(self) -> str:
        return f"grid_size={self.grid_size}, embed_dim={self.embed_dim}"


def pos_embed_per_token(table: Callable[[tuple[int, int]], torch.Tensor],
                        patch_coord: torch.Tensor, patch_valid: torch.Tensor) -> torch.Tensor:
    r"""The position embedding of every token of a padded NaFlex batch.

    Each image's grid is read from its coordinates (:func:`naflex_grid_sizes`); ``table``
    gives $E_\text{pos}$ for that grid, ``(1, rows·columns, D)`` row-major (computed once
    per distinct grid), and each token takes the row at its own (row, column). Padding gets
    zeros. timm adds the same rows in sequence order instead, which is the same for the
    row-major sequences its pipeline makes; reading the coordinates also works for any
    order (packed sequences, dropped tokens).

    Args:
        table: ``grid -> (1, rows·columns, D)``, e.g. ``lambda g: pos_embed_for_grid(pos, g,
            (7, 7))`` or a :class:`FactorizedPositionalEmbedding`'s ``table``.
        patch_coord: ``(B, L, 2)``, int.
        patch_valid: ``(B, L)``, bool.

    Shapes:
        -> ``(B, L, D)``
    """
    rows: list[torch.Tensor | None] = []
    tables: dict[tuple[int, int], torch.Tensor] = {}
    for i, (gh, gw) in enumerate(naflex_grid_sizes(patch_coord, patch_valid)):
        if gh == 0:  # an image without patches
            rows.append(None)
            continue
        if (gh, gw) not in tables:
            tables[(gh, gw)] = table((gh, gw))[0]  # (rows·columns, D)
        index = patch_coord[i, :, 0] * gw + patch_coord[i, :, 1]  # (L,): row-major position
        index = torch.where(patch_valid[i], index, 0)  # padding reads row 0, zeroed below
        rows.append(tables[(gh, gw)][index] * patch_valid[i, :, None])  # (L, D)
    if not tables:
        raise ValueError("the batch has no valid patches (patch_valid is all False)")
    some = next(iter(tables.values()))
    zeros = some.new_zeros(patch_coord.shape[1], some.shape[-1])  # (L, D)
    return torch.stack([zeros if r is None else r for r in rows])  # (B, L, D)
