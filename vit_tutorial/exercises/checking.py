r"""The machinery every exercise checker shares (the question banks live in one module per
lesson beside this one).

A checker ``check_<name>(answer)`` prints its feedback and returns a :class:`CheckResult`.
"Implement it" checkers run the learner's function on several cases and compare it with
the package's own reference; "check your understanding" checkers compare a dict of answers
with :class:`~vit_tutorial.exercises.questions.Question` s. The conventions are in the
README ("For teachers").
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import numbers
import re
import signal
import threading
from collections.abc import Callable

import torch
from torch import nn

from vit_tutorial.encoder import EncoderBlock
from vit_tutorial.names import moved
from vit_tutorial.threads import single_thread

__all__ = ["CheckResult", "NOT_IMPLEMENTED", "CheckStopped", "WholeModuleCalled", "as_double",
           "as_number", "checker", "tensors_close", "count_parameters", "distinct_values",
           "fail_check", "guard_methods", "build_on_meta", "TIME_LIMIT", "random_block",
           "run_answer", "shape_text", "tensor_problem", "type_name"]
__getattr__ = moved(__name__, {old: f"vit_tutorial.exercises.checking.{new}" for old, new in (
    ("close", "tensors_close"), ("fail", "fail_check"), ("Stop", "CheckStopped"),
    ("on_meta", "build_on_meta"))})

NOT_IMPLEMENTED = ("not implemented yet — replace the `raise NotImplementedError` with your "
                   "code, then run this cell again")

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


class CheckStopped(Exception):
    """Ends a check early: ``status`` is "failed" or "not implemented"."""

    def __init__(self, status: str, lines: list[str]):
        super().__init__(status)
        self.status, self.lines = status, list(lines)


class WholeModuleCalled(CheckStopped):
    """Raised when the learner calls the reference module they are asked to write."""


def fail_check(*lines: str):
    raise CheckStopped("failed", [line for line in lines if line])


_MARKS = {"passed": "✓", "failed": "✗", "not implemented": "○"}


def checker(exercise: str):
    """Run a check body with forked, seeded RNG; print and return its feedback.

    Whatever the learner's answer does, the feedback is a few lines of text: a result the
    check can't read (a meta tensor, an odd type) is reported in one line, not a traceback.
    """

    def decorate(body: Callable[[object], str | list[str]]):
        @functools.wraps(body)
        def check(answer):
            generator = torch.random.default_generator
            with single_thread(), torch.random.fork_rng(devices=[]):  # tiny tensors
                generator.manual_seed(0)
                status, lines = _outcome(body, answer)
            head, *rest = lines
            message = "\n".join([f"{_MARKS[status]} {exercise}: {head}",
                                 *(f"  {line}" for line in rest)])
            print(message)
            return CheckResult(exercise, status, message)

        check.__signature__ = inspect.signature(body).replace(return_annotation=CheckResult)
        return check

    return decorate


def _outcome(body: Callable[[object], str | list[str]], answer) -> tuple[str, list[str]]:
    try:
        result = body(answer)
        return "passed", [result] if isinstance(result, str) else result
    except CheckStopped as stop:
        return stop.status, stop.lines
    except Exception as error:  # the answer broke the check itself: say so in one line
        return "failed", [f"the checker could not read your answer "
                          f"({_describe_exception(error)}); return what the exercise asks "
                          f"for — the lesson's cell above shows the expected type and shape"]


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


#: Seconds a learner's function may run in one call before the checker gives up on it.
TIME_LIMIT = 10


class _TooSlow(Exception):
    pass


@contextlib.contextmanager
def _time_limit(seconds: float):
    """Raise :class:`_TooSlow` in the main thread after ``seconds`` (where the platform has
    ``SIGALRM``: Linux and macOS, Colab included; elsewhere no limit)."""
    usable = (hasattr(signal, "setitimer")
              and threading.current_thread() is threading.main_thread())
    if not usable:
        yield
        return

    def alarm(signum, frame):
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _snapshots(args: tuple) -> list:
    """Copies of the tensor (and module) arguments, to see whether the learner changed them."""
    copies = []
    for arg in args:
        if isinstance(arg, torch.Tensor) and arg.device.type != "meta":
            copies.append((arg, arg.detach().clone()))
        elif isinstance(arg, nn.Module):
            copies.append((arg, {k: v.detach().clone() for k, v in arg.state_dict().items()}))
    return copies


def _changed(copies: list) -> bool:
    for arg, copy in copies:
        if isinstance(arg, torch.Tensor):
            if arg.shape != copy.shape or not torch.equal(arg.detach(), copy):
                return True
        else:
            state = arg.state_dict()
            if state.keys() != copy.keys() or any(not torch.equal(state[k].detach(), v)
                                                  for k, v in copy.items()):
                return True
    return False


def run_answer(fn, *args, case: str = "",
               hint: str | Callable[[BaseException], str | None] | None = None,
               fallback: str | None = None, time_limit: float | None = None):
    """Call the learner's ``fn``; turn NotImplementedError and other errors into feedback.

    On an exception the feedback names it in one line, then adds what its message usually
    means, ``hint`` (a text, or a function of the exception that may return ``None``) and,
    only if neither says anything, ``fallback``. A call that runs longer than
    ``time_limit`` seconds (default :data:`TIME_LIMIT`) is stopped and reported, and a call
    that changes its tensor or module arguments in place fails: a checker's cases must stay
    what they were.
    """
    if not callable(fn):
        fail_check(f"expected your function, got {type_name(fn)}; pass the function itself, "
             f"without calling it (no parentheses)")
    limit = TIME_LIMIT if time_limit is None else time_limit
    copies = _snapshots(args)
    try:
        with _time_limit(limit):
            result = fn(*args)
    except CheckStopped:
        raise
    except NotImplementedError:
        raise CheckStopped("not implemented", [NOT_IMPLEMENTED]) from None
    except _TooSlow:
        fail_check(f"{case}your function did not finish within {limit:g} s; look for a loop that "
             f"never ends (a while loop whose condition never changes), then run the cell "
             f"again")
    except Exception as error:  # a learner's bug: report it in one line, with a hint
        lines = [f"{case}your function raised {_describe_exception(error)}"]
        usual = next((h for text, h in _EXCEPTION_HINTS if text in str(error)), None)
        specific = hint(error) if callable(hint) else hint
        hints = [h for h in (usual, specific) if h] or [fallback or _DEFAULT_HINT]
        lines += [f"hint: {h}" for h in hints]
        raise CheckStopped("failed", lines) from None
    if _changed(copies):
        fail_check(f"{case}your function changed its input in place (an operation ending in _, "
             f"or an assignment into a slice of an argument); work on a copy, or build a "
             f"new tensor, so the caller's tensors stay as they were")
    return result


def type_name(value: object) -> str:
    if isinstance(value, torch.Tensor):
        return f"a tensor of shape {shape_text(value)}"
    if value is None:
        return "None"
    return f"a {type(value).__name__}"


def shape_text(value) -> str:
    shape = tuple(value.shape) if isinstance(value, torch.Tensor) else tuple(value)
    return str(shape) if len(shape) != 1 else f"({shape[0]},)"


def as_double(x: torch.Tensor) -> torch.Tensor:
    return x.detach().cpu().to(torch.float64)


def tensors_close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-5) -> bool:
    if tuple(a.shape) != tuple(b.shape) or a.is_complex() or b.is_complex():
        return False
    return bool(torch.allclose(as_double(a), as_double(b), rtol=1e-4, atol=atol))


def tensor_problem(got: object, expected: torch.Tensor, variants=(), *, name: str = "",
                   wrong_values: str = "wrong values", shape_hint: str = "") -> list[str] | None:
    """``None`` if ``got`` matches ``expected``, else the lines that say what is wrong.

    ``variants`` are known mistakes, ``(tensor or shape tuple, explanation)``: a tensor must
    match ``got`` value for value, a shape tuple only in shape. ``shape_hint`` is a last line
    for a shape no variant explains (what the shape is made of).
    """
    label = f"{name}: " if name else ""
    if not isinstance(got, torch.Tensor):
        return [f"{label}your function returned {type_name(got)}; return a torch.Tensor of "
                f"shape {shape_text(expected)}"]
    if got.device.type == "meta":
        return [f"{label}your function returned a tensor on the meta device, which has a shape "
                f"but no values; compute on the inputs' device (don't pass device='meta')"]
    known = [(v, m) for v, m in variants
             if not (isinstance(v, torch.Tensor) and tensors_close(v, expected))]
    if tuple(got.shape) != tuple(expected.shape):
        for v, message in known:
            if isinstance(v, torch.Tensor) and tensors_close(got, v):
                return [label + message]
        for v, message in known:
            if isinstance(v, tuple) and tuple(got.shape) == v:
                return [label + message]
        lines = [f"{label}wrong shape: expected {shape_text(expected)}, got {shape_text(got)}"]
        if got.numel() == expected.numel():
            lines.append("the number of values is right; the shape you reshape to is not")
        return lines + ([shape_hint] if shape_hint else [])
    if got.is_complex() or torch.isnan(as_double(got)).any():
        return [f"{label}the result contains NaN or complex values"]
    dtype = (f"{label}right shape, but the dtype is {got.dtype}; expected {expected.dtype}: "
             f"keep the input's dtype (no .float(), .double(), .long() or .int() on the way)")
    if tensors_close(got, expected):
        return None if got.dtype == expected.dtype else [dtype]
    for v, message in known:  # a known mistake is named first, whatever the dtype
        if isinstance(v, torch.Tensor) and tensors_close(got, v):
            return [label + message]
    if got.dtype != expected.dtype:
        return [dtype]
    if tensors_close(got.flatten().sort().values, expected.flatten().sort().values):
        return [f"{label}right values, wrong order: compare your result with the expected "
                f"layout in the lesson"]
    return [label + wrong_values]


def distinct_values(*shape: int) -> torch.Tensor:
    """Distinct values 0, 1, 2, … — every misplaced value shows."""
    return torch.arange(math.prod(shape), dtype=torch.float32).reshape(shape)


def as_number(value: object):
    """A learner's number as int/float (``None`` if it is not one)."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return None
    if isinstance(value, numbers.Integral):
        return int(value)
    value = float(value)
    return int(value) if value.is_integer() else value


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def build_on_meta(build: Callable[[], nn.Module]) -> nn.Module:
    """Build a module without allocating its weights (shapes and counts only)."""
    with torch.device("meta"):
        return build()


def random_block(D: int, num_heads: int, mlp_dim: int) -> EncoderBlock:
    """An encoder block in eval mode with non-trivial LayerNorm weights."""
    block = EncoderBlock(D, num_heads, mlp_dim).eval()
    with torch.no_grad():
        for norm in (block.norm1, block.norm2):
            norm.weight.normal_(1.0, 0.5)
            norm.bias.normal_(0.0, 0.5)
    return block


@contextlib.contextmanager
def guard_methods(module: nn.Module, names: tuple[str, ...], refusal: CheckStopped):
    """While the ``with`` block runs, make ``module``'s methods ``names`` raise ``refusal`` —
    through the instance, through its class (``type(module).forward(module, x)``) and through
    every class it inherits them from (``EncoderBlock.forward(block, z)``), so a learner asked
    to write a forward pass from the parts can't call the whole thing. The module's class
    becomes a subclass of its own for good; the classes it inherits from get their methods
    back when the block ends, and the module's parts keep working throughout."""

    def refuse(*args, **kwargs):
        raise refusal

    owners = [(cls, name, cls.__dict__[name]) for cls in type(module).__mro__
              if cls not in (nn.Module, object) for name in names if name in cls.__dict__]
    module.__class__ = type(f"Guarded{type(module).__name__}", (type(module),),
                            {name: refuse for name in names})
    try:
        for cls, name, _ in owners:
            setattr(cls, name, refuse)
        yield module
    finally:
        for cls, name, method in owners:
            setattr(cls, name, method)
