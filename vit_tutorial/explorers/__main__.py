"""``python -m vit_tutorial.explorers``: how long each explorer takes to redraw.

Measured on the pure functions the widgets call, so it is the kernel's share of a slider
move (the browser then decodes one PNG). Targets on the course's 2-core machine: patch
explorer < 200 ms, similarity explorer < 500 ms per pick.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

from vit_tutorial.explorers.common import tiny_vit
from vit_tutorial.explorers.interpolation import interpolation_view, resolution_accuracy
from vit_tutorial.explorers.patch_embedding import patch_embedding_view
from vit_tutorial.explorers.patches import patch_explorer_png
from vit_tutorial.explorers.similarity import similarity_view

__all__ = ["explorer_timings", "main"]


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)  # not rounded: a cached lookup takes microseconds


def _once_ms(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return 1000 * (time.perf_counter() - start)


def explorer_timings(repeats: int = 5) -> dict[str, float]:
    """How long the explorers take to redraw, in milliseconds (median of ``repeats``).

    Returns:
        ``{"patch: new P": ms, …}``; first-time costs (a source's Figure 7 grid, a new
        accuracy) are their own entries.
    """
    from vit_tutorial.explorers import similarity

    results: dict[str, float] = {}
    sizes = iter([8, 16, 32, 14, 28, 7, 4, 56] * repeats)
    results["patch: new P"] = _median_ms(lambda: patch_explorer_png(224, next(sizes)), repeats)
    results["patch: P does not divide"] = _median_ms(lambda: patch_explorer_png(224, 15), repeats)
    similarity.clear_caches()
    results["similarity: first view of a source"] = _once_ms(
        lambda: similarity_view("trained", 0, 0))
    side = tiny_vit().patch_embed.grid_size[0]
    picks = iter([(r, c) for r in range(side) for c in range(side)] * repeats)
    results["similarity: new patch"] = _median_ms(
        lambda: similarity_view("trained", *next(picks)), repeats)
    grids = iter([(14, 14), (10, 12), (7, 14), (16, 16), (5, 5)] * repeats)
    results["interpolation: new grid (figure)"] = _median_ms(
        lambda: interpolation_view(*next(grids)), repeats)
    resolution_accuracy.cache_clear()
    resolution_accuracy(side, side, "bicubic")  # the reference the readout compares with
    results["interpolation: accuracy, first time at 14×14"] = _once_ms(
        lambda: resolution_accuracy(14, 14, "bicubic"))
    results["interpolation: accuracy, cached"] = _median_ms(
        lambda: resolution_accuracy(14, 14, "bicubic"), repeats)
    results["patch embedding: new patch"] = _median_ms(lambda: patch_embedding_view(78),
                                                       repeats)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vit_tutorial.explorers",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5, help="redraws per measurement (>= 1)")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error(f"--repeats must be at least 1, got {args.repeats}")
    for name, ms in explorer_timings(args.repeats).items():
        print(f"{name:<48} {ms:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
