"""Input checks shared by the lesson modules.

Every public function of the course validates what it is given and, when something is off,
raises a ``ValueError`` or ``TypeError`` that says what was expected, what was received and
how to fix it. The helpers here keep those messages consistent.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import torch

__all__ = ["to_pair", "check_tensor", "check_positive_int", "check_divisible",
           "check_num_prefix_tokens", "check_heads", "check_choice", "check_bool",
           "check_positive_number", "check_float_dtype", "work_dtype", "MAX_VALUES",
           "check_size", "check_same_device", "check_like_weights", "check_dropout",
           "check_has_values"]

#: The most values one tensor may hold when its size comes from an argument: 2**28, 1 GiB
#: in float32. Far above anything the course builds (ViT-H's largest weight holds 6.6
#: million), and a size past it is almost always a slip (pixels for patches, a 10**5 grid);
#: it is refused before anything is allocated, instead of failing in torch's allocator.
MAX_VALUES = 2 ** 28


def check_positive_int(value: object, name: str) -> int:
    """Return ``value`` if it is a positive ``int``; otherwise raise a teaching error."""
    # bool is a subclass of int, but `patch_size=True` is always a mistake. NumPy integers
    # (numbers.Integral) are welcome and become plain ints.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be a positive int, got {value!r} of type {type(value).__name__}; "
            f"pass a whole number such as 16"
        )
    if value <= 0:
        raise ValueError(f"{name} must be a positive int, got {value}; "
                         f"pass a whole number such as 16")
    return int(value)


def to_pair(value: object, name: str) -> tuple[int, int]:
    """Turn an ``int`` or an ``(h, w)`` pair into a ``(h, w)`` tuple of positive ints.

    Example:
        >>> to_pair(16, "patch_size")
        (16, 16)
        >>> to_pair((32, 48), "image_size")
        (32, 48)
    """
    if (isinstance(value, torch.Size)
            or (isinstance(value, Sequence) and not isinstance(value, str))):
        if len(value) != 2:
            raise ValueError(
                f"{name} must be an int or an (h, w) pair, got {tuple(value)!r} with "
                f"{len(value)} entries; pass e.g. {name}=16 or {name}=(16, 16)"
            )
        return (check_positive_int(value[0], f"{name}[0] (height)"),
                check_positive_int(value[1], f"{name}[1] (width)"))
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"{name} must be an int or an (h, w) pair of ints, got {value!r} of type "
            f"{type(value).__name__}; pass e.g. {name}=16 or {name}=(16, 16)"
        )
    value = check_positive_int(value, name)
    return (value, value)


def check_tensor(x: object, name: str) -> torch.Tensor:
    """Return ``x`` if it is a ``torch.Tensor``; otherwise raise a ``TypeError``."""
    if not isinstance(x, torch.Tensor):
        hint = ""
        if type(x).__module__.startswith("numpy"):
            hint = " (for a NumPy array use torch.from_numpy(x))"
        elif type(x).__module__.startswith("PIL"):
            hint = " (for a PIL image use torchvision.transforms.v2.functional.pil_to_tensor(img))"
        raise TypeError(
            f"{name} must be a torch.Tensor, got {type(x).__name__}; convert it first{hint}"
        )
    return x


def check_divisible(image_size: tuple[int, int], patch_size: tuple[int, int]) -> tuple[int, int]:
    """Return the patch grid ``(H/P, W/P)``; raise if a side is not a multiple of the patch side."""
    grid = []
    for side, length, p in zip(("height", "width"), image_size, patch_size):
        if length % p != 0:
            suggestion = max(p, (length // p) * p)
            raise ValueError(
                f"image {side} {length} is not divisible by patch_size {p}; resize or crop "
                f"the image to a multiple of {p} (e.g. {suggestion})"
            )
        grid.append(length // p)
    return grid[0], grid[1]


def check_num_prefix_tokens(value: object) -> int:
    """Return ``value`` if it is an ``int`` >= 0: the tokens in front of the patch grid
    (1 for the class token, 0 for none); otherwise raise a teaching error."""
    hint = "pass 1 for a ViT with a class token (the paper) or 0 for patches only"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"num_prefix_tokens must be an int >= 0, got {value!r} of type "
                        f"{type(value).__name__}; {hint}")
    if value < 0:
        raise ValueError(f"num_prefix_tokens must be an int >= 0, got {value}; {hint}")
    return int(value)


def check_heads(embed_dim: object, num_heads: object) -> tuple[int, int]:
    """Return ``(D, h)`` if ``num_heads`` divides ``embed_dim``: each head gets ``D / h``
    dimensions; otherwise raise a teaching error that lists the head counts that fit."""
    D = check_positive_int(embed_dim, "embed_dim")
    h = check_positive_int(num_heads, "num_heads")
    if D % h != 0:
        divisors = [k for k in range(1, min(D, 32) + 1) if D % k == 0]
        raise ValueError(f"embed_dim {D} is not divisible by num_heads {h}; each head gets "
                         f"D / num_heads dimensions, so pick num_heads from {divisors}")
    return D, h


def check_choice(value: object, name: str, choices, hint: str = "") -> str:
    """Return ``value`` if it is one of ``choices``; else a ``ValueError`` listing them (a
    ``TypeError`` if it is not a string at all)."""
    listed = ", ".join(repr(c) for c in choices)
    fix = f"; {hint}" if hint else ""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {listed} (a string), got {value!r} of type "
                        f"{type(value).__name__}{fix}")
    if value not in choices:
        raise ValueError(f"{name} must be one of {listed}, got {value!r}{fix}")
    return value


def check_bool(value: object, name: str) -> bool:
    """Return ``value`` if it is ``True`` or ``False`` (NumPy's bools too)."""
    if type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"):
        value = bool(value)  # NumPy's own bool (np.bool_)
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {value!r} of type "
                        f"{type(value).__name__}")
    return value


def check_positive_number(value: object, name: str, hint: str = "") -> float:
    """Return ``value`` as a float if it is a finite number > 0 (NumPy's too)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}"
                         + (f"; {hint}" if hint else ""))
    return float(value)


def check_float_dtype(dtype: object) -> torch.dtype:
    """Return ``dtype`` if it is a floating-point ``torch.dtype``."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype (e.g. torch.float32), got "
                        f"{dtype!r}")
    return dtype


def work_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype to compute in: float64 stays float64, everything else is float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def check_size(count: int, what: str, fix: str) -> int:
    """Return ``count`` if a tensor of that many values is within :data:`MAX_VALUES`;
    otherwise a ``ValueError`` naming ``what`` would be built, and ``fix``."""
    if count > MAX_VALUES:
        raise ValueError(f"{what} would hold {count:,} values, more than the course's limit of "
                         f"{MAX_VALUES:,} (2**28, 1 GiB in float32) for one tensor; {fix}")
    return count


def check_same_device(x: torch.Tensor, name: str, other: torch.Tensor, other_name: str,
                      mover: str | None = None) -> None:
    """Raise a ``ValueError`` that says which is where if ``x`` and ``other`` are on
    different devices (torch's own message names neither). ``mover`` names what moves
    ``other`` (e.g. ``"the EncoderBlock"`` for its weights); default ``other_name``."""
    if x.device != other.device:
        raise ValueError(f"device mismatch: {name} on {x.device}, {other_name} on "
                         f"{other.device}; move {name} with .to('{other.device}'), or "
                         f"{mover or other_name} with .to('{x.device}')")


def check_like_weights(x: torch.Tensor, name: str, weight: torch.Tensor, owner: str
                       ) -> torch.Tensor:
    """Return ``x`` if it is floating point, on the device of a module's ``weight`` and in its
    dtype; otherwise say what differs and how to fix it. ``owner`` names the module."""
    if not x.is_floating_point():
        raise TypeError(f"{name} must be floating point, got {x.dtype}; convert with .float()")
    check_same_device(x, name, weight, f"the {owner}'s weights", f"the {owner}")
    if x.dtype != weight.dtype:
        raise TypeError(f"{owner}'s weights are {weight.dtype} but the {name} are {x.dtype}; "
                        f"convert the {name} with {name}.to({weight.dtype}) (or the model with "
                        f"model.to({x.dtype}))")
    return x


def check_dropout(value: object) -> float:
    """Return ``value`` as a float if it is a number in [0, 1) (NumPy's too)."""
    hint = "the paper uses 0.1 for some runs and 0 at inference"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"dropout must be a number in [0, 1), got {value!r} of type "
                        f"{type(value).__name__}; {hint}")
    if not 0 <= value < 1:
        raise ValueError(f"dropout must be a number in [0, 1), got {value!r}; {hint}")
    return float(value)


def check_has_values(x: torch.Tensor, name: str, what: str) -> torch.Tensor:
    """Return ``x`` unless it is on the ``meta`` device, which holds shapes but no values
    (so no number ``what`` can be computed from it)."""
    if x.device.type == "meta":
        raise ValueError(f"{name} is on the meta device, which holds shapes but no values, so "
                         f"{what} can't be computed; compute {name} on the CPU or a GPU")
    return x
