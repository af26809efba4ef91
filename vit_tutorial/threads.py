"""One CPU thread for small models: as fast, and the same bytes run after run.

The course's models are tiny (D = 64, 7×7 grids): PyTorch's thread pool costs more than it
saves on them, and on a busy machine its threads wait on each other. One thread is also
reproducible — the sums inside a matrix product happen in one order whatever the number of
cores (with two threads a seeded training gives other bytes) — so on the same kind of
machine ``python -m vit_tutorial.train`` gives the shipped checkpoint byte for byte.

A CPU with other vector instructions (AVX2 instead of AVX-512, say) runs other kernels,
which round in another order: the weights come out slightly different, the accuracy the
same within half a point. README ("The trained models") gives the measurements.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import torch

__all__ = ["single_thread"]


def _set_threads(count: int) -> None:
    # PyTorch's native pool warns when the count changes after parallel work; a warning
    # would break strict nbval, and nothing is wrong.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.set_num_threads(count)


@contextmanager
def single_thread():
    """Run the block with ``torch.set_num_threads(1)``, then restore the count."""
    threads = torch.get_num_threads()
    _set_threads(1)
    try:
        yield
    finally:
        _set_threads(threads)
