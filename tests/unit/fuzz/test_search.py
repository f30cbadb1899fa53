"""The fuzzer finds nothing on the correct simulator and finds every mutant the checker can
see; what it finds is shrunk, saved, and replayed by `harness run --program`."""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ConfigError
from harness.fuzz.program import load_program
from harness.fuzz.search import Budget, fuzz, parse_budget
from harness.sim.mutants import Mutant

# a short drain timeout: a swap held behind a closed gate gives up in 20 ms of virtual time,
# so that programs stay short whatever they do
SIM = "sim:drain_timeout_ms=20"
CLEAN_BUDGET = 500
MUTANT_BUDGET = 300

SURVIVORS: dict[Mutant, str] = {
    # Mutants whose bug no trace record shows, so that no checker invariant can see it yet,
    # each with the reason. The sweep fails when one of them starts being caught (remove it
    # here) as well as when any other mutant survives. Empty since the checker judges late
    # timeouts, undelivered alerts and parameter counts.
}


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("500", Budget(programs=500)),
        ("30s", Budget(seconds=30.0)),
        ("5m", Budget(seconds=300.0)),
        (" 1h ", Budget(seconds=3600.0)),
    ],
)
def test_budgets(text: str, budget: Budget) -> None:
    assert parse_budget(text) == budget


@pytest.mark.parametrize("text", ["0", "-3", "ten", "5d", "1.5s", ""])
def test_bad_budgets_are_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="budget"):
        parse_budget(text)


def test_the_correct_simulator_gives_no_finding() -> None:
    result = fuzz(SIM, Budget(programs=CLEAN_BUDGET), seed=0, shrink=False)
    assert result.finding is None, result.finding.judged.summary()
    assert result.programs == CLEAN_BUDGET


def _hunt(mutant: str) -> tuple[str, int, str | None]:
    result = fuzz(f"{SIM},mutant={mutant}", Budget(programs=MUTANT_BUDGET), shrink=False)
    return mutant, result.programs, result.finding.judged.summary() if result.finding else None


def test_the_fuzzer_finds_every_mutant_the_checker_can_see() -> None:
    jobs = min(2, os.cpu_count() or 1)
    with ProcessPoolExecutor(jobs) as pool:
        hunted = list(pool.map(_hunt, [m.value for m in Mutant]))
    survived = {Mutant(m) for m, _, found in hunted if found is None}
    unexpected = sorted(survived - SURVIVORS.keys())
    assert not unexpected, f"mutants no program found in {MUTANT_BUDGET}: {unexpected}"
    caught_now = sorted(SURVIVORS.keys() - survived)
    assert not caught_now, f"now caught, remove from SURVIVORS: {caught_now}"


def test_a_finding_is_shrunk_saved_and_replayed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = f"{SIM},mutant=wrong-wait-index"
    code = main(["fuzz", "--target", spec, "--budget", "200", "--out", str(tmp_path / "f")])
    out = capsys.readouterr().out
    assert code == 1, out
    assert "FINDING: lost-wakeup" in out and "harness run --program" in out
    first = load_program(tmp_path / "f" / "first.json")
    shrunk = load_program(tmp_path / "f" / "program.json")
    assert len(shrunk.steps) <= min(len(first.steps), 4), shrunk
    for name in ("first", "program"):  # shrinking kept the same failure
        said = (tmp_path / "f" / f"{name}.violations.txt").read_text()
        assert said.startswith("lost-wakeup: "), said
    assert (tmp_path / "f" / "program.trace.jsonl").stat().st_size > 0
    assert "lost-wakeup" in (tmp_path / "f" / "program.violations.txt").read_text()
    # the saved program fails again on the same kernel, through the suite's reports
    run = tmp_path / "replay"
    assert (
        main(
            [
                "run",
                "--program",
                str(tmp_path / "f" / "program.json"),
                "--target",
                spec,
                "--out",
                str(run),
            ]
        )
        == 1
    )
    case = json.loads((run / "results.json").read_text())["cases"]
    assert [(c["scenario"], c["verdict"]) for c in case] == [("program", "violation")]
    # and passes on the correct one
    assert (
        main(
            [
                "run",
                "--program",
                str(tmp_path / "f" / "program.json"),
                "--target",
                SIM,
                "--out",
                str(tmp_path / "ok"),
            ]
        )
        == 0
    )


def test_without_a_program_the_replay_scenario_is_not_in_the_suite(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["scenarios"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert "swap_storm" in names and "program" not in names


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["fuzz", "--budget", "soon"], "budget 'soon'"),
        (["fuzz", "--budget", "5", "--target", "sim:drain_timeout_ms=-5"], "drain_timeout_ms"),
        (["run", "--program", "/nonexistent/p.json"], "no such file"),
    ],
)
def test_bad_fuzz_and_replay_input_is_one_message(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err


def test_an_interrupted_shrink_keeps_the_smallest_failure_so_far() -> None:
    def interrupt(programs: int, shrinking: int) -> None:
        if shrinking == 5:
            raise KeyboardInterrupt

    result = fuzz(f"{SIM},mutant=wrong-wait-index", Budget(programs=200), on_progress=interrupt)
    assert result.interrupted and result.finding is not None and result.first is not None
    assert result.finding.judged.failed
    assert len(result.finding.program.steps) <= len(result.first.program.steps)
