"""Sign-off: yes only when every required cell of the build passed in each of the last N
runs, no open crash bucket was seen on it and its driver hashes are recorded; the report
names the blockers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.cli import main
from harness.nightly.signoff import crash_build_name, decide
from harness.plan import expand, load_plan
from harness.plan.load import LoadedPlan
from harness.store import open_results_store
from harness.store.results import ResultsStore
from harness.store.rows import Inputs
from harness.triage.model import Crash
from harness.triage.store import Occurrence
from tests.unit.store.fill import record

FILES = {"hsprobe.sys": "aa" * 32, "hsprobe2.sys": "bb" * 32}


def plan_file(tmp_path: Path, store_url: str) -> Path:
    (tmp_path / "dist").mkdir(exist_ok=True)
    (tmp_path / "dist" / "manifest.json").write_text(
        json.dumps(
            {
                "build_id": "v7-abc",
                "artifacts": [
                    {"name": n, "version": i + 1, "sha256": h}
                    for i, (n, h) in enumerate(FILES.items())
                ],
            }
        )
    )
    path = tmp_path / "plan.toml"
    path.write_text(f'''name = "p"
store = "{store_url}"
signoff_runs = 2
[targets]
sim = "sim"
[builds]
v7 = {{ manifest = "dist/manifest.json" }}
model = {{}}
[selections]
all = ""
swap = "swap"
[[cells]]
targets = ["sim"]
builds = ["v7"]
selections = ["all", "swap"]
required = true
[[cells]]
targets = ["sim"]
builds = ["model"]
''')
    return path


@pytest.fixture
def setup(tmp_path: Path, store_url: str) -> Iterator[tuple[ResultsStore, LoadedPlan, Path]]:
    path = plan_file(tmp_path, store_url)
    store = open_results_store(store_url)
    yield store, load_plan(path), path
    store.close()


def test_yes_when_every_required_cell_passed_in_the_last_n_runs(
    setup: tuple[ResultsStore, LoadedPlan, Path],
) -> None:
    store, loaded, _ = setup
    cells = expand(loaded)
    record(store, "r1", "2026-12-01", cells, {"sim/v7/target/all": {"s": "violation"}})
    record(store, "r2", "2026-12-02", cells, {})
    record(store, "r3", "2026-12-03", cells, {"sim/model/target/all": {"s": "violation"}})
    record(
        store, "r4", "2026-12-04", cells, {"sim/v7/target/all": {"s": "crash"}}, state="running"
    )  # not finished: does not count
    decision = decide(store, loaded, "v7", 2)
    assert decision.ship and decision.blockers == []
    assert [c.runs for c in decision.cells] == [[("r3", "pass"), ("r2", "pass")]] * 2
    assert decision.driver == FILES
    assert not decide(store, loaded, "v7", 3).ship  # r1 failed


def test_no_names_each_blocker(setup: tuple[ResultsStore, LoadedPlan, Path]) -> None:
    store, loaded, _ = setup
    cells = expand(loaded)
    record(store, "r1", "2026-12-01", cells, {"sim/v7/target/swap": {"s": "violation"}})
    other = Inputs(guest_build="sim", driver_hash="0000", harness_version="0.1.0")
    record(store, "r2", "2026-12-02", cells, {}, inputs=other)
    store.crashes.add(
        Occurrence(
            source="/c/1",
            time="2026-12-02T01:00",
            crash=Crash(platform="linux", kind="BUG: oops"),
            driver_build=crash_build_name(FILES),
        )
    )
    decision = decide(store, loaded, "v7", 3)
    text = "\n".join(decision.blockers)
    assert not decision.ship
    assert "cell sim/v7/target/all ran in 2 of the 3 finished run(s) needed" in text
    assert "cell sim/v7/target/swap did not pass: violation in run r1" in text
    assert "result(s) of required cells ran other driver files than build v7-abc" in text
    assert "open crash bucket" in text and "BUG: oops" in text
    bucket = decision.buckets[0].id
    store.crashes.set_state(bucket, "closed", "fixed")
    assert "open crash bucket" not in "\n".join(decide(store, loaded, "v7", 3).blockers)


def test_signoff_command_writes_the_page_and_answers_by_exit_status(
    setup: tuple[ResultsStore, LoadedPlan, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store, loaded, path = setup
    cells = expand(loaded)
    for i in (1, 2):
        record(store, f"r{i}", f"2026-12-0{i}", cells, {})
    assert main(["signoff", str(path), "--build", "v7", "--out", str(tmp_path / "a")]) == 0
    assert "sign-off of build v7 (v7-abc): YES" in capsys.readouterr().out
    md = (tmp_path / "a" / "signoff.md").read_text()
    assert "# Sign-off: build v7 (v7-abc): YES" in md and f"sha256 `{'aa' * 32}`" in md
    assert "| `sim/v7/target/swap` | pass (r2), pass (r1) |" in md
    html = (tmp_path / "a" / "signoff.html").read_text()
    assert '<span class="big">YES</span>' in html
    assert (
        main(["signoff", str(path), "--build", "v7", "--runs", "5", "--out", str(tmp_path / "b")])
        == 1
    )
    out = capsys.readouterr().out
    assert "NO" in out and "blocker: cell sim/v7/target/all ran in 2 of the 5" in out
    assert "<h2>Blockers</h2>" in (tmp_path / "b" / "signoff.html").read_text()
    assert main(["signoff", str(path), "--build", "model"]) == 2
    assert "has no required cell of that build" in capsys.readouterr().err
    assert main(["signoff", str(path)]) == 2
