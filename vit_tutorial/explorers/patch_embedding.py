r"""Lesson 02's explorer: one patch of the photo, its $P^2 \cdot C$ values and its embedding
$x_p^n E + b$ (``notebooks/02_patch_embeddings.ipynb``).

:func:`patch_embedding_view` is the pure, tested function; :func:`patch_embedding_explorer`
wires a slider to it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import torch

from vit_tutorial._checks import check_positive_int
from vit_tutorial.explorers.base import Explorer, picture, slider
from vit_tutorial.explorers.common import check_in_range, explorer_figure, photo
from vit_tutorial.figures import render_png
from vit_tutorial.patch_embedding import PatchEmbedding
from vit_tutorial.patches import image_to_patches, plot_patch_vector

__all__ = ["PatchEmbeddingView", "patch_embedding_view", "PatchEmbeddingExplorer",
           "patch_embedding_explorer"]


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


def patch_embedding_view(index: int = 78, patch_size: int = 16, image_size: int = 224,
                         embed_dim: int = 768) -> PatchEmbeddingView:
    r"""Patch $n$ of the photo, its $P^2 \cdot C$ values, and its embedding (Eq. 1).

    Draws :func:`~vit_tutorial.patches.plot_patch_vector` (where the patch is, the patch, its
    vector) and, beside it, $x_p^n E + b$: the $D$ numbers the Transformer receives for
    this patch, from ``PatchEmbedding`` with lesson 02's random weights (seed 0).

    Args:
        index: $n$, ``0 <= index < N``.
        patch_size: $P$.
        image_size: $H$ = $W$ of the photo.
        embed_dim: $D$.

    Returns:
        A :class:`PatchEmbeddingView`.

    Raises:
        ValueError: if ``index`` is not a patch of the grid (the message gives the range).
    """
    image = photo(check_positive_int(image_size, "image_size"))
    embedding_layer = _seeded_embedding(image_size, patch_size, embed_dim)
    fig = explorer_figure(15.5, 3.6)
    axes = fig.subplots(1, 4, gridspec_kw=dict(width_ratios=[1, 1, 2.3, 2.3], left=0.04,
                                               right=0.99, bottom=0.17, top=0.86, wspace=0.3))
    plot_patch_vector(image, patch_size, index, axes=axes[:3])  # checks index, raises ValueError
    gw = image_size // patch_size
    row, column = divmod(index, gw)
    vector = image_to_patches(image, patch_size)[index]  # (N, C·P·P) -> (C·P·P,)
    with torch.no_grad():
        tokens = embedding_layer(image.unsqueeze(0))[0]  # (1, C, H, W) -> (1, N, D) -> (N, D)
    embedding = tokens[index]  # (D,)
    ax = axes[3]
    ax.plot(range(embed_dim), embedding.numpy(), color="tab:purple", linewidth=0.7)
    ax.axhline(0, color="0.6", linewidth=0.6)
    ax.set_xlim(-0.5, embed_dim - 0.5)
    ax.set_title(f"its embedding $x_p^{{{index}}} E + b$: D = {embed_dim} values", fontsize=10)
    ax.set_xlabel("channel d of the embedding")
    ax.set_ylabel("value (random E, seed 0)")
    for a in axes[:3]:
        a.title.set_fontsize(10)
    text = (f"patch n = {index} of N = {gw * gw}: grid row {row}, column {column}; "
            f"x_p^{index} has P²·C = {vector.numel()} values, "
            f"x_p^{index} E + b has D = {embed_dim}")
    return PatchEmbeddingView(index, row, column, vector, embedding, render_png(fig), text)


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
        self._sizes = (patch_size, image_size)
        last = (image_size // patch_size) ** 2 - 1
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
    """
    index = check_in_range(index, "index", 0, (224 // 16) ** 2 - 1, " (the 14×14 patches)")
    return PatchEmbeddingExplorer(index)
