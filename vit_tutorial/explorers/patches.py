r"""Lesson 01's explorer: move the patch size over the photo and watch the grid, $N$ and
the shape of $x_p$ (``notebooks/01_patches.ipynb``).

:func:`patch_summary` and :func:`draw_patch_explorer` are the pure, tested functions;
:func:`patch_explorer` wires two sliders to them.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass

from vit_tutorial._checks import check_positive_int
from vit_tutorial.explorers.base import Explorer, picture, slider
from vit_tutorial.explorers.common import check_in_range, explorer_figure, photo
from vit_tutorial.figures import draw_patch_grid, few_ticks, label_patch, render_png
from vit_tutorial.patches import image_to_patches, num_patches

__all__ = ["PatchSummary", "patch_summary", "draw_patch_explorer", "patch_explorer_png",
           "PatchExplorer", "patch_explorer", "IMAGE_SIZES", "PATCH_SIZES"]

IMAGE_SIZES = (32, 448)  # the image-size slider's range, H = W in pixels
PATCH_SIZES = (1, 64)  # the patch-size slider's range


@dataclass(frozen=True)
class PatchSummary:
    r"""What cutting an ``H × W × C`` image into ``P × P`` patches gives (Sec. 3.1).

    Attributes:
        image_size: $H$ = $W$.
        patch_size: $P$.
        channels: $C$.
        grid: ``(H/P, W/P)``, or ``None`` if $P$ does not divide the image.
        num_patches: $N = HW/P^2$, or ``None``.
        patch_dim: $P^2 \cdot C$, the length of one patch vector.
        error: the package's ``ValueError`` message when $P$ does not divide the image
            (how to fix it included), else ``None``.
    """

    image_size: int
    patch_size: int
    channels: int
    grid: tuple[int, int] | None
    num_patches: int | None
    patch_dim: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def sequence_shape(self) -> tuple[int, int] | None:
        r"""``(N, P²·C)``, the shape of $x_p$; ``None`` if the size doesn't divide."""
        return None if self.num_patches is None else (self.num_patches, self.patch_dim)

    @property
    def text(self) -> str:
        """One line for a readout, e.g. ``224×224×3 image, P = 16: 14×14 grid, N = 196 …``."""
        S, P, C = self.image_size, self.patch_size, self.channels
        head = f"{S}×{S}×{C} image, P = {P}"
        if not self.ok:
            return f"{head}: {self.error}"
        gh, gw = self.grid
        N = self.num_patches
        return (f"{head}: {gh}×{gw} grid, N = {S}·{S}/{P}² = {N} patches; "
                f"x_p: ({N}, {self.patch_dim}) = (N, P²·C); "
                f"attention compares N² = {N * N:,} pairs")


def patch_summary(image_size: int, patch_size: int, channels: int = 3) -> PatchSummary:
    r"""$N$, the grid and the shape of $x_p$ for a square image, or why there are none.

    Args:
        image_size: $H$ = $W$ in pixels.
        patch_size: $P$.
        channels: $C$ (3 for the photo).

    Returns:
        A :class:`PatchSummary`; when $P$ does not divide $H$ its ``error`` holds the message
        :func:`vit_tutorial.patches.num_patches` raises, and ``grid``/``num_patches`` are None.

    Example:
        >>> patch_summary(224, 16).sequence_shape
        (196, 768)
        >>> patch_summary(224, 15).error.split(";")[0]
        'image height 224 is not divisible by patch_size 15'
    """
    S = check_positive_int(image_size, "image_size")
    P = check_positive_int(patch_size, "patch_size")
    C = check_positive_int(channels, "channels")
    try:
        N = num_patches(S, P)
    except ValueError as error:
        return PatchSummary(S, P, C, None, None, P * P * C, str(error))
    return PatchSummary(S, P, C, (S // P, S // P), N, P * P * C, None)


def draw_patch_explorer(image_size: int = 224, patch_size: int = 16):
    r"""The patch explorer's picture (lesson 01): the photo cut into patches, and $x_p$.

    Left: the photo at ``image_size``² with the grid of ``patch_size``² patches; patches are
    numbered in reading order (all of them when $N \le 64$, else the first and last of the
    first two rows and the very last). If $P$ does not divide the size, the whole patches
    are drawn and the leftover strip of pixels is hatched in red. Right: the sequence
    $x_p$ as an $N \times (P^2 \cdot C)$ matrix of pixel values — one row per patch, in
    (C, P, P) order — or the error message.

    Args:
        image_size: $H$ = $W$ of the photo, in pixels.
        patch_size: $P$.

    Returns:
        A matplotlib ``Figure`` (not registered with pyplot).
    """
    summary = patch_summary(image_size, patch_size)
    image = photo(summary.image_size)  # (C, H, W)
    fig = explorer_figure(9.6, 4.4)
    _draw_photo(fig.add_axes((0.07, 0.12, 0.38, 0.76)), image, summary)
    _draw_sequence(fig, fig.add_axes((0.56, 0.12, 0.33, 0.76)), image, summary)
    return fig


def _draw_photo(ax, image, summary: PatchSummary) -> None:
    """Left panel: the photo, its patch grid and patch numbers, or the leftover strip."""
    from matplotlib.patches import Rectangle

    S, P = summary.image_size, summary.patch_size
    ax.imshow(image.permute(1, 2, 0).numpy(), interpolation="antialiased")  # (H, W, C)
    ax.set_xlabel("width (pixels)")
    ax.set_ylabel("height (pixels)")
    whole = S // P  # whole patches per side
    if whole:
        draw_patch_grid(ax, (whole, whole), (P, P))
    if summary.ok:
        gh, gw = summary.grid
        N = summary.num_patches
        numbered = range(N) if N <= 64 else sorted(
            {0, 1, gw - 1, gw, 2 * gw - 1, N - 1} & set(range(N)))
        for n in numbered:
            r, c = divmod(n, gw)
            label_patch(ax, c * P + 0.04 * P, r * P + 0.04 * P, str(n),
                        8 if max(gh, gw) <= 8 else 7)
        ax.set_title(f"{S}×{S} photo, P = {P}: {gh}×{gw} = {N} patches", fontsize=10)
    else:
        left = S - whole * P  # leftover pixels on the right and at the bottom
        for xy, w, h in (((whole * P - 0.5, -0.5), left, S), ((-0.5, whole * P - 0.5), S, left)):
            ax.add_patch(Rectangle(xy, w, h, facecolor="tab:red", alpha=0.35,
                                   edgecolor="tab:red", hatch="//", linewidth=1))
        ax.set_title(f"{S} = {whole}·{P} + {left}: {left} pixel(s) left over", fontsize=10,
                     color="tab:red")
    ax.set_xlim(-0.5, S - 0.5)
    ax.set_ylim(S - 0.5, -0.5)
    ticks = few_ticks(S)  # few tick labels: text is most of the drawing time
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)


def _draw_sequence(fig, ax, image, summary: PatchSummary) -> None:
    """Right panel: x_p as an N × (P²·C) matrix of pixel values, or the error message."""
    P = summary.patch_size
    if not summary.ok:
        ax.set_axis_off()
        ax.text(0.0, 0.6, f"No x_p: image_to_patches would raise\n\nValueError: "
                f"{_wrap(summary.error, 42)}", transform=ax.transAxes, fontsize=10,
                color="tab:red", va="center", ha="left")
        return
    x_p = image_to_patches(image, P)  # (C, H, W) -> (N, C·P·P)
    N, K = x_p.shape
    shown = ax.imshow(x_p.numpy(), cmap="gray", vmin=0, vmax=1, aspect="auto",
                      interpolation="antialiased")
    length = P * P
    ax.set_xticks([length * c + length / 2 - 0.5 for c in range(3)], ["R", "G", "B"])
    for c in (1, 2):
        ax.axvline(length * c - 0.5, color="tab:orange", linewidth=1)
    ax.set_xlabel(f"value in the patch vector: C·P·P = 3·{P}·{P} = {K}")
    ax.set_yticks(few_ticks(N - 1))
    ax.set_ylabel(f"patch n (0 … {N - 1})")
    ax.set_title(f"x_p: ({N}, {K}) = (N, P²·C)", fontsize=10)
    cax = fig.add_axes((0.905, 0.12, 0.015, 0.76))
    fig.colorbar(shown, cax=cax, label="pixel value", ticks=[0, 0.5, 1])


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width))


def patch_explorer_png(image_size: int = 224, patch_size: int = 16) -> bytes:
    """:func:`draw_patch_explorer` rendered to PNG bytes (what the widget shows)."""
    return render_png(draw_patch_explorer(image_size, patch_size))


class PatchExplorer(Explorer):
    r"""Lesson 01: the photo cut into $P \times P$ patches, for any image and patch size.

    Attributes:
        image_size: ``IntSlider``, $H$ = $W$ in pixels (32 … 448).
        patch_size: ``IntSlider``, $P$ (1 … 64).
        image: ``Image``, the picture of :func:`vit_tutorial.draw_patch_explorer`.
        summary: the :class:`PatchSummary` shown.
    """

    name = "patch"
    _settings = ("image_size", "patch_size")

    def __init__(self, image_size: int = 224, patch_size: int = 16):
        self.image_size = slider("image size H = W", image_size, *IMAGE_SIZES)
        self.patch_size = slider("patch size P", patch_size, *PATCH_SIZES)
        self.image = picture()
        self.summary = None
        super().__init__([self.image_size, self.patch_size], [self.image])
        self.refresh()

    def _draw(self) -> None:
        S, P = self.image_size.value, self.patch_size.value
        self.summary = patch_summary(S, P)
        self.image.value = patch_explorer_png(S, P)
        if self.summary.ok:
            self._set_readout(self.summary.text)
        else:
            self._set_readout(f"{S}×{S}×3 image, P = {P}: no grid of whole patches")
            raise ValueError(self.summary.error)


def patch_explorer(image_size: int = 224, patch_size: int = 16) -> PatchExplorer:
    r"""Lesson 01's explorer: move $P$ (and the image size) and watch the grid, N and x_p.

    Raises:
        ValueError: a size outside the sliders' ranges (:data:`IMAGE_SIZES`,
            :data:`PATCH_SIZES`); the message gives the range.
    """
    image_size = check_in_range(image_size, "image_size", *IMAGE_SIZES)
    patch_size = check_in_range(patch_size, "patch_size", *PATCH_SIZES)
    return PatchExplorer(image_size, patch_size)
