"""What every exercise checker's tests assert (imported by tests/test_*_exercises.py)."""


def not_implemented(*args):
    """The stub a student notebook has in place of a solution."""
    raise NotImplementedError()


def with_answers(answers: dict, name: str, **changes) -> dict:
    """The right answers of checker ``name`` with some of them changed."""
    return {**answers[name], **changes}


def assert_passes(check, answer, capsys) -> None:
    """A right answer: a one-line confirmation, printed."""
    result = check(answer)
    assert result and result.status == "passed", result.message
    assert result.message.startswith("✓ ")
    assert len(result.message.splitlines()) == 1
    assert capsys.readouterr().out == result.message + "\n"


def assert_not_implemented(check, answers: dict | None) -> None:
    """The student stub: "not implemented yet", no traceback; for a dict of answers the
    template lists every key, and the answers may come from a function."""
    result = check(not_implemented)
    assert not result and result.status == "not implemented"
    assert "not implemented yet — replace the `raise NotImplementedError`" in result.message
    assert "Traceback" not in result.message
    if answers is not None:
        for key in answers:
            assert f'"{key}": ...,' in result.message
        assert check(lambda: answers)


def assert_hint(check, answer, hint: str) -> None:
    """A wrong answer: failed, with this hint, and no traceback."""
    result = check(answer)
    assert not result and result.status == "failed"
    assert result.message.startswith("✗ ")
    assert hint in result.message, result.message
    assert "Traceback" not in result.message
