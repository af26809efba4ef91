r"""Exercises of lesson 04, position embeddings (``notebooks/04_positional_embeddings.ipynb``):
their checkers."""

from __future__ import annotations

import torch
from torch import nn

from vit_tutorial.checks import check_bool
from vit_tutorial.exercises.checking import (
    checker,
    count_parameters,
    distinct_values,
    fail_check,
    random_block,
    run_answer,
    tensor_problem,
    type_name,
)
from vit_tutorial.exercises.questions import Question, check_answers
from vit_tutorial.model import CONFIGS
from vit_tutorial.patches import num_patches
from vit_tutorial.positional_embedding import PositionalEmbedding

__all__ = ['check_pos_embed_answers', 'check_shuffle_patches', 'check_permutation_invariance']

def _pos_embed_questions() -> list[Question]:
    config = CONFIGS["vit_b_16"]
    D, N = config.embed_dim, num_patches(config.image_size, config.patch_size)
    b16 = PositionalEmbedding(N, D)
    table = tuple(b16.pos_embed.shape)  # (1, N + 1, D)
    large = CONFIGS["vit_l_32"]
    n_l32 = num_patches(384, large.patch_size)
    l32 = PositionalEmbedding(n_l32, large.embed_dim)
    no_cls = PositionalEmbedding(N, D, num_prefix_tokens=0).pos_embed.shape[1]
    forgot = "E_pos has a row for the class token too: N + 1 rows"
    return [
        Question("pos_embed_shape_B16", "shape of E_pos as the paper writes it, (N + 1) × D, "
                                         "ViT-B/16 at 224", table[1:],
                  (((N, D), forgot), ((D, N + 1), "one row per position, one column per "
                                                  "channel: (N + 1, D)")),
                  "E_pos ∈ ℝ^{(N+1)×D}",
                  also=((table, "the model stores it as (1, N + 1, D), with a batch axis of 1 "
                                "that broadcasts over the batch"),)),
        Question("pos_embed_params_B16", "trainable parameters of E_pos, ViT-B/16 at 224",
                  count_parameters(b16), ((N * D, forgot),), "(N + 1)·D"),
        Question("pos_embed_params_L32_384", "trainable parameters of E_pos, ViT-L/32 at "
                                              "384×384", count_parameters(l32),
                  ((n_l32 * large.embed_dim, forgot),
                   (count_parameters(b16), "that is ViT-B/16 at 224; here P = 32, H = W = 384 and "
                                  "D = 1024")),
                  "(N + 1)·D, with N for this model at this resolution and D from Table 1"),
        Question("pos_embed_rows_no_cls_B16", "rows of E_pos for a ViT-B/16 without a class "
                                               "token (e.g. one that averages the patches)",
                  no_cls, ((N + 1, "without a class token there is no row for it"),),
                  "one row per position in the sequence"),
    ]


@checker("position embedding answers")
def check_pos_embed_answers(answers) -> str:
    """Lesson 04, check your understanding: the shape and size of E_pos.

    Args:
        answers: a dict (or a function returning one) with the keys ``pos_embed_shape_B16``
            (a tuple), ``pos_embed_params_B16``, ``pos_embed_params_L32_384`` and
            ``pos_embed_rows_no_cls_B16``.
    """
    return check_answers(answers, _pos_embed_questions())


_PERM = (2, 0, 5, 1, 3, 4)  # a permutation of 6 patches that is not its own inverse


@checker("shuffle_patches")
def check_shuffle_patches(fn) -> str:
    """Lesson 04, implement it: ``fn(tokens, perm) -> the patches shuffled``.

    ``tokens`` is a sequence ``(B, 1 + N, D)`` with the class token at position 0; ``perm``
    a permutation of ``0 … N-1`` (``torch.randperm(N)``). Return ``(B, 1 + N, D)`` with the
    class token still at position 0 and, at place ``i`` after it, patch ``perm[i]``:
    ``tokens[:, 1:][:, perm]``.
    """
    for B, N, D, perm in ((2, 6, 3, _PERM), (1, 4, 2, (3, 2, 0, 1))):
        what = f"a batch of {B} sequences of 1 + {N} tokens, perm = {list(perm)}"
        tokens = distinct_values(B, 1 + N, D)
        order = torch.tensor(perm)
        got = run_answer(fn, tokens.clone(), order.clone(), case=f"on {what}: ")
        cls, patches = tokens[:, :1], tokens[:, 1:]  # (B, 1, D), (B, N, D)
        expected = torch.cat([cls, patches[:, order]], dim=1)
        variants = [
            (tokens[:, order], "you indexed the whole sequence with perm: position 0 is the "
                               "class token, so it was shuffled in and the last patch fell "
                               "out. Keep tokens[:, :1] in front and shuffle tokens[:, 1:]"),
            (patches[:, order], "the class token is missing: put tokens[:, :1] back in front "
                                "of the shuffled patches"),
            ((B, N, D), f"expected 1 + N = {1 + N} tokens: keep the class token in front"),
            (torch.cat([cls, patches[:, order.argsort()]], dim=1),
             "you applied the inverse permutation: place i must hold patch perm[i] "
             "(patches[:, perm]); yours puts patch i at place perm[i]"),
            (torch.cat([cls, tokens[:, order]], dim=1),
             "off by one: perm numbers the patches 0 … N-1, but in the sequence they sit at "
             "positions 1 … N (position 0 is the class token) — index tokens[:, 1:] with "
             "perm"),
            (torch.cat([patches[:, order], cls], dim=1),
             "the class token moved to the end; keep it at position 0"),
            (tokens, "nothing moved: apply perm to the patch positions (dim 1)"),
        ]
        problem = tensor_problem(got, expected, variants)
        if problem:
            fail_check(f"on {what}: {problem[0]}", *problem[1:])
    return ("correct on 2 cases: the patches follow perm and the class token stays at "
            "position 0.")


class _AddLeftNeighbour(nn.Module):
    """A layer that sees order: each token plus the one before it (cyclically)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z + z.roll(1, dims=1)  # (B, T, D)


class _ClassReadsFirstPatch(nn.Module):
    """The patches pass unchanged (so they move with any shuffle), but the class token adds
    the patch in the first place: its output depends on the order."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        first = torch.zeros_like(z)
        first[:, 0] = z[:, 1]  # the patch at position 1, whichever it is
        return z + first  # (B, T, D)


class _PatchesAddLeftNeighbour(nn.Module):
    """The class token passes unchanged, whatever the order; each patch adds the one before
    it (cyclically), so the patches' outputs do not simply move with a shuffle."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        patches = z[:, 1:]  # (B, N, D)
        return torch.cat([z[:, :1], patches + patches.roll(1, dims=1)], dim=1)  # (B, 1 + N, D)


def _as_bool(value: object):
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        return bool(value.item())
    try:
        return check_bool(value, "the answer")  # Python's or NumPy's bool
    except TypeError:
        return None


@checker("permutation_invariance")
def check_permutation_invariance(fn) -> str:
    """Lesson 04, implement it: ``fn(layer, tokens, perm) -> bool``.

    Does shuffling the patches leave the class token's output unchanged? ``layer`` maps
    ``(B, 1 + N, D)`` to ``(B, 1 + N, D)``; ``tokens`` has the class token at position 0;
    ``perm`` is a permutation of the N patches. Return ``True`` if ``layer`` gives the class
    token the same output (to within ``atol=1e-5``) for the shuffled sequence. The checker
    passes layers that cannot see order (an encoder block without E_pos) and layers that can.
    """
    D, N = 8, len(_PERM)
    block = random_block(D, 2, 16)
    with_pos = PositionalEmbedding(N, D)
    with torch.no_grad():
        with_pos.pos_embed.normal_()  # large enough to matter
    cases = [  # (what, layer, the right answer)
        ("an encoder block without position embeddings", block, True),
        ("a Linear layer applied to each token", nn.Linear(D, D), True),
        ("position embeddings followed by the same encoder block",
         nn.Sequential(with_pos, block), False),
        ("a layer that adds each token's left neighbour, z + z.roll(1, dims=1)",
         _AddLeftNeighbour(), False),
        ("a layer that adds the first patch to the class token and passes the patches "
         "unchanged", _ClassReadsFirstPatch(), False),
        ("a layer that passes the class token unchanged and adds to each patch the patch "
         "before it", _PatchesAddLeftNeighbour(), True),
    ]
    tokens = torch.randn(2, 1 + N, D) * 2
    perm = torch.tensor(_PERM)
    for what, layer, right in cases:
        answer = run_answer(fn, layer, tokens.clone(), perm.clone(), case=f"on {what}: ")
        said = _as_bool(answer)
        if said is None:
            fail_check(f"on {what}: return True or False, got {type_name(answer)} (torch.allclose "
                        f"gives a bool; for a bool tensor use .item())")
        if said == right:
            continue
        if isinstance(layer, _ClassReadsFirstPatch):
            fail_check(f"said True for {what}: its patch outputs move along with the shuffle, but "
                       f"the class token's output changes",
                       "the question is whether the class token's output stays the same "
                       "(invariance), not whether the patch outputs move with the patches "
                       "(equivariance)")
        if isinstance(layer, _PatchesAddLeftNeighbour):
            fail_check(f"said False for {what}: its patch outputs change with the order, but the "
                       f"class token's output does not",
                       "the question is about the class token's output alone: look only at the "
                       "row the class token has in the output")
        if said:
            fail_check(f"said True for {what}: this layer sees the order, so the class token's "
                        f"output changes when the patches move",
                        "check that you compare the layer's outputs (not its inputs) for the "
                        "original and the shuffled sequence, and that the shuffled sequence really "
                        "is shuffled")
        fail_check(f"said False for {what}, which cannot see the order of the patches",
                   "such a layer gives the class token the same output however the patches are "
                   "shuffled. Check three things: which rows of the two outputs you compare, how "
                   "you compare floats (sums taken in another order differ in the last digits), "
                   "and which tokens you shuffle")
    return (f"right on {len(cases)} layers: True for those that leave the class token's "
            f"output unchanged, False for those that don't (position embeddings among them).")
