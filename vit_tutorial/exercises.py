r"""Exercises with instant feedback: one checker per exercise, lessons 01–07.

Every lesson ends with exercises, from "check your understanding" (numbers and shapes) to
"implement it" (a function). A checker runs the learner's function on several cases —
square and non-square, batched and not — compares it with the package's own reference
implementation, and says in words what is wrong: the shape it expected and got, the
values right but in (P, P, C) order, the class token appended instead of prepended, the
class token interpolated with the grid, … A correct answer gets a one-line confirmation.

Conventions shared by all checkers:

- ``check_<name>(answer)`` prints its feedback and returns a :class:`CheckResult`, which
  is true if the answer is right. Jupyter shows nothing for the result itself (the
  feedback is already printed), so a checker call can be the last line of a cell.
- "Implement it" checkers take the learner's function. "Check your understanding"
  checkers take a dict of answers, or a function without arguments that returns it; the
  keys are listed in the checker's docstring and printed while it is not answered yet.
- A learner function that still raises ``NotImplementedError`` (the stub of a student
  notebook) gets "not implemented yet", without a traceback. Any other exception is
  reported in one line with a hint.
- Feedback is deterministic text (fixed seeds, shapes as tuples, numbers rounded), so a
  lesson's checker cells pass strict nbval. The checkers fork the random number generator,
  so calling one does not change the random numbers a lesson draws afterwards.

Reference answers come from the package (``num_patches``, ``image_to_patches``,
``resize_pos_embed``, the models' parameter counts, …); only the paper's own numbers are
written down here.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import math
import numbers
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import nn

from vit_tutorial.class_token import ClassToken, prepend_class_token
from vit_tutorial.encoder import EncoderBlock
from vit_tutorial.interpolation import resize_pos_embed
from vit_tutorial.model import CONFIGS, VisionTransformer
from vit_tutorial.patch_embedding import LinearPatchEmbedding, PatchEmbedding
from vit_tutorial.patches import image_to_patches, num_patches
from vit_tutorial.positional_embedding import PositionalEmbedding, sincos_2d_pos_embed
from vit_tutorial.similarity import locality_score, position_similarity

__all__ = [
    "CheckResult", "CHECKERS", "NOT_IMPLEMENTED",
    # 01
    "check_num_patches_answers", "check_image_to_patches",
    # 02
    "check_patch_embedding_answers", "check_linear_from_conv",
    # 03
    "check_class_token_answers", "check_prepend_class_token",
    # 04
    "check_pos_embed_answers", "check_shuffle_patches", "check_permutation_invariance",
    # 05
    "check_similarity_answers", "check_position_similarity", "check_locality_score",
    # 06
    "check_interpolation_answers", "check_resize_pos_embed",
    # 07
    "check_vit_answers", "check_encoder_block",
]

#: Lesson notebook -> its checkers, in the order the exercises appear.
CHECKERS = {
    "01_patches": ("check_num_patches_answers", "check_image_to_patches"),
    "02_patch_embeddings": ("check_patch_embedding_answers", "check_linear_from_conv"),
    "03_class_token": ("check_class_token_answers", "check_prepend_class_token"),
    "04_positional_embeddings": ("check_pos_embed_answers", "check_shuffle_patches",
                                 "check_permutation_invariance"),
    "05_position_similarity": ("check_similarity_answers", "check_position_similarity",
                               "check_locality_score"),
    "06_interpolation": ("check_interpolation_answers", "check_resize_pos_embed"),
    "07_vision_transformer": ("check_vit_answers", "check_encoder_block"),
}

NOT_IMPLEMENTED = ("not implemented yet — replace the `raise NotImplementedError` with your "
                   "code, then run this cell again")


# --- the machinery every checker shares ---------------------------------------------------


class CheckResult:
    """What a checker found. True if the answer is right.

    Attributes:
        exercise: the exercise's name, e.g. ``"image_to_patches"``.
        status: ``"passed"``, ``"failed"`` or ``"not implemented"``.
        message: the feedback the checker printed.
    """

    __slots__ = ("exercise", "status", "message")

    def __init__(self, exercise: str, status: str, message: str):
        self.exercise, self.status, self.message = exercise, status, message

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        return f"CheckResult(exercise={self.exercise!r}, status={self.status!r})"

    def _ipython_display_(self) -> None:
        """Show nothing in Jupyter: the checker has printed its feedback already."""


class _Stop(Exception):
    """Ends a check early: ``status`` is "failed" or "not implemented"."""

    def __init__(self, status: str, lines: list[str]):
        super().__init__(status)
        self.status, self.lines = status, list(lines)


class _WholeModuleCalled(_Stop):
    """Raised when the learner calls the reference module they are asked to write."""


def _fail(*lines: str):
    raise _Stop("failed", [line for line in lines if line])


_MARKS = {"passed": "✓", "failed": "✗", "not implemented": "○"}


def _set_threads(count: int) -> None:
    """``torch.set_num_threads``, silently: PyTorch's native thread pool (not OpenMP) warns
    when the count changes after parallel work, and a warning would break strict nbval."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.set_num_threads(count)


def _checker(exercise: str):
    """Run a check body with forked, seeded RNG; print and return its feedback."""

    def decorate(body: Callable[[object], str | list[str]]):
        @functools.wraps(body)
        def check(answer):
            generator = torch.random.default_generator
            threads = torch.get_num_threads()
            _set_threads(1)  # tiny tensors: one thread is fastest, even on a busy CPU
            try:
                with torch.random.fork_rng(devices=[]):
                    generator.manual_seed(0)
                    try:
                        result = body(answer)
                        status, lines = "passed", [result] if isinstance(result, str) else result
                    except _Stop as stop:
                        status, lines = stop.status, stop.lines
            finally:
                _set_threads(threads)
            head, *rest = lines
            message = "\n".join([f"{_MARKS[status]} {exercise}: {head}",
                                 *(f"  {line}" for line in rest)])
            print(message)
            return CheckResult(exercise, status, message)

        check.__signature__ = inspect.signature(body).replace(return_annotation=CheckResult)
        return check

    return decorate


_EXCEPTION_HINTS = (  # (text in the error message, what it usually means)
    ("is invalid for input of size",
     "a reshape asked for sizes that don't multiply to the number of values: print x.shape "
     "before each reshape and compare it with the lesson's shape comments"),
    ("view size is not compatible",
     "after permute or transpose the values are no longer in memory order: use .reshape(...) "
     "instead of .view(...)"),
    ("Sizes of tensors must match except in dimension",
     "torch.cat needs the same size in every dimension except the one you join along: "
     "compare the shapes of the pieces"),
    ("a leaf Variable that requires grad is being used in an in-place operation",
     "copying into a parameter must not be recorded by autograd: do the copies inside "
     "`with torch.no_grad():`"),
    ("number of dims don't match in permute",
     "permute takes one index per dimension of the tensor: count them with x.ndim"),
    ("shapes cannot be multiplied",
     "a matrix product got shapes whose inner sizes differ: check whether one side needs .T"),
    ("must match the size of tensor b",
     "two tensors combined with + or * have shapes that don't broadcast: compare them"),
    ("is not defined",
     "a name is not defined: run the cells above first, and import what you use"),
)
_DEFAULT_HINT = ("print the shapes of your intermediate tensors and compare them with the "
                 "lesson's shape comments")


def _describe_exception(error: BaseException) -> str:
    text = str(error).strip()
    text = text.splitlines()[0] if text else ""
    text = re.sub(r"0x[0-9a-fA-F]+", "0x…", text)  # no memory addresses in the feedback
    if len(text) > 200:
        text = text[:199] + "…"
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _run(fn, *args, case: str = "",
         hint: str | Callable[[BaseException], str | None] | None = None,
         fallback: str | None = None):
    """Call the learner's ``fn``; turn NotImplementedError and other errors into feedback.

    On an exception the feedback names it in one line, then adds what its message usually
    means, ``hint`` (a text, or a function of the exception that may return ``None``) and,
    only if neither says anything, ``fallback``.
    """
    if not callable(fn):
        _fail(f"expected your function, got {_type_name(fn)}; pass the function itself, "
              f"without calling it (no parentheses)")
    try:
        return fn(*args)
    except _Stop:
        raise
    except NotImplementedError:
        raise _Stop("not implemented", [NOT_IMPLEMENTED]) from None
    except Exception as error:  # a learner's bug: report it in one line, with a hint
        lines = [f"{case}your function raised {_describe_exception(error)}"]
        usual = next((h for text, h in _EXCEPTION_HINTS if text in str(error)), None)
        specific = hint(error) if callable(hint) else hint
        hints = [h for h in (usual, specific) if h] or [fallback or _DEFAULT_HINT]
        lines += [f"hint: {h}" for h in hints]
        raise _Stop("failed", lines) from None


def _type_name(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {_shape(value)}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def _shape(value) -> str:
    shape = tuple(value.shape) if isinstance(value, torch.Tensor) else tuple(value)
    return str(shape) if len(shape) != 1 else f"({shape[0]},)"


def _as_double(x: torch.Tensor) -> torch.Tensor:
    return x.detach().cpu().to(torch.float64)


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    if tuple(a.shape) != tuple(b.shape) or a.is_complex() or b.is_complex():
        return False
    return bool(torch.allclose(_as_double(a), _as_double(b), rtol=1e-4, atol=atol))


def _tensor_problem(got: object, expected: torch.Tensor, variants=(), *, name: str = "",
                    wrong_values: str = "wrong values") -> list[str] | None:
    """``None`` if ``got`` matches ``expected``, else the lines that say what is wrong.

    ``variants`` are known mistakes, ``(tensor or shape tuple, explanation)``: a tensor must
    match ``got`` value for value, a shape tuple only in shape.
    """
    label = f"{name}: " if name else ""
    if not isinstance(got, torch.Tensor):
        return [f"{label}your function returned {_type_name(got)}; return a torch.Tensor of "
                f"shape {_shape(expected)}"]
    known = [(v, m) for v, m in variants
             if not (isinstance(v, torch.Tensor) and _close(v, expected))]
    if tuple(got.shape) != tuple(expected.shape):
        for v, message in known:
            if isinstance(v, torch.Tensor) and _close(got, v):
                return [label + message]
        for v, message in known:
            if isinstance(v, tuple) and tuple(got.shape) == v:
                return [label + message]
        lines = [f"{label}wrong shape: expected {_shape(expected)}, got {_shape(got)}"]
        if got.numel() == expected.numel():
            lines.append("the number of values is right; the shape you reshape to is not")
        return lines
    if got.is_complex() or torch.isnan(_as_double(got)).any():
        return [f"{label}the result contains NaN or complex values"]
    if _close(got, expected):
        return None
    for v, message in known:
        if isinstance(v, torch.Tensor) and _close(got, v):
            return [label + message]
    if _close(got.flatten().sort().values, expected.flatten().sort().values):
        return [f"{label}right values, wrong order: compare your result with the expected "
                f"layout in the lesson"]
    return [label + wrong_values]


def _arange(*shape: int) -> torch.Tensor:
    """Distinct values 0, 1, 2, … — every misplaced value shows."""
    return torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape)


def _number(value: object):
    """A learner's number as int/float (``None`` if it is not one)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    value = float(value)
    return int(value) if value.is_integer() else value


# --- "check your understanding": dicts of answers -----------------------------------------


@dataclass(frozen=True)
class _Question:
    key: str
    text: str  # what is asked (for the template)
    expected: object  # an int, or a tuple of ints (a shape)
    mistakes: tuple = ()  # ((a wrong answer, why it is wrong), ...)
    hint: str = ""  # for any other wrong answer
    also: tuple = ()  # ((another right answer, a note), ...)


def _normalise(value: object):
    if isinstance(value, (tuple, list, torch.Size)):
        items = [_number(v) for v in value]
        return None if any(v is None for v in items) else tuple(items)
    return _number(value)


def _show(value) -> str:
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return str(value)


def _template(questions: list[_Question]) -> list[str]:
    lines = ["Return a dict with these keys (replace each ... with your answer):", "{"]
    lines += [f'    "{q.key}": ...,  # {q.text}' for q in questions]
    return lines + ["}"]


def _check_answers(answers: object, questions: list[_Question]) -> list[str]:
    if callable(answers) and not isinstance(answers, dict):
        try:
            answers = _run(answers, fallback="your function should just return the dict of "
                                             "answers")
        except _Stop as stop:
            if stop.status == "not implemented":
                stop.lines += _template(questions)
            raise
    if not isinstance(answers, dict):
        _fail(f"expected a dict of answers (or a function that returns one), got "
              f"{_type_name(answers)}", *_template(questions))
    keys = [q.key for q in questions]
    lines, notes, right = [], [], 0
    for key in answers:
        if key not in keys:
            lower = {k.lower(): k for k in keys}
            guess = lower.get(str(key).lower()) or next(
                iter(difflib.get_close_matches(str(key), keys, n=1, cutoff=0.6)), None)
            notes.append(f"unknown key {key!r}" + (f" — did you mean {guess!r}?" if guess else
                                                   f"; the keys are {', '.join(keys)}"))
    for q in questions:
        given = answers.get(q.key, ...)
        if given is ... or given is None:
            lines.append(f"{q.key}: not answered yet ({q.text})")
            continue
        value = _normalise(given)
        wants_shape = isinstance(q.expected, tuple)
        if value is None or isinstance(value, tuple) != wants_shape:
            kind = "a shape, a tuple of ints like (1, 2, 3)" if wants_shape else "a number"
            lines.append(f"{q.key}: expected {kind}, got {_type_name(given)}")
            continue
        if value == q.expected:
            right += 1
            continue
        note = next((n for v, n in q.also if value == v), None)
        if note is not None:
            right += 1
            notes.append(f"{q.key}: right — {note}")
            continue
        why = next((w for v, w in q.mistakes if value == v), q.hint)
        lines.append(f"{q.key}: {_show(value)} is not right — {why}")
    total = len(questions)
    if right == total:
        return [f"all {total} answers are correct.", *notes]
    _fail(f"{right} of {total} answers correct", *lines, *notes)


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def _on_meta(build: Callable[[], nn.Module]) -> nn.Module:
    """Build a module without allocating its weights (shapes and counts only)."""
    with torch.device("meta"):
        return build()


# --- lesson 01: patches -------------------------------------------------------------------


def _num_patches_questions() -> list[_Question]:
    n_b16, n_l32 = num_patches(224, 16), num_patches(384, 32)
    n_wide, n_h14 = num_patches((224, 320), 16), num_patches(224, 14)
    values_h14 = image_to_patches(torch.zeros(3, 14, 14), 14).shape[-1]  # C·P·P
    not_squared = "that is HW/P; N = HW/P² — divide by P twice, once per side of the patch"
    one_side = "that is one side of the grid, H/P; N = (H/P)·(W/P)"
    with_cls = "that counts the class token too; N counts the patches only"
    without_cls = ("that is N; the sequence the Transformer reads also holds the class token "
                   "(lesson 03): N + 1")
    return [
        _Question("N_B16_224", "N, the number of patches, ViT-B/16 at 224×224", n_b16,
                  ((n_b16 + 1, with_cls), (224 * 224 // 16, not_squared), (224 // 16, one_side),
                   (3 * 16 * 16, "that is the length of one patch vector, C·P·P")),
                  "N = HW/P² with H = W = 224 and P = 16"),
        _Question("tokens_B16_224", "tokens in the sequence, ViT-B/16 at 224×224", n_b16 + 1,
                  ((n_b16, without_cls),), "N patches plus one class token"),
        _Question("N_L32_384", "N, ViT-L/32 at 384×384", n_l32,
                  ((n_l32 + 1, with_cls), (384 * 384 // 32, not_squared), (384 // 32, one_side),
                   (num_patches(384, 16), "that is for 16×16 patches; ViT-L/32 cuts 32×32 "
                                          "patches"),
                   (n_b16, "that is ViT-B/16 at 224×224; here H = W = 384 and P = 32")),
                  "N = HW/P² with H = W = 384 and P = 32"),
        _Question("tokens_L32_384", "tokens in the sequence, ViT-L/32 at 384×384", n_l32 + 1,
                  ((n_l32, without_cls), (num_patches(384, 16) + 1,
                                          "that is for 16×16 patches; ViT-L/32 cuts 32×32 "
                                          "patches")),
                  "N patches plus one class token, with N = HW/P², H = W = 384, P = 32"),
        _Question("N_B16_224x320", "N for a non-square 224×320 (H×W) image, P = 16", n_wide,
                  ((n_b16, "that is a square 224×224 image; here W = 320"),
                   (num_patches(320, 16), "that is a square 320×320 image; here H = 224"),
                   (n_wide + 1, with_cls)),
                  "N = (H/P)·(W/P) with H = 224, W = 320 and P = 16"),
        _Question("values_per_patch_H14", "values in one flattened patch x_p^i, ViT-H/14, RGB",
                  values_h14,
                  ((14 * 14, "that is P² = 14·14 pixels; each pixel holds C = 3 values (RGB)"),
                   (n_h14, "that is N, the number of patches, not the length of each")),
                  "a patch vector holds P²·C values"),
    ]


@_checker("num_patches answers")
def check_num_patches_answers(answers) -> str:
    """Lesson 01, check your understanding: N and the token count for three ViTs.

    Args:
        answers: a dict (or a function returning one) with the keys ``N_B16_224``,
            ``tokens_B16_224``, ``N_L32_384``, ``tokens_L32_384``, ``N_B16_224x320`` and
            ``values_per_patch_H14``.
    """
    return _check_answers(answers, _num_patches_questions())


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


@_checker("image_to_patches")
def check_image_to_patches(fn) -> str:
    """Lesson 01, implement it: ``fn(images, patch_size) -> patches``.

    ``images`` is ``(B, C, H, W)`` or a single image ``(C, H, W)``; ``patch_size`` is an int
    $P$ that divides $H$ and $W$. The result is ``(B, N, C·P·P)`` (``(N, C·P·P)`` for a
    single image), patch vectors in (C, P, P) order, patches numbered row-major — like
    :func:`vit_tutorial.patches.image_to_patches`.
    """
    cases = [  # (what, images, P)
        ("two 3×8×8 images, P = 4", _arange(2, 3, 8, 8), 4),
        ("two non-square 3×8×12 images (H×W), P = 4", _arange(2, 3, 8, 12), 4),
        ("one non-square 2×12×8 image in a batch, P = 4", _arange(1, 2, 12, 8), 4),
        ("a single image (C, H, W) = (3, 4, 6), no batch axis, P = 2", _arange(3, 4, 6), 2),
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
        got = _run(fn, x.clone(), P, case=f"on {what}: ", hint=hint)
        expected = image_to_patches(x, P)
        batch = x.unsqueeze(0) if single else x  # (C, H, W) -> (1, C, H, W)
        variants = [(v[0] if single and isinstance(v, torch.Tensor) else
                     (v[1:] if single else v), m) for v, m in _patch_variants(batch, P)]
        if single:
            variants.append(((1, *expected.shape), "for a single image (C, H, W) return "
                                                   "(N, C·P·P), without a batch axis"))
        problem = _tensor_problem(got, expected, variants)
        if problem:
            lines = [f"on {what}: {problem[0]}", *problem[1:]]
            if non_square and square_ok:
                lines.append(f"hint: {_SQUARE_ONLY}")
            _fail(*lines)
        square_ok = square_ok or not non_square
        batch_ok = batch_ok or not single
    return (f"correct on {len(cases)} cases — square and non-square images, batches and a "
            f"single image; (C, P, P) patch vectors, numbered row-major.")


# --- lesson 02: patch embeddings ----------------------------------------------------------


def _patch_embedding_questions() -> list[_Question]:
    b16 = _on_meta(lambda: PatchEmbedding(224, 16, 3, 768))
    l32 = _on_meta(lambda: PatchEmbedding(224, 32, 3, 1024))
    linear_l32 = tuple(_on_meta(lambda: LinearPatchEmbedding(224, 32, 3, 1024)).proj.weight.shape)
    e_l32 = linear_l32[::-1]  # the paper's E is the transpose of nn.Linear's weight
    conv_l32 = tuple(l32.proj.weight.shape)
    e_params = _params(b16)
    B, D, (gh, gw) = 1, b16.embed_dim, b16.grid_size
    conv_out = (B, D, gh, gw)  # proj(x): one D-vector per patch position, channels first
    tokens = (B, b16.num_patches, D)  # after flatten(2).transpose(1, 2)
    return [
        _Question("E_shape_L32", "the shape of E in the paper's notation, (P²·C) × D, ViT-L/32",
                  e_l32, ((linear_l32, "that is nn.Linear's weight, which stores E transposed; "
                                       "the paper's E is (P²·C) × D"),),
                  "E maps a patch vector of P²·C values to D values"),
        _Question("linear_weight_shape_L32", "LinearPatchEmbedding.proj.weight.shape, ViT-L/32",
                  linear_l32, ((e_l32, "that is E itself; nn.Linear(in, out) stores its weight "
                                       "as (out, in), which is E transposed"),
                               (conv_l32, "that is the Conv2d's weight")),
                  "nn.Linear(in_features, out_features).weight has shape (out, in)"),
        _Question("conv_weight_shape_L32", "PatchEmbedding.proj.weight.shape, ViT-L/32",
                  conv_l32, ((linear_l32, "that is the Linear's weight; a Conv2d keeps each of "
                                          "its D filters as a (C, P, P) block"),
                             ((conv_l32[0], *conv_l32[2:], conv_l32[1]),
                              "PyTorch is channels-first: (D, C, P, P)"),
                             ((conv_l32[1], conv_l32[0], *conv_l32[2:]),
                              "out_channels come first: (D, C, P, P)")),
                  "Conv2d(C, D, kernel_size=P).weight has shape (D, C, P, P)"),
        _Question("E_params_B16", "trainable parameters of ViT-B/16's patch embedding",
                  e_params, ((e_params - D, "that is the weight alone; the projection has a "
                                            "bias too, D more values"),),
                  "count the weight (P²·C·D) and the bias (D)"),
        _Question("conv_output_shape_B16", "shape of proj(x) for one 224×224 image, ViT-B/16, "
                                           "before flatten", conv_out,
                  (((B, D, gh * gw), "that is after flatten(2); the question asks for the "
                                     "convolution's own output"),
                   ((B, gh, gw, D), "a Conv2d's output is channels-first: (B, D, H/P, W/P)"),
                   (tokens, "that is after flatten and transpose; the question asks for the "
                            "convolution's own output"),
                   ((D, gh, gw), "keep the batch axis: one image is a batch of 1")),
                  "a Conv2d with kernel = stride = P gives (B, D, H/P, W/P)"),
        _Question("tokens_shape_B16", "shape of the patch embeddings for one 224×224 image, "
                                      "ViT-B/16", tokens,
                  (((B, D, gh * gw), "flatten(2) alone gives (B, D, N); transpose(1, 2) makes "
                                     "it (B, N, D)"),
                   ((B, gh * gw + 1, D), "the class token comes later (lesson 03)"),
                   (tokens[1:], "keep the batch axis: one image is a batch of 1")),
                  "one D-vector per patch: (B, N, D)"),
    ]


@_checker("patch embedding answers")
def check_patch_embedding_answers(answers) -> str:
    """Lesson 02, check your understanding: the shapes and size of E.

    Args:
        answers: a dict (or a function returning one) with the keys ``E_shape_L32``,
            ``linear_weight_shape_L32``, ``conv_weight_shape_L32``, ``E_params_B16``,
            ``conv_output_shape_B16`` and ``tokens_shape_B16``. Shapes are tuples of ints.
    """
    return _check_answers(answers, _patch_embedding_questions())


_W_TRANSPOSED = ("the weight is transposed: nn.Linear stores E transposed, shape "
                 "(D, C·P·P) — exactly the layout of conv.weight.reshape(D, -1); drop the .T")
_W_PPC = ("the filters were flattened in (P, P, C) order (channels last); the patch vectors "
          "of image_to_patches are (C, P, P), so flatten the conv weight (D, C, P, P) as it is: "
          "reshape(D, -1), no permute")
_W_PIXELS_T = ("the pixels of each filter are transposed (column by column); flatten "
               "(D, C, P, P) as it is: reshape(D, -1)")
_W_SCRAMBLED = ("reshape(-1, D).T keeps the right shape but mixes the filters: row d of the "
                "Linear's weight must be filter d, conv.weight[d], flattened — use "
                "reshape(D, -1)")


@_checker("linear_from_conv")
def check_linear_from_conv(fn) -> str:
    """Lesson 02, implement it: ``fn(conv_embedding) -> LinearPatchEmbedding``.

    ``conv_embedding`` is a :class:`~vit_tutorial.patch_embedding.PatchEmbedding`; return a
    :class:`~vit_tutorial.patch_embedding.LinearPatchEmbedding` of the same sizes whose
    ``proj`` holds a copy of the convolution's weight and bias, so both compute the same
    function (an ``nn.Linear`` alone is accepted too). Like ``LinearPatchEmbedding.from_conv``.
    """
    cases = [
        ("PatchEmbedding(image_size=8, patch_size=4, in_channels=3, embed_dim=6)",
         PatchEmbedding(8, 4, 3, 6)),
        ("PatchEmbedding(image_size=(8, 12), patch_size=(2, 4), in_channels=2, embed_dim=5), "
         "non-square", PatchEmbedding((8, 12), (2, 4), 2, 5)),
    ]
    for what, conv in cases:
        weight, bias = conv.proj.weight.detach().clone(), conv.proj.bias.detach().clone()
        D = weight.shape[0]
        K = weight[0].numel()  # C·P·P
        got = _run(fn, conv, case=f"on {what}: ",
                   fallback="build a LinearPatchEmbedding with the conv's sizes and copy the "
                        "weights into its proj")
        if not (torch.equal(conv.proj.weight.detach(), weight)
                and torch.equal(conv.proj.bias.detach(), bias)):
            _fail(f"on {what}: your function changed the convolution's weights; copy from "
                  f"conv_embedding.proj, don't write into it")
        linear = got.proj if isinstance(got, LinearPatchEmbedding) else got
        if not isinstance(linear, nn.Linear):
            _fail(f"on {what}: expected a LinearPatchEmbedding (or an nn.Linear), got "
                  f"{_type_name(got)}")
        expected = weight.reshape(D, -1)  # (D, C, P, P) -> (D, C·P·P)
        problem = _tensor_problem(
            linear.weight, expected,
            [(expected.T, _W_TRANSPOSED),
             (weight.permute(0, 2, 3, 1).reshape(D, -1), _W_PPC),
             (weight.transpose(2, 3).reshape(D, -1), _W_PIXELS_T),
             (weight.reshape(K, D).T, _W_SCRAMBLED)],
            name="proj.weight",
            wrong_values="it doesn't hold the convolution's filters: copy conv.proj.weight, "
                         "reshaped to (D, C·P·P), into it")
        if problem:
            _fail(f"on {what}: {problem[0]}", *problem[1:])
        if linear.bias is None:
            _fail(f"on {what}: the Linear has no bias, but the Conv2d has one (D values): "
                  f"keep bias=True and copy it")
        if not _close(linear.bias, bias):
            _fail(f"on {what}: the bias was not copied: proj.bias must equal the conv's bias "
                  f"(conv_embedding.proj.bias) — the projection is x_p E + b in both forms")
        images = torch.randn(2, conv.in_channels, *conv.image_size)
        with torch.no_grad():
            reference = conv(images)
            if isinstance(got, LinearPatchEmbedding):
                output = _run(got, images, case=f"on {what}, running the module: ")
            else:
                output = linear(image_to_patches(images, conv.patch_size))
        if not _close(output, reference, atol=1e-4):
            _fail(f"on {what}: the weights are right, but the module's output differs from "
                  f"the convolution's: build the LinearPatchEmbedding with the conv's "
                  f"image_size, patch_size, in_channels and embed_dim")
    return ("the Linear computes the convolution's function on both cases (square and "
            "non-square patches): weight reshaped to (D, C·P·P), bias copied.")


# --- lesson 03: the class token -----------------------------------------------------------


def _class_token_questions() -> list[_Question]:
    config = CONFIGS["vit_b_16"]
    D, N = config.embed_dim, num_patches(config.image_size, config.patch_size)
    token = ClassToken(D)
    z0 = tuple(prepend_class_token(torch.zeros(8, N, D), token.cls_token).shape)
    marked = prepend_class_token(torch.zeros(1, 3, 1), torch.ones(1, 1, 1))  # (1, 4, 1)
    position = int(marked[0, :, 0].argmax())
    y = (8, D)  # Eq. 4: y = LN(z_L^0), one D-vector per image
    return [
        _Question("z0_shape_B16_batch8", "shape of z_0 (class token prepended, before "
                                         "E_pos) for a batch of 8 images, ViT-B/16 at 224",
                  z0, (((8, N, D), "the class token is missing: the sequence has N + 1 tokens"),
                       (z0[1:], "keep the batch axis: 8 sequences"),
                       ((1, N + 1, D), "that is one image; the batch has 8")),
                  "(B, N + 1, D)"),
        _Question("cls_params_B16", "trainable parameters of the class token, ViT-B/16",
                  _params(token),
                  ((8 * D, "one class token is shared by every image (expand makes a view, "
                           "not a copy per image)"),
                   ((N + 1) * D, "that is the size of E_pos (lesson 04); the class token is "
                                 "one D-vector")),
                  "x_class is one learnable D-vector"),
        _Question("cls_position", "the index of the class token in the sequence", position,
                  ((-1, "the class token is prepended, not appended: z_0^0 = x_class"),
                   (N, "the class token is prepended, not appended: z_0^0 = x_class"),
                   (1, "Python counts from 0")),
                  "it is prepended: z_0^0 = x_class"),
        _Question("y_shape_batch8", "shape of y = LN(z_L^0) for a batch of 8 images, ViT-B/16",
                  y, (((8, N + 1, D), "y is the class token's final state only, z_L^0: one "
                                      "D-vector per image"),
                      ((D,), "keep the batch axis: one y per image"),
                      ((8, 1, D), "z_L^0 picks position 0, so that axis goes away: (B, D)")),
                  "Eq. 4: y = LN(z_L^0), the class token's final state"),
    ]


@_checker("class token answers")
def check_class_token_answers(answers) -> str:
    """Lesson 03, check your understanding: shapes and size of the class token.

    Args:
        answers: a dict (or a function returning one) with the keys
            ``z0_shape_B16_batch8``, ``cls_params_B16``, ``cls_position`` and
            ``y_shape_batch8``. Shapes are tuples of ints.
    """
    return _check_answers(answers, _class_token_questions())


@_checker("prepend_class_token")
def check_prepend_class_token(fn) -> str:
    """Lesson 03, implement it: ``fn(tokens, cls_token) -> tokens with x_class in front``.

    ``tokens`` is ``(B, N, D)``, ``cls_token`` the parameter ``(1, 1, D)``; the result is
    ``(B, N + 1, D)`` with the class token at position 0 of every sequence, and gradients
    must reach ``cls_token``. Like :func:`vit_tutorial.class_token.prepend_class_token`.
    """
    one_ok = False
    for B, N, D in ((1, 4, 3), (2, 6, 4), (3, 5, 8)):
        what = f"a batch of {B} with N = {N}, D = {D}"
        tokens = _arange(B, N, D) + 1  # positive, distinct
        cls_token = nn.Parameter(-_arange(1, 1, D) - 1)  # negative, distinct
        hint = None
        if B > 1 and one_ok:
            hint = ("it works for one image but not for a batch: the class token is (1, 1, D) "
                    "and must be expanded to (B, 1, D) — cls_token.expand(B, -1, -1) — "
                    "before torch.cat")
        got = _run(fn, tokens.clone(), cls_token, case=f"on {what}: ", hint=hint)
        cls = cls_token.detach().expand(B, -1, -1)  # (1, 1, D) -> (B, 1, D)
        expected = prepend_class_token(tokens, cls_token.detach())
        variants = [
            (torch.cat([tokens, cls], dim=1),
             "the class token was appended; it is prepended — it goes first, z_0^0 = x_class "
             "(torch.cat with the class token first)"),
            (torch.cat([cls, tokens[:, 1:]], dim=1),
             f"the class token overwrote the first patch; the sequence must grow from "
             f"N = {N} to N + 1 = {N + 1} tokens"),
            ((B, N, D), f"the sequence didn't grow: expected N + 1 = {N + 1} tokens, the class "
                        f"token in front of the N = {N} patches"),
            ((1, N + 1, D), f"one sequence came back for a batch of {B}: expand the class "
                            f"token to (B, 1, D) over the batch"),
            ((B, N + 1, 2 * D), "joined along the wrong axis: the class token is one more "
                                "token, so concatenate along the sequence axis, dim=1"),
        ]
        problem = _tensor_problem(got, expected, variants)
        if problem:
            _fail(f"on {what}: {problem[0]}", *problem[1:])
        if not got.requires_grad:
            _fail(f"on {what}: no gradient reaches cls_token: don't detach it, use .data, or "
                  f"rebuild it with torch.tensor(...) — the class token is learned")
        got.sum().backward()
        if cls_token.grad is None or not _close(cls_token.grad, torch.full((1, 1, D), float(B))):
            _fail(f"on {what}: the gradient reaching cls_token is wrong; it should get one "
                  f"contribution per image (use cls_token itself, expanded, not a copy of "
                  f"its values)")
        one_ok = True
    return ("correct for batches of 1, 2 and 3: the class token comes first in every "
            "sequence, and gradients reach it.")


# --- lesson 04: position embeddings -------------------------------------------------------


def _pos_embed_questions() -> list[_Question]:
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
        _Question("pos_embed_shape_B16", "shape of E_pos as the paper writes it, (N + 1) × D, "
                                         "ViT-B/16 at 224", table[1:],
                  (((N, D), forgot), ((D, N + 1), "one row per position, one column per "
                                                  "channel: (N + 1, D)")),
                  "E_pos ∈ ℝ^{(N+1)×D}",
                  also=((table, "the model stores it as (1, N + 1, D), with a batch axis of 1 "
                                "that broadcasts over the batch"),)),
        _Question("pos_embed_params_B16", "trainable parameters of E_pos, ViT-B/16 at 224",
                  _params(b16), ((N * D, forgot),), "(N + 1)·D"),
        _Question("pos_embed_params_L32_384", "trainable parameters of E_pos, ViT-L/32 at "
                                              "384×384", _params(l32),
                  ((n_l32 * large.embed_dim, forgot),
                   (_params(b16), "that is ViT-B/16 at 224; here P = 32, H = W = 384 and "
                                  "D = 1024")),
                  "(N + 1)·D with N = (384/32)² and D = 1024 (Table 1)"),
        _Question("pos_embed_rows_no_cls_B16", "rows of E_pos for a ViT-B/16 without a class "
                                               "token (e.g. one that averages the patches)",
                  no_cls, ((N + 1, "without a class token there is no row for it"),),
                  "one row per position in the sequence"),
    ]


@_checker("position embedding answers")
def check_pos_embed_answers(answers) -> str:
    """Lesson 04, check your understanding: the shape and size of E_pos.

    Args:
        answers: a dict (or a function returning one) with the keys ``pos_embed_shape_B16``
            (a tuple), ``pos_embed_params_B16``, ``pos_embed_params_L32_384`` and
            ``pos_embed_rows_no_cls_B16``.
    """
    return _check_answers(answers, _pos_embed_questions())


_PERM = (2, 0, 5, 1, 3, 4)  # a permutation of 6 patches that is not its own inverse


@_checker("shuffle_patches")
def check_shuffle_patches(fn) -> str:
    """Lesson 04, implement it: ``fn(tokens, perm) -> the patches shuffled``.

    ``tokens`` is a sequence ``(B, 1 + N, D)`` with the class token at position 0; ``perm``
    a permutation of ``0 … N-1`` (``torch.randperm(N)``). Return ``(B, 1 + N, D)`` with the
    class token still at position 0 and, at place ``i`` after it, patch ``perm[i]``:
    ``tokens[:, 1:][:, perm]``.
    """
    for B, N, D, perm in ((2, 6, 3, _PERM), (1, 4, 2, (3, 2, 0, 1))):
        what = f"a batch of {B} sequences of 1 + {N} tokens, perm = {list(perm)}"
        tokens = _arange(B, 1 + N, D)
        order = torch.tensor(perm)
        got = _run(fn, tokens.clone(), order.clone(), case=f"on {what}: ")
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
        problem = _tensor_problem(got, expected, variants)
        if problem:
            _fail(f"on {what}: {problem[0]}", *problem[1:])
    return ("correct on 2 cases: the patches follow perm and the class token stays at "
            "position 0.")


class _AddLeftNeighbour(nn.Module):
    """A layer that sees order: each token plus the one before it (cyclically)."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z + z.roll(1, dims=1)  # (B, T, D)


def _random_block(D: int, num_heads: int, mlp_dim: int) -> EncoderBlock:
    """An encoder block in eval mode with non-trivial LayerNorm weights."""
    block = EncoderBlock(D, num_heads, mlp_dim).eval()
    with torch.no_grad():
        for norm in (block.norm1, block.norm2):
            norm.weight.normal_(1.0, 0.5)
            norm.bias.normal_(0.0, 0.5)
    return block


def _as_bool(value: object):
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        return bool(value.item())
    if type(value).__name__ == "bool_" or isinstance(value, bool):  # Python or NumPy bool
        return bool(value)
    return None


@_checker("permutation_invariance")
def check_permutation_invariance(fn) -> str:
    """Lesson 04, implement it: ``fn(layer, tokens, perm) -> bool``.

    Does shuffling the patches leave the class token's output unchanged? ``layer`` maps
    ``(B, 1 + N, D)`` to ``(B, 1 + N, D)``; ``tokens`` has the class token at position 0;
    ``perm`` is a permutation of the N patches. Return ``True`` if ``layer`` gives the class
    token the same output (to within ``atol=1e-5``) for the shuffled sequence. The checker
    passes layers that cannot see order (an encoder block without E_pos) and layers that can.
    """
    D, N = 8, len(_PERM)
    block = _random_block(D, 2, 16)
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
    ]
    tokens = torch.randn(2, 1 + N, D) * 2
    perm = torch.tensor(_PERM)
    for what, layer, right in cases:
        answer = _run(fn, layer, tokens.clone(), perm.clone(), case=f"on {what}: ")
        said = _as_bool(answer)
        if said is None:
            _fail(f"on {what}: return True or False, got {_type_name(answer)} (torch.allclose "
                  f"gives a bool; for a bool tensor use .item())")
        if said and not right:
            _fail(f"said True for {what}: this layer sees the order, so the class token's "
                  f"output changes when the patches move",
                  "check that you compare the layer's outputs (not its inputs) for the "
                  "original and the shuffled sequence, and that the shuffled sequence really "
                  "is shuffled")
        if right and not said:
            _fail(f"said False for {what}, which cannot see the order of the patches",
                  "compare like with like: the class token's output, layer(shuffled)[:, 0] "
                  "against layer(tokens)[:, 0], with torch.allclose(..., atol=1e-5) — not == "
                  "(sums in another order differ in the last digits) — and shuffle only the "
                  "N patches: the class token stays at position 0")
    return ("right on 4 layers: True for the two that can't see order, False for the two "
            "that can (one of them: position embeddings).")


# --- lesson 05: what the position embeddings learn ----------------------------------------


def _similarity_questions() -> list[_Question]:
    config = CONFIGS["vit_l_32"]
    grid = PatchEmbedding(224, config.patch_size, 3, 1).grid_size  # Figure 7: ViT-L/32 at 224
    table = PositionalEmbedding(grid[0] * grid[1], 4).pos_embed.detach()
    sim = position_similarity(table, grid)
    shape = tuple(sim.shape)
    itself = round(float(sim[0, 0, 0, 0]))
    lowest = round(float(position_similarity(torch.tensor([[1.0, 0.0], [-1.0, 0.0]]), (1, 2),
                                             num_prefix_tokens=0).min()))
    tiles = num_patches(384, config.patch_size)
    return [
        _Question("self_similarity", "cosine similarity of an embedding with itself", itself,
                  ((0, "a vector points exactly in its own direction: cos 0° = 1"),),
                  "x·x / (‖x‖‖x‖)"),
        _Question("lowest_possible_similarity", "the lowest value a cosine similarity can take",
                  lowest, ((0, "cosine similarities go below 0: two opposite vectors give "
                               "cos 180°"),),
                  "think of two vectors pointing in opposite directions"),
        _Question("sim_shape_L32_224", "shape of position_similarity's table for ViT-L/32 at "
                                       "224 (Figure 7)", shape,
                  (((grid[0] * grid[1],) * 2, "that is the (N, N) matrix; the table is "
                                              "(H/P, W/P, H/P, W/P), one tile per patch"),
                   ((grid[0] * grid[1] + 1,) * 2, "the class token takes no part; and the "
                                                  "table is (H/P, W/P, H/P, W/P)"),
                   (grid, "one tile per patch, and each tile is itself a map over the grid: "
                          "(H/P, W/P, H/P, W/P)"),
                   ((14,) * 4, "that is for 16×16 patches; ViT-L/32 cuts 32×32 patches")),
                  "(H/P, W/P, H/P, W/P) with P = 32, H = W = 224"),
        _Question("tiles_L32_384", "tiles in Figure 7's layout for ViT-L/32 at 384×384", tiles,
                  ((tiles + 1, "no tile for the class token: the figure shows patches only"),
                   (num_patches(384, 16), "that is for 16×16 patches; ViT-L/32 cuts 32×32 "
                                          "patches")),
                  "one tile per patch: N = (H/P)·(W/P)"),
    ]


@_checker("similarity answers")
def check_similarity_answers(answers) -> str:
    """Lesson 05, check your understanding: cosine similarity and Figure 7's layout.

    Args:
        answers: a dict (or a function returning one) with the keys ``self_similarity``,
            ``lowest_possible_similarity``, ``sim_shape_L32_224`` (a tuple) and
            ``tiles_L32_384``.
    """
    return _check_answers(answers, _similarity_questions())


@_checker("position_similarity")
def check_position_similarity(fn) -> str:
    r"""Lesson 05, implement it: ``fn(pos_embed, grid_size) -> sim``.

    ``pos_embed`` is $E_\text{pos}$, ``(1, 1 + N, D)`` with the class token's row first;
    ``grid_size`` is ``(H/P, W/P)``. Return the ``(H/P, W/P, H/P, W/P)`` table of cosine
    similarities between the patches' embeddings (the class token left out). Like
    :func:`vit_tutorial.similarity.position_similarity`.
    """
    for grid, D in (((3, 3), 5), ((3, 4), 6)):
        gh, gw = grid
        N = gh * gw
        what = f"a {gh}×{gw} grid" + (" (non-square)" if gh != gw else "") + f", D = {D}"
        pos_embed = torch.randn(1, 1 + N, D) * 2 + 0.5
        got = _run(fn, pos_embed.clone(), grid, case=f"on {what}: ",
                   hint=lambda error: ("(N + 1)² values: the class token's row is still in — "
                                       "drop row 0 (pos_embed[0, 1:]) before comparing"
                                       if f"input of size {(N + 1) ** 2}" in str(error) else None))
        expected = position_similarity(pos_embed, grid)
        x = pos_embed[0, 1:]  # (N, D)
        head = F.normalize(pos_embed[0, :-1], dim=-1)
        variants = [
            ((x @ x.T).reshape(gh, gw, gh, gw),
             "these are dot products, not cosine similarities: normalise each embedding to "
             "length 1 first (F.normalize(x, dim=-1)); a patch's similarity with itself must "
             "be 1"),
            ((F.normalize(x, dim=0) @ F.normalize(x, dim=0).T).reshape(gh, gw, gh, gw),
             "you normalised each channel (dim=0) instead of each position's embedding "
             "(dim=-1)"),
            ((head @ head.T).reshape(gh, gw, gh, gw),
             "you dropped the last patch's row instead of the class token's: row 0 of "
             "pos_embed is the class token, so compare pos_embed[0, 1:]"),
            ((gw, gh, gw, gh), f"rows and columns swapped: the grid is (H/P, W/P) = "
                               f"({gh}, {gw}), so the table is ({gh}, {gw}, {gh}, {gw})"),
            ((N, N), "that is the (N, N) matrix: reshape it to (H/P, W/P, H/P, W/P), so that "
                     "sim[i, j] is patch (i, j)'s tile"),
            ((N + 1, N + 1), "the class token is still in, and the table is not reshaped: "
                             "drop row 0 (pos_embed[0, 1:]), then reshape to "
                             "(H/P, W/P, H/P, W/P)"),
            ((1, gh, gw, gh, gw), "drop the batch axis of 1: pos_embed[0] is the (1 + N, D) "
                                  "table"),
        ]
        wrong = ("wrong values: a cosine-similarity table is symmetric, with 1 on its "
                 "diagonal (sim[i, j, i, j] = 1)")
        problem = _tensor_problem(got, expected, variants, wrong_values=wrong)
        if problem:
            _fail(f"on {what}: {problem[0]}", *problem[1:])
    return ("correct on a square and a non-square grid: cosine similarities of the patches' "
            "embeddings, class token left out, laid out (H/P, W/P, H/P, W/P).")


def _locality(sim: torch.Tensor, *, near: str = "4", far_metric: str = "steps",
              strict: bool = False, swapped: bool = False, far: int = 4) -> float:
    """The locality score and its common misreadings (for the diagnoses)."""
    gh, gw = sim.shape[:2]
    n = torch.arange(gh * gw)
    width = gh if swapped else gw
    rows, cols = n // width, n % width
    dr = (rows[:, None] - rows[None, :]).abs().double()  # (N, N)
    dc = (cols[:, None] - cols[None, :]).abs().double()
    steps = dr + dc
    distance = {"steps": steps, "max": torch.maximum(dr, dc),
                "euclid": (dr ** 2 + dc ** 2).sqrt()}[far_metric]
    near_mask = {"4": steps == 1, "8": torch.maximum(dr, dc) == 1, "self": steps <= 1}[near]
    far_mask = distance > far if strict else distance >= far
    flat = sim.reshape(gh * gw, gh * gw).double()
    return float(flat[near_mask].mean() - flat[far_mask].mean())


@_checker("locality_score")
def check_locality_score(fn) -> str:
    """Lesson 05, implement it: ``fn(similarity) -> float``.

    ``similarity`` is the ``(H/P, W/P, H/P, W/P)`` table of
    :func:`~vit_tutorial.similarity.position_similarity`. Return the mean similarity of
    4-neighbours (``|Δrow| + |Δcol| = 1``) minus the mean over pairs 4 or more steps apart
    (``|Δrow| + |Δcol| >= 4``), as a number. Like
    :func:`vit_tutorial.similarity.locality_score` with ``far=4``.
    """
    smooth = sincos_2d_pos_embed((4, 6), 16)  # (24, 16), locality built in
    cases = [
        ("a 5×5 grid of sine–cosine embeddings",
         position_similarity(sincos_2d_pos_embed((5, 5), 16), (5, 5), num_prefix_tokens=0)),
        ("a non-square 4×6 grid (H/P×W/P) of noisy sine–cosine embeddings",
         position_similarity(smooth + 0.3 * torch.randn(smooth.shape), (4, 6),
                             num_prefix_tokens=0)),
    ]
    for what, sim in cases:
        answer = _run(fn, sim.clone(), case=f"on {what}: ")
        score = _number(answer)
        if score is None:
            _fail(f"on {what}: return a number, got {_type_name(answer)} (a one-element "
                  f"tensor's .item() is one)")
        expected = locality_score(sim)
        if abs(score - expected) <= 1e-4:
            continue
        variants = [
            (_locality(sim, near="8"), "you counted 8 neighbours (diagonals too); a neighbour "
                                       "here is one of the 4 patches one step away, "
                                       "|Δrow| + |Δcol| = 1"),
            (_locality(sim, near="self"), "you counted each patch's similarity with itself "
                                          "(always 1) among the neighbours: use distance "
                                          "exactly 1"),
            (_locality(sim, far_metric="max"), "distance counted as max(|Δrow|, |Δcol|); "
                                               "this course counts steps, |Δrow| + |Δcol|"),
            (_locality(sim, far_metric="euclid"), "distance measured as a straight line; this "
                                                  "course counts steps, |Δrow| + |Δcol|"),
            (_locality(sim, strict=True), "'distant' means 4 or more steps (>= 4), not more "
                                          "than 4"),
            (-expected, "the sign is flipped: it is the neighbours' mean minus the distant "
                        "pairs' mean"),
            (_locality(sim, swapped=True), "each patch's (row, column) is computed with the "
                                           "wrong grid width: patch n sits at row n // (W/P), "
                                           "column n % (W/P)"),
        ]
        reason = next((m for v, m in variants if abs(score - v) <= 1e-4
                       and abs(v - expected) > 1e-4), None)
        _fail(f"on {what}: you returned {score:.4f}, expected {expected:.4f}",
              reason or "the score is the mean similarity of 4-neighbours minus the mean "
                        "over pairs 4 or more steps apart (steps = |Δrow| + |Δcol|)")
    return ("correct on a square and a non-square grid: 4-neighbours' mean minus the mean "
            "over pairs 4 or more steps apart.")


# --- lesson 06: interpolating position embeddings -----------------------------------------


def _interpolation_questions() -> list[_Question]:
    P = CONFIGS["vit_b_16"].patch_size
    old_grid = PatchEmbedding(224, P, 3, 1).grid_size
    grid = PatchEmbedding(384, P, 3, 1).grid_size  # Sec. 3.2: fine-tuning at 384
    wide = PatchEmbedding((384, 512), P, 3, 1).grid_size
    table = torch.zeros(1, 1 + old_grid[0] * old_grid[1], 1)  # E_pos with D = 1
    tokens = resize_pos_embed(table, grid, old_grid).shape[1]
    tokens_wide = resize_pos_embed(table, wide, old_grid).shape[1]
    kept = PositionalEmbedding(old_grid[0] * old_grid[1], 1).num_prefix_tokens
    forgot = "the class token's row stays in the sequence: N' + 1"
    return [
        _Question("grid_B16_384", "the patch grid (H/P, W/P) of ViT-B/16 at 384×384", grid,
                  ((old_grid, "that is the grid at 224; the patch size stays 16 at 384"),
                   ((tokens - 1,), "the grid is 2-D: (H/P, W/P)")),
                  "the patch size stays the same (Sec. 3.2): (384/16, 384/16)"),
        _Question("tokens_B16_384", "rows of the resized E_pos, ViT-B/16 at 384×384", tokens,
                  ((tokens - 1, forgot),
                   (1 + old_grid[0] * old_grid[1], "that is the old length at 224")),
                  "1 + (384/16)²"),
        _Question("tokens_B16_384x512", "rows of the resized E_pos, ViT-B/16 at 384×512 (H×W)",
                  tokens_wide, ((tokens_wide - 1, forgot),
                                (tokens, "that is 384×384; here W = 512")),
                  "1 + (H/P)·(W/P)"),
        _Question("unchanged_rows", "rows of E_pos that resizing keeps exactly as they were",
                  kept, ((0, "the class token has no place on the grid: it is split off and "
                             "kept as it is"),),
                  "which row has no place on the patch grid?"),
    ]


@_checker("interpolation answers")
def check_interpolation_answers(answers) -> str:
    """Lesson 06, check your understanding: sizes when fine-tuning at a higher resolution.

    Args:
        answers: a dict (or a function returning one) with the keys ``grid_B16_384`` (a
            tuple), ``tokens_B16_384``, ``tokens_B16_384x512`` and ``unchanged_rows``.
    """
    return _check_answers(answers, _interpolation_questions())


def _resize_variant(pos_embed, old, new, *, fold=None, size=None, mode="bicubic",
                    align_corners=False, antialias=False, bad_fold=False, bad_unfold=False,
                    grid_rows="last"):
    """One (possibly mistaken) way to resize E_pos, for the diagnoses."""
    D = pos_embed.shape[-1]
    cls, grid = pos_embed[:, :1], pos_embed[:, 1:]  # (1, 1, D), (1, N, D)
    if grid_rows == "first":  # the class token's row taken as the grid's first patch
        grid = pos_embed[:, :-1]
    fh, fw = fold or old
    nh, nw = size or new
    if bad_fold:
        grid = grid.reshape(1, D, fh, fw)  # no transpose: positions and channels mixed
    else:
        grid = grid.transpose(1, 2).reshape(1, D, fh, fw)  # (1, N, D) -> (1, D, H/P, W/P)
    smooth = mode in ("bilinear", "bicubic")
    grid = F.interpolate(grid, size=(nh, nw), mode=mode,
                         align_corners=align_corners if smooth else None, antialias=antialias)
    if bad_unfold:
        grid = grid.reshape(1, nh * nw, D)  # no transpose: positions and channels mixed
    else:
        grid = grid.flatten(2).transpose(1, 2)  # (1, D, H'/P, W'/P) -> (1, N', D)
    return torch.cat([cls, grid], dim=1)


@_checker("resize_pos_embed")
def check_resize_pos_embed(fn) -> str:
    """Lesson 06, implement it: ``fn(pos_embed, new_grid, old_grid) -> resized pos_embed``.

    ``pos_embed`` is ``(1, 1 + N, D)`` with the class token's row first and the N grid rows
    in row-major order; ``old_grid`` = ``(H/P, W/P)`` and ``new_grid`` = ``(H'/P, W'/P)``.
    Keep the class token's row as it is and resize the grid with
    ``F.interpolate(..., mode="bicubic", align_corners=False)``; return
    ``(1, 1 + N', D)``. Like :func:`vit_tutorial.interpolation.resize_pos_embed` with its
    defaults.
    """
    for old, new, D in (((3, 3), (5, 5), 4), ((2, 3), (4, 5), 4)):
        (gh, gw), (nh, nw) = old, new
        what = f"a {gh}×{gw} grid resized to {nh}×{nw}" + (
            " (non-square)" if (gh, nh) != (gw, nw) else "")
        pos_embed = torch.randn(1, 1 + gh * gw, D)
        whole = f"input of size {(1 + gh * gw) * D}"  # the class token's row folded in too
        got = _run(fn, pos_embed.clone(), new, old, case=f"on {what}: ",
                   hint=lambda error, whole=whole: (
                       "(1 + N)·D values: the class token's row is still in the table you fold; "
                       "keep the class token out of the interpolation — split it off "
                       "(pos_embed[:, :1]) and fold only the N grid rows"
                       if whole in str(error) else None),
                   fallback="split off the class token (pos_embed[:, :1]) and fold the N grid "
                            "rows into (1, D, H/P, W/P) before F.interpolate")
        expected = resize_pos_embed(pos_embed, new, old)
        cls = pos_embed[:, :1]
        resized = expected[:, 1:]  # (1, N', D)
        if (isinstance(got, torch.Tensor) and tuple(got.shape) == tuple(expected.shape)
                and not _close(got[:, :1], cls)):
            if _close(got[:, -1:], cls):
                _fail(f"on {what}: the class token's row is at the end; put it back in front, "
                      f"at position 0")
            _fail(f"on {what}: the class token's row changed: keep the class token out of "
                  f"the interpolation — split it off (pos_embed[:, :1]), resize only the N "
                  f"grid rows, then put it back in front")
        mode_note = ("; this exercise asks for mode='bicubic' with align_corners=False and no "
                     "antialias — the libraries differ here (torchvision: align_corners=True; "
                     "timm: antialias=True), and so do the numbers (lesson 06)")
        variants = [
            (resized, "the class token's row is missing: split it off before resizing and put "
                      "it back in front afterwards (torch.cat([cls, grid], dim=1))"),
            ((1, nh * nw, D), "the class token's row is missing: put it back in front"),
            (torch.cat([resized, cls], dim=1),
             "the class token's row is at the end; put it back in front, at position 0"),
            (_resize_variant(pos_embed, old, new, grid_rows="first"),
             "your grid starts at row 0, the class token's, and misses the last patch: keep "
             "the class token out of the interpolation — the grid rows are pos_embed[:, 1:]"),
            (_resize_variant(pos_embed, old, new, fold=(gw, gh)),
             f"the old grid was folded as (W/P, H/P): rows and columns swapped. The N rows are "
             f"the patches in row-major order, so fold them into (1, D, H/P, W/P) = "
             f"(1, {D}, {gh}, {gw})"),
            (_resize_variant(pos_embed, old, new, size=(nw, nh)),
             f"the new grid came out (W'/P, H'/P): ask F.interpolate for size=(H'/P, W'/P) = "
             f"({nh}, {nw})"),
            (_resize_variant(pos_embed, old, new, fold=(gw, gh), size=(nw, nh)),
             "rows and columns are swapped throughout: grids are (H/P, W/P), rows first"),
            (_resize_variant(pos_embed, old, new, bad_fold=True),
             "you reshaped (1, N, D) straight to (1, D, H/P, W/P), which mixes positions and "
             "channels: transpose to (1, D, N) first"),
            (_resize_variant(pos_embed, old, new, bad_unfold=True),
             "you reshaped (1, D, H'/P, W'/P) straight to (1, N', D), which mixes positions "
             "and channels: flatten(2), then transpose(1, 2)"),
            (_resize_variant(pos_embed, old, new, align_corners=True),
             "you resized with bicubic, align_corners=True (torchvision's setting)" + mode_note),
            (_resize_variant(pos_embed, old, new, antialias=True),
             "you resized with bicubic, antialias=True (timm's setting)" + mode_note),
            (_resize_variant(pos_embed, old, new, mode="bilinear"),
             "you resized with bilinear" + mode_note),
            (_resize_variant(pos_embed, old, new, mode="bilinear", align_corners=True),
             "you resized with bilinear, align_corners=True (like the original JAX code)"
             + mode_note),
            (_resize_variant(pos_embed, old, new, mode="nearest"),
             "you resized with nearest" + mode_note),
            (_resize_variant(pos_embed, old, new, mode="area"),
             "you resized with area" + mode_note),
        ]
        problem = _tensor_problem(
            got, expected, variants,
            wrong_values="wrong values: fold the grid rows into (1, D, H/P, W/P), resize with "
                         "F.interpolate(..., size=(H'/P, W'/P), mode='bicubic', "
                         "align_corners=False), flatten back to (1, N', D)")
        if problem:
            if problem[0].startswith("wrong shape"):
                problem.append(f"expected 1 + {nh}·{nw} = {1 + nh * nw} tokens: the class "
                               f"token and the new grid's positions")
            _fail(f"on {what}: {problem[0]}", *problem[1:])
    return ("correct on a square and a non-square grid: the class token kept out of the "
            "interpolation, the grid resized bicubically, rows first.")


# --- lesson 07: the whole Vision Transformer ----------------------------------------------


def _vit_and_params(config) -> tuple[VisionTransformer, int]:
    """A ViT without E_pos, built on the meta device (no memory, no initialisation), and the
    parameter count of the whole model: that one plus a real E_pos. (Drawing E_pos's random
    start on the meta device would first load PyTorch's meta kernels: a second, once.)"""
    bare = _on_meta(lambda: VisionTransformer(replace(config, position_embedding="none")))
    pos_embed = PositionalEmbedding(bare.patch_embed.num_patches, config.embed_dim)
    return bare, _params(bare) + _params(pos_embed)


def _vit_questions() -> list[_Question]:
    base, large, huge = CONFIGS["vit_b_16"], CONFIGS["vit_l_16"], CONFIGS["vit_h_14"]
    vit_b, params_b = _vit_and_params(base)
    params_l = _vit_and_params(large)[1]
    head = _params(vit_b.head)
    block = vit_b.encoder.blocks[0]
    mlp = _params(block.mlp)
    mlp_weights = sum(p.numel() for name, p in block.mlp.named_parameters() if "weight" in name)
    D, h = base.embed_dim, base.num_heads
    head_dim = block.attn.head_dim
    T = vit_b.patch_embed.num_patches + 1
    attention = (1, h, T, T)
    table_1 = "Table 1 rounds; count them: sum(p.numel() for p in model.parameters())"
    return [
        _Question("head_dim_B16", "D_h, the width of one attention head, ViT-B/16", head_dim,
                  ((D, "that is D; each of the h heads gets D / h"),
                   (3 * head_dim, "q, k and v each have D_h dimensions")),
                  "D_h = D / h (Table 1: D = 768, 12 heads)"),
        _Question("params_B16", "parameters of ViT-B/16 with a 1,000-class head", params_b,
                  ((86_000_000, table_1), (86, table_1),
                   (params_b - head, "that is without the classification head, "
                                     "D·1000 + 1000 more")),
                  "build vit_b_16() and count"),
        _Question("params_L16", "parameters of ViT-L/16 with a 1,000-class head", params_l,
                  ((307_000_000, "Table 1 says 307M, but the count depends on P (E and E_pos "
                                 "change size) and on the head: count this model"),
                   (307, table_1)),
                  "build vit_l_16() and count"),
        _Question("mlp_params_per_block_B16", "parameters of one encoder block's MLP, ViT-B/16",
                  mlp, ((mlp_weights, "that is the two weight matrices alone; the biases "
                                      "(MLP size + D) count too"),),
                  "two Linear layers, D -> MLP size -> D, with biases"),
        _Question("attention_shape_B16", "shape of one layer's attention weights for one "
                                         "224×224 image, ViT-B/16", attention,
                  (((1, h, T - 1, T - 1), "the class token takes part in attention too: "
                                          "T = N + 1 tokens"),
                   ((1, T, T), "one map per head: (B, h, T, T)"),
                   ((h, T, T), "keep the batch axis: (B, h, T, T)")),
                  "(B, h, T, T) with T = N + 1"),
        _Question("layers_H14", "encoder blocks L of ViT-H/14 (Table 1)", huge.depth,
                  ((CONFIGS["vit_l_16"].depth, "that is ViT-Large"),),
                  "Table 1, the Huge row"),
    ]


@_checker("vit answers")
def check_vit_answers(answers) -> str:
    """Lesson 07, check your understanding: sizes of the whole ViT.

    Args:
        answers: a dict (or a function returning one) with the keys ``head_dim_B16``,
            ``params_B16``, ``params_L16``, ``mlp_params_per_block_B16``,
            ``attention_shape_B16`` (a tuple) and ``layers_H14``.
    """
    return _check_answers(answers, _vit_questions())


def _refuse_whole_block(*args, **kwargs):
    raise _WholeModuleCalled("failed", [
        "your function called the whole block, block(z); write its forward pass from the "
        "parts: block.norm1, block.attn, block.norm2 and block.mlp"])


@_checker("encoder_block")
def check_encoder_block(fn) -> str:
    r"""Lesson 07, implement it: ``fn(block, z) -> z``, one pre-norm encoder block (Eq. 2–3).

    ``block`` is an :class:`~vit_tutorial.encoder.EncoderBlock` (in eval mode); use its parts
    ``block.norm1``, ``block.attn``, ``block.norm2`` and ``block.mlp`` — not ``block(z)`` —
    to compute $z' = \mathrm{MSA}(\mathrm{LN}(z)) + z$ and
    $\mathrm{MLP}(\mathrm{LN}(z')) + z'$ for ``z`` of shape ``(B, T, D)``.
    """
    for B, T in ((2, 5), (1, 7)):
        what = f"z of shape (B, T, D) = ({B}, {T}, 8)"
        block = _random_block(8, 2, 16)
        z = torch.randn(B, T, 8) * 2 + 1
        n1, attn, n2, mlp = block.norm1, block.attn, block.norm2, block.mlp
        with torch.no_grad():
            expected = block(z)
            mid = z + attn(n1(z))
            post = n1(z + attn(z))
            no_res_attn = attn(n1(z))
            variants = [
                (n2(post + mlp(post)),
                 "this is post-LN, the original Transformer's order: LayerNorm after each "
                 "residual sum. ViT normalises before each sub-layer: z + MSA(LN(z)) (Eq. 2), "
                 "then z' + MLP(LN(z')) (Eq. 3)"),
                (no_res_attn + mlp(n2(no_res_attn)),
                 "the residual connection around MSA is missing: Eq. 2 adds the input back, "
                 "z' = MSA(LN(z)) + z"),
                (mlp(n2(mid)), "the residual connection around the MLP is missing: Eq. 3 adds "
                               "its input back, MLP(LN(z')) + z'"),
                (mlp(n2(no_res_attn)), "both residual connections are missing: each sub-layer "
                                       "adds its input back (Eq. 2 and 3)"),
                (n2(n1(z) + attn(n1(z))) + mlp(n2(n1(z) + attn(n1(z)))),
                 "the residuals add the normalised input; add the un-normalised one: "
                 "z + MSA(LN(z))"),
                (mid + mlp(n1(mid)), "norm1 was used before the MLP too; Eq. 3 has its own "
                                     "LayerNorm, block.norm2"),
                ((z + mlp(n2(z))) + attn(n1(z + mlp(n2(z)))),
                 "MLP before MSA: Eq. 2 (attention) comes first, then Eq. 3 (the MLP)"),
                (z + attn(n1(z)) + mlp(n2(z)),
                 "MSA and MLP were computed side by side from the same z; Eq. 3 takes z', the "
                 "output of Eq. 2"),
                ((z + attn(z)) + mlp(z + attn(z)),
                 "the LayerNorms are missing: LN comes before each sub-layer (pre-LN)"),
            ]
        block.forward = _refuse_whole_block  # the learner writes the forward pass themselves
        with torch.no_grad():
            got = _run(fn, block, z.clone(), case=f"on {what}: ")
        problem = _tensor_problem(got, expected, variants)
        if problem:
            _fail(f"on {what}: {problem[0]}", *problem[1:])
    return "correct: pre-LN, with a residual connection around MSA and around the MLP (Eq. 2–3)."
