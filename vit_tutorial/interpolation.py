r"""Lesson 06 — resize the position embeddings $E_\text{pos}$ for a new resolution (Sec. 3.2).

Fine-tuning at a higher resolution keeps the patch size $P$, so the grid of patches grows
(ViT-B/16: 224×224 → 14×14 = 196 patches; 384×384 → 24×24 = 576 patches) and
$E_\text{pos}$ no longer has one row per token (197 rows for 577 tokens). The paper's fix
is to 2-D interpolate the pre-trained $E_\text{pos}$ "according to their location in the
original image":

1. split off the prefix token(s) — the class token has no place on the grid and is kept
   as it is;
2. fold the $N$ grid rows back into their 2-D layout ``(D, H/P, W/P)`` (row-major, the
   order of ``Conv2d(...).flatten(2).transpose(1, 2)``) and treat the $D$ channels as
   $D$ small images;
3. resize those images to the new grid ``(H'/P, W'/P)`` and flatten them again into
   $N' = H'W'/P^2$ rows;
4. put the prefix token(s) back in front.

In the shape comments, ``prefix`` is the number of prefix tokens (1 for the class token),
``(H/P, W/P)`` is the old grid with $N$ positions and ``(H'/P, W'/P)`` the new one with
$N'$.

Step 3 is where the reference libraries disagree, and the differences are not small:

============  ===========================================  =========  =============  =========
library       function                                     mode       align_corners  antialias
============  ===========================================  =========  =============  =========
torchvision   ``models.vision_transformer.interpolate_``   bicubic    True           no
              ``embeddings``
timm          ``layers.resample_abs_pos_embed``            bicubic    False          True
original JAX  ``vit_jax/checkpoint.py`` (scipy zoom)       linear     (corners on    no
                                                           (order 1)  corners)
============  ===========================================  =========  =============  =========

:func:`resize_pos_embed` exposes these settings, so it reproduces torchvision and timm to
within 1e-6 (the tests check it), and :func:`zoom_pos_embed` reproduces the original code,
which equals ``resize_pos_embed(..., mode="bilinear", align_corners=True)``.

Note:
    What the two flags do, measured with PyTorch's ``F.interpolate``:

    - ``align_corners=True`` puts the centres of the corner patches of the old grid on the
      centres of the corner patches of the new grid; ``False`` treats every patch as a
      cell of the image and lines up the *outer edges* of the grids instead. On a 7×7 →
      14×14 bicubic resize of N(0, 1) embeddings (D = 64) the two differ by 1.2 to 1.8
      (max abs, 20 random seeds).
    - ``antialias=True`` for ``bicubic`` does more than low-pass filter a downsampling: it
      switches to a different cubic kernel (Keys' $a = -0.5$, as in PIL, instead of
      PyTorch's $a = -0.75$) and to a different border rule (weights that fall off the
      grid are dropped and the rest renormalised, instead of repeating the edge row). So
      timm's result differs from plain bicubic when *upsampling*, too: by 0.27 to 0.34
      (max abs) on the same 7×7 → 14×14 resize. For ``bilinear``, ``antialias`` changes
      nothing when upsampling.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from vit_tutorial._checks import check_num_prefix_tokens, check_positive_int, check_tensor, to_pair
from vit_tutorial.figures import few_ticks
from vit_tutorial.similarity import position_similarity

__all__ = ["resize_pos_embed", "zoom_pos_embed", "plot_resized_channels", "plot_resized_similarity",
           "plot_align_corners"]

#: The ``F.interpolate`` modes :func:`resize_pos_embed` accepts.
MODES = ("nearest", "bilinear", "bicubic", "area")
#: The modes for which ``align_corners`` and ``antialias`` mean something.
_SMOOTH_MODES = ("bilinear", "bicubic")



_MAX_PREFIX_GUESS = 5  # a class token plus timm's usual 4 register tokens


def _prefix_hint(num_tokens: int, grid_positions: int, num_prefix_tokens: int) -> str:
    """Suggest the prefix count that would make ``num_tokens`` fit ``grid_positions``."""
    guess = num_tokens - grid_positions
    if 0 <= guess <= _MAX_PREFIX_GUESS and guess != num_prefix_tokens:
        return f"; did you mean num_prefix_tokens={guess}?"
    return ""


def _square_hint(num_tokens: int, num_prefix_tokens: int) -> str:
    """Suggest a prefix count that leaves a perfect square of grid positions."""
    for guess in range(0, min(num_tokens, _MAX_PREFIX_GUESS) + 1):
        side = math.isqrt(num_tokens - guess)
        if guess != num_prefix_tokens and side > 0 and side * side == num_tokens - guess:
            return (f", or num_prefix_tokens={guess} if the model has {guess} prefix token(s) "
                    f"({num_tokens} = {guess} + {side}·{side})")
    return ""


def _split_sizes(pos_embed: object, old_grid_size: object, num_prefix_tokens: object,
                 name: str = "pos_embed") -> tuple[bool, int, tuple[int, int]]:
    """Check ``pos_embed`` and return ``(single, num_prefix_tokens, (H/P, W/P))``."""
    check_tensor(pos_embed, name)
    if pos_embed.ndim not in (2, 3) or (pos_embed.ndim == 3 and pos_embed.shape[0] != 1):
        raise ValueError(
            f"{name} must have shape (1, prefix + N, D) or (prefix + N, D), got "
            f"{pos_embed.ndim} dimensions {tuple(pos_embed.shape)}; E_pos is one table shared "
            f"by every image, so pass the model's position embedding (e.g. model.pos_embed), "
            f"not a batch of tokens"
        )
    if not pos_embed.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor, got dtype {pos_embed.dtype}; convert it "
            f"with {name}.float()"
        )
    num_prefix_tokens = check_num_prefix_tokens(num_prefix_tokens)
    num_tokens = pos_embed.shape[-2]
    grid_positions = num_tokens - num_prefix_tokens
    if grid_positions <= 0:
        raise ValueError(
            f"num_prefix_tokens={num_prefix_tokens} leaves no grid positions: {name} has only "
            f"{num_tokens} token(s); num_prefix_tokens counts the class (and other prefix) "
            f"tokens in front of the grid, usually 1"
        )
    if old_grid_size is None:
        side = math.isqrt(grid_positions)
        if side * side != grid_positions:
            raise ValueError(
                f"cannot infer the old grid: {name} has {num_tokens} tokens = "
                f"{num_prefix_tokens} prefix + {grid_positions} grid positions, and "
                f"{grid_positions} is not a perfect square, so the grid is not square; pass "
                f"old_grid_size=(h, w) with h·w = {grid_positions} (the image size divided by "
                f"the patch size){_square_hint(num_tokens, num_prefix_tokens)}"
            )
        return pos_embed.ndim == 2, num_prefix_tokens, (side, side)
    gh, gw = to_pair(old_grid_size, "old_grid_size")
    if gh * gw != grid_positions:
        raise ValueError(
            f"{name} has {num_tokens} tokens = {num_prefix_tokens} prefix + {grid_positions} "
            f"grid positions, but old_grid_size ({gh}, {gw}) needs {gh}·{gw} = {gh * gw}; pass "
            f"the grid the embeddings were trained on (image size / patch size)"
            f"{_prefix_hint(num_tokens, gh * gw, num_prefix_tokens)}"
        )
    return pos_embed.ndim == 2, num_prefix_tokens, (gh, gw)


def _check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} of type "
                        f"{type(value).__name__}")
    return value


def resize_pos_embed(
    pos_embed: torch.Tensor,
    new_grid_size: int | tuple[int, int],
    old_grid_size: int | tuple[int, int] | None = None,
    num_prefix_tokens: int = 1,
    mode: str = "bicubic",
    align_corners: bool = False,
    antialias: bool = False,
) -> torch.Tensor:
    r"""2-D interpolate $E_\text{pos}$ from the old patch grid to a new one (Sec. 3.2).

    The prefix token(s) are split off and kept unchanged; the $N$ grid rows are folded
    into ``(D, H/P, W/P)``, resized with ``torch.nn.functional.interpolate`` to
    ``(H'/P, W'/P)``, flattened back into $N'$ rows and the prefix put back in front.

    Args:
        pos_embed: $E_\text{pos}$, ``(1, prefix + N, D)`` as stored in a model, or
            ``(prefix + N, D)``.
        new_grid_size: the new grid ``(H'/P, W'/P)``, or one int for a square grid —
            e.g. 24 for ViT-B/16 at 384×384.
        old_grid_size: the grid ``(H/P, W/P)`` the embeddings were trained on. ``None``
            infers a *square* grid from the token count and raises if the count is not a
            perfect square (a non-square grid must be given: its shape cannot be guessed).
        num_prefix_tokens: tokens in front of the grid that are not resized — 1 for the
            class token (the paper, torchvision, most timm models), 0 for none.
        mode: ``"nearest"``, ``"bilinear"``, ``"bicubic"`` (default, as torchvision and
            timm) or ``"area"``.
        align_corners: for ``bilinear``/``bicubic``: ``True`` lines up the centres of the
            corner patches (torchvision), ``False`` the outer edges of the grids (timm).
            Must stay ``False`` for ``nearest`` and ``area``.
        antialias: for ``bilinear``/``bicubic``: PyTorch's anti-aliased resampling, as
            timm uses it. For ``bicubic`` it also changes the kernel when upsampling (see
            the module's Note). Must stay ``False`` for ``nearest`` and ``area``.

    Returns:
        The resized $E_\text{pos}$, with the rank, dtype and device of ``pos_embed``. The
        computation runs in float32 (float64 for float64 input) and is differentiable.

    Shapes:
        - pos_embed ``(1, prefix + N, D)`` -> ``(1, prefix + N', D)``
        - pos_embed ``(prefix + N, D)`` -> ``(prefix + N', D)``

    Example:
        ViT-B/16 fine-tuned at 384×384 (Sec. 3.2): 197 rows become 577.

        >>> resize_pos_embed(torch.randn(1, 197, 768), 24).shape
        torch.Size([1, 577, 768])

        torchvision's settings are ``align_corners=True``; timm's are ``antialias=True``.
        A non-square grid must be named:

        >>> resize_pos_embed(torch.randn(1, 1 + 4 * 6, 32), (8, 3), old_grid_size=(4, 6)).shape
        torch.Size([1, 25, 32])

    Note:
        The paper says only "2D interpolation"; it does not name a method. Each library
        picked its own (see the module docstring), and the choices change the numbers.
    """
    single, k, (gh, gw) = _split_sizes(pos_embed, old_grid_size, num_prefix_tokens)
    nh, nw = to_pair(new_grid_size, "new_grid_size")
    if mode not in MODES:
        raise ValueError(
            f"mode must be one of {', '.join(repr(m) for m in MODES)}, got {mode!r}; "
            f"torchvision and timm use 'bicubic', the original code linear ('bilinear' with "
            f"align_corners=True)"
        )
    _check_flag(align_corners, "align_corners")
    _check_flag(antialias, "antialias")
    if mode not in _SMOOTH_MODES and (align_corners or antialias):
        flag = "align_corners" if align_corners else "antialias"
        raise ValueError(
            f"{flag}=True only applies to mode 'bilinear' or 'bicubic', got mode {mode!r}; "
            f"pass {flag}=False, or choose mode='bilinear' or 'bicubic'"
        )

    x = pos_embed.unsqueeze(0) if single else pos_embed  # (prefix + N, D) -> (1, prefix + N, D)
    D = x.shape[-1]
    prefix, grid = x[:, :k], x[:, k:]  # (1, prefix + N, D) -> (1, prefix, D), (1, N, D)
    work_dtype = torch.float64 if x.dtype == torch.float64 else torch.float32
    grid = grid.to(work_dtype).reshape(1, gh, gw, D)  # (1, N, D) -> (1, H/P, W/P, D), row-major
    grid = grid.permute(0, 3, 1, 2)  # -> (1, D, H/P, W/P): D images (a view, channels last)
    grid = F.interpolate(
        grid, size=(nh, nw), mode=mode,
        align_corners=align_corners if mode in _SMOOTH_MODES else None,
        antialias=antialias,
    )  # (1, D, H/P, W/P) -> (1, D, H'/P, W'/P)
    grid = grid.permute(0, 2, 3, 1).reshape(1, nh * nw, D)  # -> (1, H'/P, W'/P, D) -> (1, N', D)
    grid = grid.to(x.dtype)
    out = torch.cat([prefix, grid], dim=1)  # (1, prefix, D) + (1, N', D) -> (1, prefix + N', D)
    return out[0] if single else out  # (1, prefix + N', D) -> (prefix + N', D) when unbatched


def zoom_pos_embed(
    pos_embed: torch.Tensor,
    new_grid_size: int | tuple[int, int],
    old_grid_size: int | tuple[int, int] | None = None,
    num_prefix_tokens: int = 1,
) -> torch.Tensor:
    r"""Resize $E_\text{pos}$ the way the original JAX code does (Sec. 3.2, for comparison).

    The authors' ``vit_jax/checkpoint.py`` splits off the class token, reshapes the grid
    rows to ``(H/P, W/P, D)`` and calls
    ``scipy.ndimage.zoom(grid, (new / old, new / old, 1), order=1)`` — a piecewise-linear
    (order-1 spline) resize, no anti-aliasing. This function does the same with SciPy.

    ``scipy.ndimage.zoom`` (with its default ``grid_mode=False``) puts the corner samples
    of the old grid on the corner samples of the new grid, like ``align_corners=True``.
    With ``order=1`` the result equals
    ``resize_pos_embed(..., mode="bilinear", align_corners=True)`` to rounding (checked in
    the tests, also when shrinking the grid).

    Args:
        pos_embed: $E_\text{pos}$, ``(1, prefix + N, D)`` or ``(prefix + N, D)``.
        new_grid_size: the new grid ``(H'/P, W'/P)`` or one int. The original code only
            handles square grids; here a non-square one zooms each axis by its own factor.
        old_grid_size: the old grid; ``None`` infers a square one, as the original does.
        num_prefix_tokens: 1 with a class token (the original's ``classifier='token'``),
            0 without (``classifier='gap'``).

    Returns:
        The resized $E_\text{pos}$ with the rank, dtype and device of ``pos_embed``. SciPy
        works on NumPy arrays (here in float64), so the result is **not** differentiable.

    Raises:
        ImportError: if SciPy is not installed.

    Shapes:
        - pos_embed ``(1, prefix + N, D)`` -> ``(1, prefix + N', D)``
        - pos_embed ``(prefix + N, D)`` -> ``(prefix + N', D)``
    """
    try:
        from scipy import ndimage
    except ImportError as error:  # pragma: no cover - scipy is present wherever tests run
        raise ImportError(
            "zoom_pos_embed needs SciPy (scipy.ndimage.zoom), which is not installed; "
            "install it with `pip install scipy`, or use resize_pos_embed(..., "
            "mode='bilinear', align_corners=True), which gives the same numbers"
        ) from error

    single, k, (gh, gw) = _split_sizes(pos_embed, old_grid_size, num_prefix_tokens)
    nh, nw = to_pair(new_grid_size, "new_grid_size")
    x = pos_embed.detach()
    x = x.unsqueeze(0) if single else x  # (prefix + N, D) -> (1, prefix + N, D)
    D = x.shape[-1]
    prefix, grid = x[:, :k], x[0, k:]  # (1, prefix + N, D) -> (1, prefix, D), (N, D)
    if x.device.type == "meta":  # shapes only: nothing for SciPy to compute
        zoomed = torch.empty(nh, nw, D, device="meta", dtype=x.dtype)
    else:
        grid = grid.cpu().double().numpy().reshape(gh, gw, D)  # (N, D) -> (H/P, W/P, D)
        zoomed = ndimage.zoom(grid, (nh / gh, nw / gw, 1), order=1)  # -> (H'/P, W'/P, D)
        zoomed = torch.from_numpy(zoomed).to(device=x.device, dtype=x.dtype)
    zoomed = zoomed.reshape(1, nh * nw, D)  # (H'/P, W'/P, D) -> (1, N', D)
    out = torch.cat([prefix, zoomed], dim=1)  # (1, prefix, D) + (1, N', D) -> (1, prefix + N', D)
    return out[0] if single else out  # (1, prefix + N', D) -> (prefix + N', D) when unbatched


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
        single, k, (gh, gw) = _split_sizes(pos_embed, grid_size, num_prefix_tokens,
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
            raise ValueError(f"channel {ch} is out of range for D = {D}; pick channels in 0..{D - 1}")

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

    _, k, (oh, ow) = _split_sizes(pos_embed, old_grid_size, num_prefix_tokens, "pos_embed")
    check_tensor(resized, "resized")
    positions = resized.shape[-2] - k
    if new_grid_size is None and resized.ndim in (2, 3) and positions > 0 and (
            math.isqrt(positions) ** 2 != positions):
        raise ValueError(f"resized has {resized.shape[-2]} tokens = {k} prefix + {positions} grid "
                         f"positions, and {positions} is not a perfect square; pass "
                         f"new_grid_size=(h', w') with h'·w' = {positions}")
    _, _, (nh, nw) = _split_sizes(resized, new_grid_size, num_prefix_tokens, "resized")
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
    if mode not in _SMOOTH_MODES:
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
