r"""Lesson 02's explorer: one patch of the photo, its $P^2 \cdot C$ values and its embedding
$x_p^n E + b$ (``notebooks/02_patch_embeddings.ipynb``).

:func:`patch_embedding_view` is the pure, tested function; :func:`patch_embedding_explorer`
wires a slider to it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch

from vit_tutorial.explorers.base import Explorer, picture, slider
from vit_tutorial.explorers.common import Picture, check_in_range, photo
from vit_tutorial.explorers.patches import IMAGE_SIZES, PATCH_SIZES
from vit_tutorial.patch_embedding import PatchEmbedding
from vit_tutorial.patches import image_to_patches, num_patches

__all__ = ["PatchEmbeddingView", "patch_embedding_view", "PatchEmbeddingPicture",
           "PatchEmbeddingExplorer", "patch_embedding_explorer", "clear_caches", "EMBED_DIMS"]

EMBED_DIMS = (1, 1280)  # D, up to ViT-Huge's width (Table 1)


@functools.lru_cache(maxsize=4)
def _seeded_embedding(image_size: int, patch_size: int, embed_dim: int):
    """Lesson 02's randomly initialised E (seed 0), without touching the global RNG."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return PatchEmbedding(image_size, patch_size, 3, embed_dim).eval()


@dataclass(frozen=True)
class PatchEmbeddingView:
    r"""One patch $x_p^n$ and its embedding $x_p^n E + b$ (lesson 02).

    Attributes:
        index: $n$.
        row, column: where the patch sits on the grid (from 0).
        patch_vector: ``(P²·C,)``, the patch's values in (C, P, P) order.
        embedding: ``(D,)``, ``x_p^n E + b`` with lesson 02's random $E$ (seed 0).
        png: the picture.
        text: one line for a readout.
    """

    index: int
    row: int
    column: int
    patch_vector: torch.Tensor = field(repr=False)
    embedding: torch.Tensor = field(repr=False)
    png: bytes = field(repr=False)
    text: str


class PatchEmbeddingPicture(Picture):
    r"""The patch embedding explorer's picture for one photo size, $P$ and $D$, kept between
    redraws (see :class:`Picture`).

    Left to right: the photo with the patch framed, the patch enlarged, its $P^2 \cdot C$
    values in (C, P, P) order (as :func:`~vit_tutorial.patches.plot_patch_vector` draws
    them), and its embedding $x_p^n E + b$, on one scale for every patch. A new patch moves
    the frame and swaps the patch image, the value lines and the embedding's line.
    """

    def __init__(self, image_size: int = 224, patch_size: int = 16, embed_dim: int = 768):
        from matplotlib.patches import Rectangle

        super().__init__(15.5, 3.6)
        self.image = photo(image_size)  # (C, H, W)
        self.patch_size = patch_size
        C = self.image.shape[0]
        picture = self.image.permute(1, 2, 0).numpy()  # (C, H, W) -> (H, W, C)
        self.picture = picture
        ax_image, ax_patch, ax_vector, ax_embed = self.fig.subplots(
            1, 4, gridspec_kw=dict(width_ratios=[1, 1, 2.3, 2.3], left=0.04, right=0.99,
                                   bottom=0.17, top=0.86, wspace=0.3))
        ax_image.imshow(picture)
        self.frame = ax_image.add_patch(Rectangle((0, 0), patch_size, patch_size, fill=False,
                                                  edgecolor="yellow", linewidth=2))
        ax_image.set_xlabel("width (pixels)")
        ax_image.set_ylabel("height (pixels)")

        P = patch_size
        self.patch = ax_patch.imshow(picture[:P, :P])  # (P, P, C) crop
        ax_patch.set_title(f"the patch, {P}×{P} pixels", fontsize=10, y=1.0)
        ax_patch.set_xlabel("column in the patch")
        ax_patch.set_ylabel("row in the patch")

        length = P * P
        names, colours = ("red", "green", "blue"), ("tab:red", "tab:green", "tab:blue")
        self.values = []
        for c in range(C):
            ax_vector.axvspan(c * length - 0.5, (c + 1) * length - 0.5, color=colours[c],
                              alpha=0.1)
            self.values += ax_vector.plot(range(c * length, (c + 1) * length),
                                          [0.0] * length, color=colours[c], linewidth=0.8,
                                          label=f"{names[c]}: {length} values")
        ax_vector.set_xlim(-0.5, C * length - 0.5)
        ax_vector.set_ylim(-0.02, 1.22)  # room above the values (at most 1) for the legend
        ax_vector.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax_vector.set_title(f"its patch vector: {C}·{P}·{P} = {C * length} values in "
                            f"(C, P, P) order", fontsize=10)
        ax_vector.set_xlabel("position in the patch vector")
        ax_vector.set_ylabel("pixel value")
        ax_vector.legend(loc="upper center", fontsize=8, ncol=C, frameon=False,
                         borderaxespad=0.2, handlelength=1.2, columnspacing=1.0)

        tokens = _tokens(image_size, patch_size, embed_dim)  # (N, D), every patch
        ax_embed.axhline(0, color="0.6", linewidth=0.6)
        self.embedding = ax_embed.plot(range(embed_dim), tokens[0].numpy(),
                                       color="tab:purple", linewidth=0.7)[0]
        ax_embed.set_xlim(-0.5, embed_dim - 0.5)
        low, high = tokens.min().item(), tokens.max().item()
        margin = 0.05 * (high - low)  # matplotlib's default margin, around every patch's values
        ax_embed.set_ylim(low - margin, high + margin)  # one scale, to compare patches
        ax_embed.set_xlabel("channel d of the embedding")
        ax_embed.set_ylabel("value (random E, seed 0)")
        self.ax_image, self.ax_embed = ax_image, ax_embed
        self.embed_dim = embed_dim
        self.layers = [[self.frame, *ax_image.spines.values(), ax_image.title, self.patch,
                        *ax_patch.spines.values(), *self.values, *ax_vector.spines.values(),
                        self.embedding, *ax_embed.spines.values(), ax_embed.title]]

    def update(self, index: int, embedding: torch.Tensor) -> PatchEmbeddingPicture:
        """Show patch ``index`` and its embedding ``(D,)``."""
        P = self.patch_size
        gw = self.image.shape[-1] // P
        row, column = divmod(index, gw)
        top, left = row * P, column * P
        self.frame.set_xy((left - 0.5, top - 0.5))
        self.ax_image.set_title(f"patch {index}: grid row {row}, column {column}",
                                fontsize=10, y=1.0)
        self.patch.set_data(self.picture[top:top + P, left:left + P])  # (P, P, C) crop
        vector = image_to_patches(self.image, P)[index]  # (N, C·P·P) -> (C·P·P,)
        for c, line in enumerate(self.values):
            line.set_ydata(vector[c * P * P:(c + 1) * P * P].numpy())
        self.embedding.set_ydata(embedding.numpy())
        self.ax_embed.set_title(f"its embedding $x_p^{{{index}}} E + b$: D = {self.embed_dim} "
                                f"values", fontsize=10, y=1.0)
        return self


@functools.lru_cache(maxsize=2)
def _picture(image_size: int, patch_size: int, embed_dim: int) -> PatchEmbeddingPicture:
    return PatchEmbeddingPicture(image_size, patch_size, embed_dim)


@functools.lru_cache(maxsize=2)
def _tokens(image_size: int, patch_size: int, embed_dim: int) -> torch.Tensor:
    """Every patch's embedding with lesson 02's random E, ``(N, D)`` (computed once)."""
    image = photo(image_size)  # (C, H, W)
    with torch.no_grad():
        # (1, C, H, W) -> (1, N, D) -> (N, D)
        return _seeded_embedding(image_size, patch_size, embed_dim)(image.unsqueeze(0))[0]


def patch_embedding_view(index: int = 78, patch_size: int = 16, image_size: int = 224,
                         embed_dim: int = 768) -> PatchEmbeddingView:
    r"""Patch $n$ of the photo, its $P^2 \cdot C$ values, and its embedding (Eq. 1).

    Draws where the patch is, the patch, its vector (as
    :func:`~vit_tutorial.patches.plot_patch_vector` does) and, beside them, $x_p^n E + b$:
    the $D$ numbers the Transformer receives for this patch, from ``PatchEmbedding`` with
    lesson 02's random weights (seed 0). One :class:`PatchEmbeddingPicture` per setting is
    kept and updated.

    Args:
        index: $n$, ``0 <= index < N``.
        patch_size: $P$ (1 … 64), dividing ``image_size``.
        image_size: $H$ = $W$ of the photo (32 … 448).
        embed_dim: $D$ (1 … 1280, ViT-H's width).

    Returns:
        A :class:`PatchEmbeddingView`.

    Raises:
        ValueError: a size outside its range or a $P$ that does not divide the image (checked
            before anything is allocated), or an ``index`` that is not a patch of the grid
            (the message gives the range).
        TypeError: a setting that is not one whole number.
    """
    image_size = check_in_range(image_size, "image_size", *IMAGE_SIZES)
    patch_size = check_in_range(patch_size, "patch_size", *PATCH_SIZES)
    embed_dim = check_in_range(embed_dim, "embed_dim", *EMBED_DIMS)
    N = num_patches(image_size, patch_size)  # raises the package's message if P doesn't divide
    side = image_size // patch_size
    index = check_in_range(index, "index", 0, N - 1, f" (the {side}×{side} patches)")
    row, column = divmod(index, side)
    vector = image_to_patches(photo(image_size), patch_size)[index]  # (N, C·P·P) -> (C·P·P,)
    embedding = _tokens(image_size, patch_size, embed_dim)[index]  # (N, D) -> (D,)
    png = _picture(image_size, patch_size, embed_dim).update(index, embedding).png()
    text = (f"patch n = {index} of N = {N}: grid row {row}, column {column}; "
            f"x_p^{index} has P²·C = {vector.numel()} values, "
            f"x_p^{index} E + b has D = {embed_dim}")
    return PatchEmbeddingView(index, row, column, vector, embedding, png, text)


class PatchEmbeddingExplorer(Explorer):
    r"""Lesson 02: one patch $x_p^n$, its $P^2 \cdot C$ values, and its embedding $x_p^n E + b$.

    Attributes:
        index: ``IntSlider``, the patch number $n$ (0 … N-1).
        image: ``Image``, the picture of :func:`vit_tutorial.patch_embedding_view`.
        view: the :class:`PatchEmbeddingView` shown.
    """

    name = "patch_embedding"
    _settings = ("index",)

    def __init__(self, index: int = 78, patch_size: int = 16, image_size: int = 224):
        image_size = check_in_range(image_size, "image_size", *IMAGE_SIZES)
        patch_size = check_in_range(patch_size, "patch_size", *PATCH_SIZES)
        num_patches(image_size, patch_size)  # the package's message if P does not divide
        side = image_size // patch_size
        last = side * side - 1
        index = check_in_range(index, "index", 0, last, f" (the {side}×{side} patches)")
        self._sizes = (patch_size, image_size)
        self.index = slider("patch n", index, 0, last)
        self.image = picture()
        self.view = None
        super().__init__([self.index], [self.image])
        self.refresh()

    def _draw(self) -> None:
        patch_size, image_size = self._sizes
        self.view = patch_embedding_view(self.index.value, patch_size, image_size)
        self.image.value = self.view.png
        self._set_readout(self.view.text)


def patch_embedding_explorer(index: int = 78) -> PatchEmbeddingExplorer:
    """Lesson 02's explorer: pick a patch of the 224×224 photo (P = 16), see its vector and
    its embedding.

    Raises:
        ValueError: ``index`` is not a patch of the 14×14 grid (0 … 195).
        TypeError: ``index`` is not one whole number.
    """
    return PatchEmbeddingExplorer(index)


def clear_caches() -> None:
    """Forget the kept pictures, embeddings and layers, so that the next view starts from
    scratch (for timing a first picture, and tests)."""
    _picture.cache_clear()
    _tokens.cache_clear()
    _seeded_embedding.cache_clear()
