"""Runs the scenario suite in-process through pytest and hands back `CaseResult`s.

`harness run`, `harness scenarios` and `harness selftest` all come through here, so the
suite behaves the same from the CLI and from `pytest --pyargs harness.scenarios`.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import pytest

from harness.errors import ConfigError
from harness.results.model import CaseResult
from harness.scenarios.plugin import EXPECTED, OPTIONS, ResultCollector, case_id

__all__ = ["Listing", "SuiteRun", "list_scenarios", "run_suite"]


@dataclass
class SuiteRun:
    """What one pass of the suite produced."""

    cases: list[CaseResult]
    exit_code: int
    expected_convention: str | None = None


@dataclass
class Listing:
    scenario: str
    title: str


@dataclass
class _Options:
    target: str = "sim"
    seed: int = 0
    repeat: int = 1
    keyword: str | None = None
    out: str | None = None
    convention: str | None = None
    debugger: str | None = None
    disabled: Sequence[str] = field(default_factory=tuple)
    assertions: bool = True
    shard: str | None = None
    program: str | None = None


def _args(o: _Options, *extra: str) -> list[str]:
    # -c devnull: the user's own pytest configuration must not change the suite
    args = [
        "--pyargs",
        "harness.scenarios",
        "-c",
        os.devnull,
        "--rootdir",
        os.getcwd(),
        "-p",
        "no:cacheprovider",
        "--strict-markers",
        OPTIONS["target"],
        o.target,
        OPTIONS["seed"],
        str(o.seed),
        OPTIONS["repeat"],
        str(o.repeat),
    ]
    if o.keyword:
        args += ["-k", o.keyword]
    for name, value in (
        ("out", o.out),
        ("convention", o.convention),
        ("debugger", o.debugger),
        ("shard", o.shard),
        ("program", o.program),
    ):
        if value:
            args += [OPTIONS[name], value]
    for name in o.disabled:
        args += [OPTIONS["disable"], name]
    if not o.assertions:
        args += [OPTIONS["assertions"], "off"]
    return args + list(extra)


def run_suite(
    *,
    target: str = "sim",
    seed: int = 0,
    repeat: int = 1,
    keyword: str | None = None,
    out: str | None = None,
    convention: str | None = None,
    debugger: str | None = None,
    disabled: Sequence[str] = (),
    assertions: bool = True,
    program: str | None = None,
    jobs: int = 1,
    on_start: Callable[[str, int], None] | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    on_total: Callable[[int], None] | None = None,
) -> SuiteRun:
    """Run the suite (options as for `harness run`; `assertions=False` leaves the scenarios'
    own asserts unchecked, see harness.scenarios.assertions; `program`: replay that program
    file instead); callbacks see each case start and end. `jobs` > 1 runs that many shards
    at once (harness.scenarios.parallel)."""
    o = _Options(
        target,
        seed,
        repeat,
        keyword,
        out,
        convention,
        debugger,
        disabled,
        assertions,
        program=program,
    )
    if jobs <= 1:
        return run_options(o, on_start=on_start, on_case=on_case, on_total=on_total)
    from harness.scenarios.parallel import run_parallel

    order = collection_order(o)
    if on_total:
        on_total(len(order))
    run: SuiteRun = run_parallel(o, jobs, order, on_start=on_start, on_case=on_case)
    return run


def run_options(
    o: _Options,
    *,
    on_start: Callable[[str, int], None] | None = None,
    on_case: Callable[[CaseResult], None] | None = None,
    on_total: Callable[[int], None] | None = None,
    plugins: Sequence[object] = (),
) -> SuiteRun:
    """One in-process pass of the suite with options `o` (`plugins`: more pytest plugins,
    e.g. one that stops the pass early)."""
    collector = ResultCollector()
    collector.on_start = on_start
    collector.on_case = on_case

    class _Total:
        @pytest.hookimpl(trylast=True)
        def pytest_collection_finish(self, session: pytest.Session) -> None:
            if on_total:
                on_total(len(collector.collected))

    quiet = io.StringIO()
    with contextlib.redirect_stdout(quiet):
        code = pytest.main(_args(o, "-p", "no:terminal"), plugins=[collector, _Total(), *plugins])
    if code == pytest.ExitCode.USAGE_ERROR:
        raise ConfigError(f"the scenario suite rejected its arguments: {quiet.getvalue().strip()}")
    if code == pytest.ExitCode.NO_TESTS_COLLECTED and not o.shard:
        raise ConfigError(f"no scenario matches -k {o.keyword!r}; see `harness scenarios`")
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:  # a shard beyond the scenarios: nothing
        code = pytest.ExitCode.OK
    expected = collector.config.stash.get(EXPECTED, None)
    return SuiteRun(collector.cases, int(code), expected.value if expected else None)


def collection_order(o: _Options) -> list[tuple[str, int]]:
    """(scenario, repetition) of every case `o` runs, in the order a serial run runs them."""
    collector = ResultCollector()
    with contextlib.redirect_stdout(io.StringIO()):
        pytest.main(
            _args(replace(o, shard=None), "--collect-only", "-p", "no:terminal"),
            plugins=[collector],
        )
    return [case_id(item) for item in collector.collected]


def list_scenarios(keyword: str | None = None) -> list[Listing]:
    """The suite's scenarios (one entry per parametrization), in run order."""
    collector = ResultCollector()
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main(
            _args(_Options(keyword=keyword), "--collect-only", "-p", "no:terminal"),
            plugins=[collector],
        )
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise ConfigError(f"could not collect the scenario suite (pytest exit {int(code)})")
    out = []
    for item in collector.collected:
        doc = (getattr(item, "function", None).__doc__ or "").strip()
        out.append(Listing(case_id(item)[0], " ".join(doc.split("\n\n")[0].split())))
    return out
