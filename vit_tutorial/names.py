"""Where a public name lives: a sub-package's names imported on first use, and names that
moved.

- :func:`lazy_exports` gives a sub-package (``exercises``, ``explorers``, ``classroom``) the
  ``__getattr__`` and ``__dir__`` that import a module only when one of its names is asked
  for, so ``from vit_tutorial.exercises import check_image_to_patches`` loads lesson 01's
  checkers alone.
- :func:`moved` gives a module the ``__getattr__`` that answers a name the course renamed or
  moved with an ``ImportError`` naming the new spelling — never a silent alias, so every
  idea keeps one name in the docs and the code (CONTRIBUTING.md, "Names").
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports", "moved", "MovedName"]


class MovedName(ImportError):
    """A name the course moved or renamed: the message says what to write instead."""


def _missing(module: str, name: str) -> AttributeError:
    return AttributeError(f"module {module!r} has no attribute {name!r}")


def lazy_exports(package: str, where: Mapping[str, str], owner: str | None = None
                 ) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``owner`` (default: ``package`` itself): ``where`` maps
    each public name to the module of ``package`` that holds it (``"patches"`` for
    ``package.patches``)."""

    def __getattr__(name: str):
        if name not in where:
            raise _missing(owner or package, name)
        return getattr(importlib.import_module(f"{package}.{where[name]}"), name)

    def __dir__() -> list[str]:  # the module's public names, the lazy ones among them
        return sorted(getattr(sys.modules[owner or package], "__all__", where))

    return __getattr__, __dir__


def moved(module: str, new_places: Mapping[str, str]) -> Callable[[str], object]:
    """A module's ``__getattr__`` for names that are no longer there: ``new_places`` maps each
    old name to what replaces it, as code (``"vit_tutorial.patches_figures.plot_patch_grid"``
    or ``"VisionTransformer(CONFIGS['vit_l_16'])"``). Asking for one raises
    :class:`MovedName` saying so; any other missing name is the usual ``AttributeError``."""

    def __getattr__(name: str):
        if name not in new_places:
            raise _missing(module, name)
        raise MovedName(f"{module}.{name} is now {new_places[name]}; change the import (or the "
                        f"call) to that")

    return __getattr__
