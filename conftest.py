"""Test-session setup shared by the unit tests and the strict nbval run over the lessons."""

import os

# Progress bars write to stderr, which strict nbval compares: keep them quiet in tests.
os.environ.setdefault("TQDM_DISABLE", "1")


def pytest_configure(config):
    # A fresh machine builds matplotlib's font cache on first import and says so on stderr,
    # which would fail the first notebook under strict nbval. Build it here, once.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401


def pytest_collection_modifyitems(config, items):
    """Strict nbval's notebook cells count as slow: `pytest -m "not slow"` is the unit loop."""
    import pytest

    for item in items:
        if str(item.path).endswith(".ipynb"):
            item.add_marker(pytest.mark.slow)
