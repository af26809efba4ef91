"""The package and its tests pass ``ruff check`` (rules and line length in pyproject.toml).

Ruff comes with the test requirements (requirements-dev.txt, the ``test`` extra). Without it the
test is skipped with the reason — except under ``CI=true``, where it fails instead.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_check_passes():
    if importlib.util.find_spec("ruff") is None:
        reason = "ruff is not installed: pip install -r requirements-dev.txt (or 'ruff>=0.6')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"the lint test must run under CI, but {reason}")
        pytest.skip(reason)
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "vit_tutorial", "tests"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, (
        f"ruff check vit_tutorial tests found problems (fix them, or see pyproject.toml's "
        f"[tool.ruff]):\n{result.stdout}{result.stderr}")


MAX_MATCH = 70  # CONTRIBUTING.md, "Errors and their tests": a short, stable fragment


def long_matches(source: str) -> list[tuple[int, int]]:
    """``(line, length)`` of every ``match=`` pattern longer than :data:`MAX_MATCH`."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.keyword) and node.arg == "match":
            value = node.value
            text = (value.value if isinstance(value, ast.Constant) and isinstance(
                value.value, str) else ast.unparse(value) if isinstance(value, ast.JoinedStr)
                else "")
            if len(text) > MAX_MATCH:
                found.append((value.lineno, len(text)))
    return found


def test_error_tests_match_a_fragment_not_a_sentence():
    found = {path.name: lines for path in sorted((ROOT / "tests").glob("test_*.py"))
             if (lines := long_matches(path.read_text(encoding="utf-8")))}
    assert found == {}, f"shorten these match= patterns to what was expected: {found}"
    planted = 'pytest.raises(ValueError, match="' + "x" * (MAX_MATCH + 1) + '")'
    assert long_matches(planted) == [(1, MAX_MATCH + 1)]
