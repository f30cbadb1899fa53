"""`-j N`: shards of the suite in parallel give the serial run's cases, in its order."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from harness.errors import ConfigError
from harness.results.model import CaseResult
from harness.scenarios.plugin import shard_of
from harness.scenarios.runner import run_suite


def _key(cases: list[CaseResult]) -> list[tuple[str, int, str, str]]:
    return [(c.scenario, c.repetition, c.verdict.value, c.message) for c in cases]


def test_two_shards_equal_the_serial_run(tmp_path: Path) -> None:
    target = "sim:mutant=lost-wakeup"  # some scenarios fail: verdicts must match, not just pass
    serial = run_suite(target=target, repeat=2)
    seen: list[str] = []
    parallel = run_suite(
        target=target,
        repeat=2,
        jobs=2,
        out=str(tmp_path),
        on_case=lambda case: seen.append(case.scenario),
    )
    assert _key(parallel.cases) == _key(serial.cases)
    assert parallel.exit_code == serial.exit_code == 1
    assert sorted(seen) == sorted(c.scenario for c in serial.cases)  # progress from both
    written = msgspec.json.decode((tmp_path / "cases.json").read_bytes(), type=list[CaseResult])
    assert _key(written) == _key(serial.cases)


def test_more_shards_than_scenarios_is_fine() -> None:
    one = run_suite(keyword="terminate_on_request")
    many = run_suite(keyword="terminate_on_request", jobs=3)
    assert _key(many.cases) == _key(one.cases) and len(one.cases) == 1


@pytest.mark.parametrize("text", ["2/2", "x/2", "1", "-1/3"])
def test_bad_shard(text: str) -> None:
    with pytest.raises(ConfigError, match="shard"):
        shard_of(text)
