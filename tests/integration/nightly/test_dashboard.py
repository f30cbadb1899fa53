"""The dashboard in a real headless browser: it loads with no console error, and the numbers
on the page (matrix, totals, trend points, flaky list, crash buckets) are the store's, as
counted here with SQL of the test's own."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from selenium.webdriver.common.by import By

from harness.cli import main
from harness.store import open_results_store
from harness.store.results import ResultsStore
from harness.triage.model import Crash
from harness.triage.store import Occurrence
from tests.unit.store.fill import INPUTS, record
from tests.unit.store.test_store import cell

pytestmark = pytest.mark.integration  # a real browser (hypervisor_packages_browser)


@pytest.fixture
def store(store_url: str) -> Iterator[ResultsStore]:
    s = open_results_store(store_url)
    a, b = cell("sim/model/target/all"), cell("bug/v2/target/all", build="v2", build_id="b2")
    runs = [
        {
            a.key: {"s": "pass", "t": "pass", "u": "not_applicable"},
            b.key: {"s": "violation", "t": "pass"},
        },
        {
            a.key: {"s": "violation", "t": "pass", "u": "not_applicable"},
            b.key: {"s": "violation", "t": "crash"},
        },
        {
            a.key: {"s": "pass", "t": "infrastructure_error", "u": "pass"},
            b.key: {"s": "pass", "t": "violation"},
        },
    ]
    for i, verdicts in enumerate(runs):
        record(s, f"r{i}", f"2026-12-0{i + 1}T02:00", [a, b], verdicts, inputs=INPUTS)
    for n in range(3):
        s.crashes.add(
            Occurrence(
                source=f"/c/{n}",
                time=f"2026-12-02T0{n}:00",
                crash=Crash(platform="linux", kind="BUG: oops" if n else "hang"),
                scenario="t",
            )
        )
    yield s
    s.close()


def sql(url: str, text: str, **params: Any) -> list[Any]:
    engine = sa.create_engine(url)
    with engine.connect() as c:
        rows = list(c.execute(sa.text(text), params))
    engine.dispose()
    return rows


def test_the_page_loads_clean_and_shows_the_stores_numbers(
    store: ResultsStore, store_url: str, tmp_path: Path, browser: Any
) -> None:
    page = tmp_path / "dash.html"
    assert main(["dashboard", "--store", store_url, "--out", str(page)]) == 0
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get(page.as_uri())
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    assert browser.find_element(By.ID, "last-run").text == "r2"
    counts = sql(
        store_url,
        "SELECT c.key, r.verdict, count(*) FROM result r JOIN cell c ON "
        "c.id = r.cell_id WHERE r.run_id = 'r2' AND r.final GROUP BY "
        "c.key, r.verdict",
    )
    assert counts
    for key, verdict, n in counts:
        shown = browser.find_element(
            By.CSS_SELECTOR, f'td[data-cell="{key}"][data-verdict="{verdict}"]'
        ).text
        assert int(shown) == n, (key, verdict)
    for verdict in ("pass", "violation", "infrastructure_error", "crash"):
        total = sum(n for _, v, n in counts if v == verdict)
        assert int(browser.find_element(By.ID, f"total-{verdict}").text) == total
    # the scenario trend: one trace per scenario, its points the store's pass rates
    traces = browser.execute_script(
        "return document.getElementById('trend-scenario').data.map(t => [t.name, t.x, t.y])"
    )
    assert sorted(t[0] for t in traces) == ["s", "t", "u"]
    for name, xs, ys in traces:
        for run_id, rate in zip(xs, ys, strict=True):
            [(ok, total)] = sql(
                store_url,
                "SELECT sum(CASE WHEN verdict IN ('pass', "
                "'not_applicable') THEN 1 ELSE 0 END), count(*) FROM result "
                "WHERE final AND scenario = :s AND run_id = :r",
                s=name,
                r=run_id,
            )
            assert rate == pytest.approx(ok / total)
    assert browser.execute_script("return document.getElementById('trend-build').data.length") == 2
    # every input is the same in these runs: each series whose verdict changed is flaky
    series: dict[tuple[str, str], list[str]] = {}
    for key, scenario, verdict in sql(
        store_url,
        "SELECT c.key, r.scenario, r.verdict FROM "
        "result r JOIN cell c ON c.id = r.cell_id JOIN run ON "
        "run.id = r.run_id WHERE r.final ORDER BY run.started",
    ):
        series.setdefault((key, scenario), []).append(verdict)
    flips = {
        (k, f"{s}#0"): sum(a != b for a, b in itertools.pairwise(v)) for (k, s), v in series.items()
    }
    rows = browser.find_elements(By.CSS_SELECTOR, "#flaky tbody tr")
    shown = {tuple(r.text.split()[:2]): int(r.text.split()[2]) for r in rows}
    assert shown == {k: n for k, n in flips.items() if n} and len(shown) == 5
    [(bucket, n)] = sql(
        store_url, "SELECT bucket, count(*) FROM occurrence WHERE title LIKE 'BUG%' GROUP BY bucket"
    )
    assert int(browser.find_element(By.CSS_SELECTOR, f'td[data-bucket="{bucket}"]').text) == n


def test_an_empty_store_makes_a_page_too(tmp_path: Path, browser: Any) -> None:
    page = tmp_path / "empty.html"
    assert (
        main(["dashboard", "--store", f"sqlite:///{tmp_path / 'e.sqlite'}", "--out", str(page)])
        == 0
    )
    browser.get(page.as_uri())
    assert "no runs yet" in browser.find_element(By.TAG_NAME, "body").text
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
