"""History: verdicts over runs; a change with unchanged inputs is flaky, a change with an
input names its first run and the input that changed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.cli import main
from harness.store import open_results_store
from harness.store.history import Entry, analyse, history
from harness.store.results import ResultsStore
from harness.store.rows import Inputs
from tests.unit.store.fill import INPUTS, record
from tests.unit.store.test_store import cell


def entry(run: str, verdict: str, inputs: Inputs = INPUTS, scenario: str = "s") -> Entry:
    return Entry(
        run_id=run, cell="c", scenario=scenario, repetition=0, verdict=verdict, inputs=inputs
    )


def test_a_flip_with_the_same_inputs_is_flaky_not_a_regression() -> None:
    flaky, changes = analyse([entry("r1", "pass"), entry("r2", "violation"), entry("r3", "pass")])
    assert changes == []
    [f] = flaky
    assert (f.flips, f.verdicts, f.runs) == (2, ("pass", "violation"), ("r2", "r3"))


def test_a_change_with_an_input_names_the_first_run_and_the_suspect() -> None:
    new_driver = Inputs(guest_build="sim", driver_hash="feed", harness_version="0.1.0")
    flaky, changes = analyse(
        [
            entry("r1", "pass"),
            entry("r2", "pass"),
            entry("r3", "violation", new_driver),
            entry("r4", "violation", new_driver),
        ]
    )
    assert flaky == []
    [c] = changes
    assert (c.before, c.after, c.first_run, c.last_run_before) == ("pass", "violation", "r3", "r2")
    assert c.suspects == ("driver_hash: sim-model -> feed",) and c.regression


def test_an_unchanged_verdict_across_new_inputs_is_neither() -> None:
    other = Inputs(guest_build="26100.1", driver_hash="x", harness_version="0.2.0")
    assert analyse([entry("r1", "pass"), entry("r2", "pass", other)]) == ([], [])


@pytest.fixture
def store(store_url: str) -> Iterator[ResultsStore]:
    s = open_results_store(store_url)
    yield s
    s.close()


def test_history_reads_counted_verdicts_of_the_last_runs(store: ResultsStore) -> None:
    a, b = cell("sim/model/target/all"), cell("sim/v2/target/all", build="v2", build_id="b2")
    new = Inputs(guest_build="sim", driver_hash="d2", harness_version="0.1.0")
    record(store, "r1", "2026-12-01T00:00", [a, b], {a.key: {"s": "pass", "t": "pass"}})
    record(store, "r2", "2026-12-02T00:00", [a, b], {a.key: {"s": "violation", "t": "pass"}})
    record(
        store,
        "r3",
        "2026-12-03T00:00",
        [a, b],
        {a.key: {"s": "pass", "t": "violation"}, b.key: {"s": "crash"}},
        inputs=new,
    )
    found = history(store, "s")
    assert [(e.run_id, e.cell, e.verdict) for e in found.entries] == [
        ("r1", a.key, "pass"),
        ("r1", b.key, "pass"),
        ("r2", a.key, "violation"),
        ("r2", b.key, "pass"),
        ("r3", a.key, "pass"),
        ("r3", b.key, "crash"),
    ]
    assert [(f.cell, f.runs) for f in found.flaky] == [(a.key, ("r2",))]
    fix, regression = found.changes  # r2 -> r3 changed the driver: changes, not flakiness
    assert (fix.cell, fix.before, fix.after, fix.regression) == (a.key, "violation", "pass", False)
    assert (regression.cell, regression.first_run, regression.regression) == (b.key, "r3", True)
    assert [e.run_id for e in history(store, "s", build="v2").entries] == ["r1", "r2", "r3"]
    assert {e.run_id for e in history(store, "s", runs=2).entries} == {"r2", "r3"}
    assert history(store, "nope").entries == []


def test_history_command_reports_flaky_and_regressions_apart(
    store_url: str, store: ResultsStore, capsys: pytest.CaptureFixture[str]
) -> None:
    a = cell("sim/model/target/all")
    new = Inputs(guest_build="sim", driver_hash="d2", harness_version="0.1.0")
    record(store, "r1", "2026-12-01T00:00", [a], {a.key: {"s": "pass", "t": "pass"}}, inputs=INPUTS)
    record(
        store,
        "r2",
        "2026-12-02T00:00",
        [a],
        {a.key: {"s": "violation", "t": "pass"}},
        inputs=INPUTS,
    )
    record(
        store, "r3", "2026-12-03T00:00", [a], {a.key: {"s": "pass", "t": "violation"}}, inputs=new
    )
    assert main(["history", "--store", store_url]) == 1
    out = capsys.readouterr().out
    assert f"{a.key} s#0  ✓✗✓" in out and f"{a.key} t#0  ✓✓✗" in out
    flaky, regressions = out.split("\nflaky")[1].split("regressions")
    assert f"{a.key} s#0: 1 flip(s)" in flaky and "t#0" not in flaky
    assert (
        f"{a.key} t#0: pass -> violation first in run r3 (last pass in r2); suspect: "
        "driver_hash: sim-model -> d2"
    ) in regressions
    assert main(["history", "t", "--store", store_url, "--build", "other"]) == 0
    assert "no results for scenario t on build other" in capsys.readouterr().out
    assert main(["history"]) == 2
    assert "--plan PLAN or --store URL" in capsys.readouterr().err
