r"""Lesson 05 — what the position embeddings learned: Figure 7 (centre), Sec. 4.5.

The paper shows, for ViT-L/32, one small tile per patch: tile $(i, j)$ colours every patch
$(k, l)$ by the cosine similarity between the position embeddings of patch $(i, j)$ and
patch $(k, l)$,

$$\mathrm{sim}(i, j, k, l) = \frac{e_{(i,j)} \cdot e_{(k,l)}}
{\lVert e_{(i,j)} \rVert\, \lVert e_{(k,l)} \rVert}.$$

Nothing told the model that patch 8 sits under patch 1, yet closer patches end up with more
similar embeddings, and patches in the same row or column look alike (Sec. 4.5).

- :func:`position_similarity` — the ``(H/P, W/P, H/P, W/P)`` table of similarities.
- :func:`locality_score` — one number for "near patches are more alike than far ones".
- :func:`plot_position_similarity` — the figure, laid out like the paper's.
"""

from __future__ import annotations

import numbers

import torch
import torch.nn.functional as F

from vit_tutorial.checks import (
    check_has_values,
    check_num_prefix_tokens,
    check_tensor,
    to_pair,
)
from vit_tutorial.grid import grid_distances
from vit_tutorial.names import moved

__all__ = ["position_similarity", "locality_score", "check_similarity", "pos_embed_of"]
# Old homes of the lesson's drawing, now in its figures module: a clear error names it.
__getattr__ = moved(__name__, {name: f"vit_tutorial.similarity_figures.{name}" for name in (
    "plot_position_similarity", "frame_tile", "similarity_figure_size")})


def pos_embed_of(model: torch.nn.Module) -> tuple[torch.Tensor, tuple[int, int], int]:
    r"""Take $E_\text{pos}$ out of a ViT: the course's, torchvision's or timm's.

    Args:
        model: a ``vit_tutorial.model.VisionTransformer``, a
            ``torchvision.models.VisionTransformer`` or a ``timm`` ``VisionTransformer``.

    Returns:
        ``(pos_embed, grid_size, num_prefix_tokens)``: the ``(1, T, D)`` table (detached),
        the patch grid ``(H/P, W/P)``, and how many rows come before the grid — ready for
        :func:`position_similarity`.

    Example:
        >>> pos_embed, grid, prefix = pos_embed_of(torchvision.models.vit_b_16())
        >>> sim = position_similarity(pos_embed, grid, prefix)  # (14, 14, 14, 14)
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a ViT (torch.nn.Module), got {type(model).__name__}")
    name = type(model).__name__
    if (hasattr(model, "positional_embedding")
            and hasattr(model.positional_embedding, "pos_embed")):  # ours
        table, grid = model.positional_embedding.pos_embed, model.patch_embed.grid_size
        prefix = model.positional_embedding.num_prefix_tokens
    elif hasattr(model, "encoder") and hasattr(model.encoder, "pos_embedding"):  # torchvision
        side = model.image_size // model.patch_size
        table, grid, prefix = model.encoder.pos_embedding, (side, side), 1
    elif getattr(model, "pos_embed", None) is not None and hasattr(model, "patch_embed"):  # timm
        grid = tuple(model.patch_embed.grid_size)
        prefix = 0 if getattr(model, "no_embed_class", False) else model.num_prefix_tokens
        table = model.pos_embed
    else:
        raise ValueError(
            f"{name} has no learned absolute position embedding this function knows: expected "
            f"the course's positional_embedding.pos_embed, torchvision's encoder.pos_embedding or "
            f"timm's pos_embed (a model built with positional_embedding='none' has none)")
    return table.detach(), (int(grid[0]), int(grid[1])), int(prefix)


def position_similarity(pos_embed: torch.Tensor, grid_size: int | tuple[int, int],
                        num_prefix_tokens: int = 1) -> torch.Tensor:
    r"""Cosine similarity between the position embeddings of every pair of patches.

    Args:
        pos_embed: a ViT's $E_\text{pos}$, ``(1, N + 1, D)`` or ``(N + 1, D)``; or a table
            with one row per patch, ``(N, D)`` (e.g. :func:`sincos_2d_pos_embed`), with
            ``num_prefix_tokens=0``.
        grid_size: the patch grid ``(H/P, W/P)``, or one int for a square grid. The rows of
            ``pos_embed`` after the prefix are its patches in row-major order.
        num_prefix_tokens: rows in front of the patches, dropped before comparing:
            1 for the class token, 0 for none.

    Returns:
        ``sim`` with ``sim[i, j]`` the tile of patch $(i, j)$: ``sim[i, j, k, l]`` is the
        cosine similarity of patches $(i, j)$ and $(k, l)$. It is symmetric
        (``sim[i, j, k, l] == sim[k, l, i, j]``) with ones on the diagonal. Computed in
        float32 (float64 stays float64); gradients flow through it.

    Shapes:
        ``(1, N + 1, D)``, ``(N + 1, D)`` or ``(N, D)`` -> ``(H/P, W/P, H/P, W/P)``

    Note:
        An all-zero embedding has no direction; it gets similarity 0 with every patch,
        itself included.

    Example:
        >>> from vit_tutorial.positional_embedding import PositionalEmbedding
        >>> sim = position_similarity(PositionalEmbedding(49, 64).pos_embed, (7, 7))
        >>> sim.shape
        torch.Size([7, 7, 7, 7])
    """
    check_tensor(pos_embed, "pos_embed")
    gh, gw = to_pair(grid_size, "grid_size")  # (H/P, W/P)
    prefix = check_num_prefix_tokens(num_prefix_tokens)
    if pos_embed.ndim == 3 and pos_embed.shape[0] != 1:
        raise ValueError(
            f"pos_embed must have shape (1, N + 1, D) or (N + 1, D), got {tuple(pos_embed.shape)}; "
            f"this looks like a batch of tokens — pass the parameter itself, e.g. model.pos_embed"
        )
    if pos_embed.ndim not in (2, 3):
        raise ValueError(
            f"pos_embed must have shape (1, N + 1, D) or (N + 1, D), got {pos_embed.ndim} "
            f"dimensions {tuple(pos_embed.shape)}; pass e.g. model.pos_embed"
        )
    table = pos_embed.reshape(pos_embed.shape[-2], pos_embed.shape[-1])  # (1, T, D) -> (T, D)
    T, N = table.shape[0], gh * gw
    if T != prefix + N:
        expected = (f"expected {prefix} + {gh}·{gw} = {prefix + N} rows in pos_embed "
                    f"({prefix} prefix token(s) and a {gh}x{gw} grid of patches), got {T}")
        if T > N:
            fix = f"pass num_prefix_tokens={T - N} for this grid"
            if T - N == 1:
                fix += " (one class-token row)"
        elif T == N:
            fix = "pass num_prefix_tokens=0 for a table without a class-token row"
        else:
            fix = "the grid is too large for this table; pass the grid the embeddings were made for"
        side = round((T - prefix) ** 0.5) if T >= prefix else 0
        if side and side * side == T - prefix and (side, side) != (gh, gw):
            fix += f", or grid_size={side} if the {T - prefix} patches form a {side}x{side} grid"
        raise ValueError(f"{expected}; {fix}")
    x = table[prefix:]  # (T, D) -> (N, D): drop the class token
    if x.dtype != torch.float64:
        x = x.float()
    x = F.normalize(x, dim=-1)  # (N, D), unit length
    sim = x @ x.T  # (N, D) @ (D, N) -> (N, N)
    return sim.reshape(gh, gw, gh, gw)  # (N, N) -> (H/P, W/P, H/P, W/P)


def check_similarity(similarity: object) -> torch.Tensor:
    """Return ``similarity`` if it is a :func:`position_similarity` table ``(H/P, W/P, H/P,
    W/P)``; otherwise a teaching error."""
    check_tensor(similarity, "similarity")
    if similarity.ndim != 4 or similarity.shape[:2] != similarity.shape[2:]:
        raise ValueError(
            f"similarity must have shape (H/P, W/P, H/P, W/P), got {tuple(similarity.shape)}; "
            f"compute it with position_similarity(pos_embed, grid_size)"
        )
    return similarity


def locality_score(similarity: torch.Tensor, *, far: int = 4) -> float:
    r"""How much more alike neighbouring patches' embeddings are than distant ones'.

    Distances are counted in steps between 4-neighbouring patches (Manhattan distance
    $|i - k| + |j - l|$ on the grid). The score is

    $$\underbrace{\operatorname{mean}_{d = 1}\, \mathrm{sim}}_{\text{4-neighbours}} \;-\;
    \underbrace{\operatorname{mean}_{d \ge \text{far}}\, \mathrm{sim}}_{\text{distant patches}},$$

    each mean over all ordered pairs of patches at that distance. About 0 when position
    carries no locality (random or identical embeddings); positive when near patches are
    more alike (Sec. 4.5); at most 2.

    Args:
        similarity: the table from :func:`position_similarity`.
        far: the distance, in steps, from which a pair counts as distant (default 4).

    Returns:
        The score, a Python float.

    Shapes:
        ``(H/P, W/P, H/P, W/P)`` -> a number

    Example:
        >>> from vit_tutorial.positional_embedding import sincos_2d_pos_embed
        >>> sim = position_similarity(sincos_2d_pos_embed(7, 64), 7, num_prefix_tokens=0)
        >>> locality_score(sim) > 0.1
        True
    """
    sim = check_has_values(check_similarity(similarity), "similarity", "a score")
    if isinstance(far, bool) or not isinstance(far, numbers.Integral) or far < 2:
        raise ValueError(f"far must be an int >= 2 (1 step is a neighbour), got {far!r}; "
                         f"the default is 4")
    gh, gw = sim.shape[:2]
    if (gh - 1) + (gw - 1) < far:
        raise ValueError(
            f"a {gh}x{gw} grid has no pair of patches {far} or more steps apart (the largest "
            f"distance is {(gh - 1) + (gw - 1)}); use a grid with (H/P - 1) + (W/P - 1) >= {far}, "
            f"e.g. 3x3 for far=4, or pass a smaller far"
        )
    if gh * gw < 2:
        raise ValueError("a 1x1 grid has no neighbours; use a grid with at least 2 patches")
    steps = grid_distances((gh, gw), "steps", device=sim.device)  # (N, N)
    flat = sim.detach().reshape(gh * gw, gh * gw).double()  # (H/P, W/P, H/P, W/P) -> (N, N)
    near = flat[steps == 1].mean()
    distant = flat[steps >= far].mean()
    return (near - distant).item()
