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

import gc
import numbers
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from vit_tutorial._checks import (
    check_has_values,
    check_num_prefix_tokens,
    check_tensor,
    to_pair,
)
from vit_tutorial.grid import grid_distances

__all__ = ["position_similarity", "locality_score", "plot_position_similarity", "pos_embed_of",
           "similarity_figure_size", "frame_tile"]


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


def _check_similarity(similarity: object) -> torch.Tensor:
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
    sim = check_has_values(_check_similarity(similarity), "similarity", "a score")
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


@contextmanager
def _gc_paused():
    """Pause Python's cycle collector: building ~200 Axes makes many objects, and the
    collector, running again and again meanwhile, would double the time a 14x14 grid takes."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def plot_position_similarity(similarity: torch.Tensor, *, title: str | None = None,
                             highlight: tuple[int, int] | None = None, fig=None,
                             vmin: float = -1.0, vmax: float = 1.0):
    r"""Draw Figure 7 (centre): one tile per patch, showing its similarity to all patches.

    Tile $(i, j)$ — row $i$, column $j$ of the grid of tiles — is the image
    ``similarity[i, j]``: patch $(i, j)$'s cosine similarity with every patch $(k, l)$.
    All tiles share one colour scale, explained by one colour bar: by default a diverging
    map centred on 0 (``"RdBu_r"``, from -1 blue to +1 red), the whole range of a cosine
    similarity.

    Args:
        similarity: the table from :func:`position_similarity`.
        title: the figure's title; ``None`` for none.
        highlight: ``(i, j)``, counted from 0, to frame one tile (e.g. the patch a reader
            picked); ``None`` for no frame.
        fig: an empty matplotlib ``Figure`` to draw into (the tiles shrink to fit it); a new
            one, sized to the grid, if ``None``.
        vmin: the similarity at the bottom of the colour scale (default -1).
        vmax: the similarity at the top of the colour scale (default 1). A range centred
            on 0 (``vmin == -vmax``) keeps the diverging ``"RdBu_r"``; any other range, such
            as ``vmin=0.7, vmax=1.0`` for a table whose similarities are all high, is drawn
            with the sequential ``"viridis"``, because white would no longer mean 0. Values
            outside the range get the colour of its nearer end, and the colour bar then
            ends in a pointed tip on that side.

    Returns:
        ``(fig, axes)``, ``axes`` a NumPy array of ``Axes`` of shape ``(H/P, W/P)``. The
        frame of ``highlight`` is a ``Rectangle`` in ``axes[i, j].patches`` with
        gid ``"highlight"``.

    Shapes:
        ``(H/P, W/P, H/P, W/P)`` -> ``H/P × W/P`` tiles of ``H/P × W/P`` pixels

    Note:
        Rows and columns are labelled from 0, as the code indexes them (``sim[i, j]``); the
        paper's figure labels them from 1.

    Example:
        >>> from vit_tutorial.positional_embedding import sincos_2d_pos_embed
        >>> sim = position_similarity(sincos_2d_pos_embed(7, 64), 7, num_prefix_tokens=0)
        >>> fig, axes = plot_position_similarity(sim, vmin=0.7, vmax=1.0)  # zoom into 0.7..1
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    sim = _check_similarity(similarity)
    gh, gw = sim.shape[:2]
    _check_plot_arguments((gh, gw), highlight, vmin, vmax)
    values = sim.detach().cpu().float().numpy()  # (H/P, W/P, H/P, W/P)
    layout = _Layout((gh, gw), title=bool(title))
    if fig is None:
        fig = plt.figure(figsize=layout.size)
    box, gaps = layout.fit(fig)
    with _gc_paused():
        axes = fig.subplots(gh, gw, squeeze=False, gridspec_kw=dict(**box, **gaps))
    cmap = "RdBu_r" if vmin == -vmax else "viridis"  # diverging only when centred on 0
    norm = Normalize(vmin=float(vmin), vmax=float(vmax))  # one scale for every tile
    _draw_tiles(axes, values, cmap, norm, fontsize=8 if layout.long_side >= 0.45 else 7)
    fw, fh = fig.get_size_inches()
    fig.supylabel("input patch row (from 0)", x=0.12 / fw, ha="left")
    fig.supxlabel("input patch column (from 0)", y=0.08 / fh, va="bottom")
    if title:
        fig.suptitle(title, y=1 - 0.1 / fh, va="top")
    _draw_colour_bar(fig, box, values, cmap, norm)
    if highlight is not None:
        frame_tile(axes[highlight[0], highlight[1]])
    return fig, axes


def frame_tile(ax):
    """Frame one tile of Figure 7 (the picked patch): a black square round the Axes, with
    gid ``"highlight"``. Returns the ``Rectangle``."""
    from matplotlib.patches import Rectangle

    frame = Rectangle((0, 0), 1, 1, transform=ax.transAxes, fill=False, edgecolor="black",
                      linewidth=2.5, clip_on=False, gid="highlight")
    ax.add_patch(frame)
    return frame


def _check_plot_arguments(grid, highlight, vmin, vmax) -> None:
    gh, gw = grid
    if highlight is not None:
        ok = (isinstance(highlight, (tuple, list)) and len(highlight) == 2
              and all(isinstance(v, numbers.Integral) and not isinstance(v, bool)
                      for v in highlight))
        if not ok or not (0 <= highlight[0] < gh and 0 <= highlight[1] < gw):
            raise ValueError(
                f"highlight must be a (row, column) pair of ints with 0 <= row < {gh} and "
                f"0 <= column < {gw} (counted from 0), got {highlight!r}")
    for value, name in ((vmin, "vmin"), (vmax, "vmax")):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{name} must be a number (a cosine similarity between -1 and 1), "
                            f"got {value!r} of type {type(value).__name__}")
        if not -1.0 <= value <= 1.0:
            raise ValueError(f"{name} must lie between -1 and 1 (the range of a cosine "
                             f"similarity), got {value}")
    if vmin >= vmax:
        raise ValueError(f"vmin must be smaller than vmax, got vmin={vmin}, vmax={vmax}; "
                         f"the default scale is vmin=-1.0, vmax=1.0")


class _Layout:
    """Sizes in inches of Figure 7's layout: small tiles, room for labels on the left and
    bottom, a colour bar on the right."""

    LEFT, RIGHT, BOTTOM = 0.75, 1.35, 0.7

    def __init__(self, grid: tuple[int, int], title: bool):
        gh, gw = grid
        self.long_side = min(0.6, 6.0 / max(gh, gw))  # a tile's longer side
        self.tile_w = self.long_side * gw / max(gh, gw)  # the image's aspect
        self.tile_h = self.long_side * gh / max(gh, gw)
        self.gap = 0.08 * self.long_side
        self.top = 0.55 if title else 0.25
        self.grid_w = gw * self.tile_w + (gw - 1) * self.gap
        self.grid_h = gh * self.tile_h + (gh - 1) * self.gap

    @property
    def size(self) -> tuple[float, float]:
        return (self.LEFT + self.grid_w + self.RIGHT, self.BOTTOM + self.grid_h + self.top)

    def fit(self, fig) -> tuple[dict, dict]:
        """The tiles' box (figure fractions) and gaps, shrunk to fit ``fig`` if needed."""
        fw, fh = fig.get_size_inches()
        fit = min(1.0, (fw - self.LEFT - self.RIGHT) / self.grid_w,
                  (fh - self.BOTTOM - self.top) / self.grid_h)
        if fit <= 0:
            raise ValueError(f"the figure ({fw:.1f}x{fh:.1f} in) is too small for the labels "
                             f"and the colour bar; use at least "
                             f"{self.LEFT + self.RIGHT + 1:.1f}x"
                             f"{self.BOTTOM + self.top + 1:.1f} in")
        box = dict(left=self.LEFT / fw, right=(self.LEFT + self.grid_w * fit) / fw,
                   bottom=self.BOTTOM / fh, top=(self.BOTTOM + self.grid_h * fit) / fh)
        return box, dict(wspace=self.gap / self.tile_w, hspace=self.gap / self.tile_h)


def similarity_figure_size(grid_size: int | tuple[int, int],
                           title: bool = True) -> tuple[float, float]:
    """The size in inches :func:`plot_position_similarity` gives a grid's figure."""
    return _Layout(to_pair(grid_size, "grid_size"), title).size


def _draw_tiles(axes, values, cmap, norm, fontsize: int) -> None:
    gh, gw = values.shape[:2]
    for i in range(gh):
        for j in range(gw):
            ax = axes[i, j]
            ax.imshow(values[i, j], cmap=cmap, norm=norm, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel(str(i), rotation=0, ha="right", va="center",
                              fontsize=fontsize, labelpad=3)
            if i == gh - 1:
                ax.set_xlabel(str(j), fontsize=fontsize, labelpad=3)


def _draw_colour_bar(fig, box: dict, values, cmap, norm) -> None:
    import matplotlib.pyplot as plt

    fw, _ = fig.get_size_inches()
    cax = fig.add_axes((box["right"] + 0.2 / fw, box["bottom"], 0.15 / fw,
                        box["top"] - box["bottom"]))
    below = values.size and values.min() < norm.vmin - 1e-6  # 1e-6: float32 rounding
    above = values.size and values.max() > norm.vmax + 1e-6
    extend = {(False, False): "neither", (True, False): "min",
              (False, True): "max", (True, True): "both"}[(bool(below), bool(above))]
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax,
                 label="cosine similarity", extend=extend)
