r"""Exercises of lesson 01, patches (``notebooks/01_patches.ipynb``): their checkers."""

from __future__ import annotations

import torch

from vit_tutorial.exercises.checking import (
    checker,
    distinct_values,
    fail_check,
    run_answer,
    tensor_problem,
)
from vit_tutorial.exercises.questions import Question, check_answers
from vit_tutorial.patches import image_to_patches, num_patches

__all__ = ['check_num_patches_answers', 'check_image_to_patches']

def _num_patches_questions() -> list[Question]:
    n_b16, n_l32 = num_patches(224, 16), num_patches(384, 32)
    n_wide, n_h14 = num_patches((224, 320), 16), num_patches(224, 14)
    values_h14 = image_to_patches(torch.zeros(3, 14, 14), 14).shape[-1]  # C·P·P
    not_squared = "that is HW/P; N = HW/P² — divide by P twice, once per side of the patch"
    one_side = "that is one side of the grid, H/P; N = (H/P)·(W/P)"
    with_cls = "that counts the class token too; N counts the patches only"
    without_cls = ("that is N; the sequence the Transformer reads also holds the class token "
                   "(lesson 03): N + 1")
    return [
        Question("N_B16_224", "N, the number of patches, ViT-B/16 at 224×224", n_b16,
                  ((n_b16 + 1, with_cls), (224 * 224 // 16, not_squared), (224 // 16, one_side),
                   (3 * 16 * 16, "that is the length of one patch vector, C·P·P")),
                  "N = HW/P²: read P off the model's name, H and W off the image size"),
        Question("tokens_B16_224", "tokens in the sequence, ViT-B/16 at 224×224", n_b16 + 1,
                  ((n_b16, without_cls),), "N patches plus one class token"),
        Question("N_L32_384", "N, ViT-L/32 at 384×384", n_l32,
                  ((n_l32 + 1, with_cls), (384 * 384 // 32, not_squared), (384 // 32, one_side),
                   (num_patches(384, 16), "that is for 16×16 patches; ViT-L/32 cuts 32×32 "
                                          "patches"),
                   (n_b16, "that is ViT-B/16 at 224×224; here H = W = 384 and P = 32")),
                  "N = HW/P²: read P off the model's name, H and W off the image size"),
        Question("tokens_L32_384", "tokens in the sequence, ViT-L/32 at 384×384", n_l32 + 1,
                  ((n_l32, without_cls), (num_patches(384, 16) + 1,
                                          "that is for 16×16 patches; ViT-L/32 cuts 32×32 "
                                          "patches")),
                  "N patches plus one class token, with N = HW/P²"),
        Question("N_B16_224x320", "N for a non-square 224×320 (H×W) image, P = 16", n_wide,
                  ((n_b16, "that is a square 224×224 image; here W = 320"),
                   (num_patches(320, 16), "that is a square 320×320 image; here H = 224"),
                   (n_wide + 1, with_cls)),
                  "one division by P per side of the image, each side with its own length"),
        Question("values_per_patch_H14", "values in one flattened patch x_p^i, ViT-H/14, RGB",
                  values_h14,
                  ((14 * 14, "that is P² = 14·14 pixels; each pixel holds C = 3 values (RGB)"),
                   (n_h14, "that is N, the number of patches, not the length of each")),
                  "a patch vector holds P²·C values"),
    ]


@checker("num_patches answers")
def check_num_patches_answers(answers) -> str:
    """Lesson 01, check your understanding: N and the token count for three ViTs.

    Args:
        answers: a dict (or a function returning one) with the keys ``N_B16_224``,
            ``tokens_B16_224``, ``N_L32_384``, ``tokens_L32_384``, ``N_B16_224x320`` and
            ``values_per_patch_H14``.
    """
    return check_answers(answers, _num_patches_questions())


_PPC = ("right values, wrong order inside each patch vector: your patch vectors are ordered "
        "(P, P, C), channels last; this course uses (C, P, P) — all of channel 0 row by row, "
        "then channel 1, … — the order of Conv2d.weight.reshape(D, -1). Move C in front of "
        "the two pixel axes before the last reshape: (B, H/P, W/P, C, P, P)")
_GRID_T = ("right patches, wrong order: yours are numbered column by column (a transposed "
           "patch grid). Number them row-major, left to right, then top to bottom: the grid "
           "axes must come as (H/P, W/P), not (W/P, H/P)")
_PIXELS_T = ("the pixels inside each patch are transposed (read column by column); keep "
             "each patch in (C, P, P) = channel, row, column order")
_RESHAPE_ONLY = ("a reshape alone doesn't cut patches: it chops the image's memory, row after "
                 "row of the whole image, into pieces, mixing rows of different patches. "
                 "Split H into (H/P, P) and W into (W/P, P), move the grid axes to the front "
                 "(permute), then flatten")
_C_NOT_MOVED = ("the channel axis is still in front of the grid: flattening "
                "(B, C, H/P, W/P, P, P) mixes pieces of several patches into one vector. "
                "Move C next to the pixels, (B, H/P, W/P, C, P, P), before flattening")


_SQUARE_ONLY = ("it is right on square images: check that the rows use H and the columns W "
                "(H // P and W // P), not one side twice")


def _patch_variants(x: torch.Tensor, P: int) -> list:
    """Known wrong ways to cut a (B, C, H, W) batch into patches."""
    B, C, H, W = x.shape
    gh, gw = H // P, W // P
    N, K = gh * gw, C * P * P
    split = x.reshape(B, C, gh, P, gw, P)  # (B, C, H/P, P, W/P, P)

    def flat(*order):
        return split.permute(*order).reshape(B, N, K)

    return [
        (flat(0, 2, 4, 3, 5, 1), _PPC),
        (flat(0, 4, 2, 1, 3, 5), _GRID_T),
        (flat(0, 4, 2, 3, 5, 1), f"{_GRID_T}; also, {_PPC[0].lower()}{_PPC[1:]}"),
        (flat(0, 2, 4, 1, 5, 3), _PIXELS_T),
        (x.reshape(B, N, K), _RESHAPE_ONLY),
        (flat(0, 1, 2, 4, 3, 5), _C_NOT_MOVED),
        (image_to_patches(x, P).transpose(1, 2),
         "the last two axes are swapped: (B, C·P·P, N) is F.unfold's layout; the patches "
         "must come first, (B, N, C·P·P)"),
        ((B, gh, gw, K), "the grid is still 2-D, (B, H/P, W/P, C·P·P): merge H/P and W/P "
                         "into one axis of N = (H/P)·(W/P) patches"),
        ((B, N, C, P, P), "each patch is still (C, P, P): flatten it into one vector of "
                          "C·P·P values"),
        ((B, gh, gw, C, P, P), "not flattened yet: (B, H/P, W/P, C, P, P) must become "
                               "(B, N, C·P·P)"),
    ]


@checker("image_to_patches")
def check_image_to_patches(fn) -> str:
    """Lesson 01, implement it: ``fn(images, patch_size) -> patches``.

    ``images`` is ``(B, C, H, W)`` or a single image ``(C, H, W)``; ``patch_size`` is an int
    $P$ that divides $H$ and $W$. The result is ``(B, N, C·P·P)`` (``(N, C·P·P)`` for a
    single image), patch vectors in (C, P, P) order, patches numbered row-major — like
    :func:`vit_tutorial.patches.image_to_patches`.
    """
    cases = [  # (what, images, P)
        ("two 3×8×8 images, P = 4", distinct_values(2, 3, 8, 8), 4),
        ("two non-square 3×8×12 images (H×W), P = 4", distinct_values(2, 3, 8, 12), 4),
        ("one non-square 2×12×8 image in a batch, P = 4", distinct_values(1, 2, 12, 8), 4),
        ("a single image (C, H, W) = (3, 4, 6), no batch axis, P = 2", distinct_values(3, 4, 6), 2),
        ("two 3×8×8 images in float64, P = 4", distinct_values(2, 3, 8, 8).double(), 4),
    ]
    square_ok = batch_ok = False
    for what, x, P in cases:
        single = x.ndim == 3
        non_square = x.shape[-2] != x.shape[-1]
        hint = None
        if single and batch_ok:
            hint = ("it works on batches (B, C, H, W); for a single image (C, H, W) add a batch "
                    "axis with images.unsqueeze(0) and drop it at the end")
        elif non_square and square_ok:
            hint = _SQUARE_ONLY
        got = run_answer(fn, x.clone(), P, case=f"on {what}: ", hint=hint)
        expected = image_to_patches(x, P)
        batch = x.unsqueeze(0) if single else x  # (C, H, W) -> (1, C, H, W)
        variants = [(v[0] if single and isinstance(v, torch.Tensor) else
                     (v[1:] if single else v), m) for v, m in _patch_variants(batch, P)]
        if single:
            variants.append(((1, *expected.shape), "for a single image (C, H, W) return "
                                                   "(N, C·P·P), without a batch axis"))
        problem = tensor_problem(got, expected, variants)
        if problem:
            lines = [f"on {what}: {problem[0]}", *problem[1:]]
            if non_square and square_ok:
                lines.append(f"hint: {_SQUARE_ONLY}")
            fail_check(*lines)
        square_ok = square_ok or not non_square
        batch_ok = batch_ok or not single
    return (f"correct on {len(cases)} cases — square and non-square images, batches and a "
            f"single image, float32 and float64; (C, P, P) patch vectors, numbered row-major.")
