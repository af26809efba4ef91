"""The benchmark command runs, and each case's contenders compute the same thing.

(Timings are the benchmark's job, not the tests': nothing here asserts a speed.)"""

import pytest

from vit_tutorial import benchmark


@pytest.mark.slow
def test_cases_agree_and_time(capsys):
    cases = [benchmark.input_pipeline_case(batch_size=2), benchmark.embedding_case(batch_size=2),
             *benchmark.resize_cases()]  # each case checks its contenders agree when built
    for case in cases:
        medians = benchmark.time_case(case, rounds=1, warmup=0)
        assert set(medians) == {"ours", *case.references}
        assert all(seconds > 0 for seconds in medians.values())


@pytest.mark.slow
def test_command_prints_ratios(capsys):
    assert benchmark.main(["--rounds", "1", "--only", "resize"]) == 0
    out = capsys.readouterr().out
    assert out.count("ratio ours / ") == 2


def test_command_refuses_zero_rounds(capsys):
    with pytest.raises(SystemExit) as stop:
        benchmark.main(["--rounds", "0"])
    assert stop.value.code == 2 and "--rounds must be at least 1, got 0" in capsys.readouterr().err
