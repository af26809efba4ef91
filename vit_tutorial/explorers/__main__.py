"""``python -m vit_tutorial.explorers``: how long each explorer takes to redraw.

Measured on the functions the widgets call, so it is the kernel's share of a slider move
(the browser then decodes one PNG). Each line gives the median over ``--repeats`` new
settings and its target: a redraw under 150 ms feels instant; something done once (a first
picture, a source's Figure 7, an accuracy at a new grid) under a second. A line that misses
its target ends in ``MISSED``.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from collections.abc import Callable

from vit_tutorial.data import grace_hopper
from vit_tutorial.explorers import interpolation, patch_embedding, patches, similarity
from vit_tutorial.explorers.common import explorer_figure, photo, tiny_vit

__all__ = ["TARGETS_MS", "explorer_timings", "main"]

REDRAW_MS, FIRST_MS = 150, 1000
#: Each measurement -> its target in milliseconds.
TARGETS_MS = {name: FIRST_MS if "first" in name else REDRAW_MS for name in (
    "patch: first picture", "patch: new P", "patch: P does not divide", "patch: new image size",
    "patch embedding: first picture", "patch embedding: new patch",
    "similarity: first view of a source", "similarity: new patch",
    "interpolation: first picture", "interpolation: new grid (figure)",
    "interpolation: new position", "interpolation: accuracy, first time at 14×14",
    "interpolation: accuracy, cached")}


def _median_ms(fn: Callable, settings: list, repeats: int) -> float:
    """Median time of ``fn(*setting)`` over the first ``repeats`` settings (cycled)."""
    times = []
    for setting in itertools.islice(itertools.cycle(settings), repeats):
        start = time.perf_counter()
        fn(*setting)
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)  # not rounded: a cached lookup takes microseconds


def _once_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - start)


def explorer_timings(repeats: int = 5) -> dict[str, float]:
    """How long the explorers take to redraw, in milliseconds (median of ``repeats``).

    Each redraw shows a setting the explorer has not just shown (a slider move); first-time
    costs (a new picture, a source's Figure 7 grid, a new accuracy) are their own entries,
    measured once after their caches are cleared.

    Returns:
        ``{"patch: new P": ms, …}``, the keys of :data:`TARGETS_MS`.
    """
    side = tiny_vit().patch_embed.grid_size[0]  # loaded once, before any measurement
    # Libraries imported and fonts found once: a lesson has used them before its explorer.
    grace_hopper(32)
    explorer_figure(1, 1).canvas.draw()
    results: dict[str, float] = {}

    photo.cache_clear()
    patches._shared_picture.cache_clear()
    results["patch: first picture"] = _once_ms(lambda: patches.patch_explorer_png(224, 16))
    results["patch: new P"] = _median_ms(
        patches.patch_explorer_png, [(224, P) for P in (8, 32, 14, 28, 7, 4, 56, 16)], repeats)
    results["patch: P does not divide"] = _median_ms(
        patches.patch_explorer_png, [(224, P) for P in (15, 17, 13, 9, 30)], repeats)
    results["patch: new image size"] = _median_ms(
        patches.patch_explorer_png, [(S, 16) for S in (112, 384, 160, 448, 96, 224)], repeats)

    patch_embedding.clear_caches()
    results["patch embedding: first picture"] = _once_ms(
        lambda: patch_embedding.patch_embedding_view(78))
    results["patch embedding: new patch"] = _median_ms(
        patch_embedding.patch_embedding_view, [(n,) for n in (0, 195, 13, 100, 150, 7)],
        repeats)

    similarity.clear_caches()
    results["similarity: first view of a source"] = _once_ms(
        lambda: similarity.similarity_view("trained", 0, 0))
    picks = [(r, c) for r in range(side) for c in range(side)][1:]
    results["similarity: new patch"] = _median_ms(
        lambda r, c: similarity.similarity_view("trained", r, c), picks, repeats)

    interpolation._shared_picture.cache_clear()
    results["interpolation: first picture"] = _once_ms(
        lambda: interpolation.interpolation_view(14, 14))
    results["interpolation: new grid (figure)"] = _median_ms(
        interpolation.interpolation_view, [(10, 12), (7, 14), (16, 16), (5, 5), (3, 9), (14, 14)],
        repeats)
    results["interpolation: new position"] = _median_ms(
        lambda i, j: interpolation.interpolation_view(14, 14, "bicubic", (i, j)),
        [(0, 0), (13, 13), (3, 10), (7, 2), (12, 5), (7, 7)], repeats)
    interpolation.clear_caches()
    interpolation.resolution_accuracy(side, side, "bicubic")  # the reference it is compared to
    results["interpolation: accuracy, first time at 14×14"] = _once_ms(
        lambda: interpolation.resolution_accuracy(14, 14, "bicubic"))
    results["interpolation: accuracy, cached"] = _median_ms(
        interpolation.resolution_accuracy, [(14, 14, "bicubic")], repeats)
    return {name: results[name] for name in TARGETS_MS}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vit_tutorial.explorers",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="redraws per measurement (>= 1)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    load_before = _load()
    print(f"{'redraw':<48} {'ms':>8}    target")
    for name, ms in explorer_timings(args.repeats).items():
        target = TARGETS_MS.get(name, REDRAW_MS)
        missed = "" if ms < target else "   MISSED"
        print(f"{name:<48} {ms:8.1f} ms   < {target} ms{missed}")
    if load_before is not None:  # other work on the machine slows every line down
        print(f"load average (1 min): {load_before:.2f} before, {_load():.2f} after, on "
              f"{os.cpu_count()} CPUs")
    return 0


def _load() -> float | None:
    """The 1-minute load average, where the system has one (not on Windows)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else None


if __name__ == "__main__":
    sys.exit(main())
