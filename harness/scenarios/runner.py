"""Runs the scenario suite in-process through pytest and hands back `CaseResult`s.

`harness run`, `harness scenarios` and `harness selftest` all come through here, so the
suite behaves the same from the CLI and from `pytest --pyargs harness.scenarios`.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

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
    program: str | None = None


def _args(o: _Options, *extra: str) -> list[str]:
    # -c devnull: the user's own pytest configuration must not change the suite
    args = ["--pyargs", "harness.scenarios", "-c", os.devnull, "--rootdir", os.getcwd(),
            "-p", "no:cacheprovider", "--strict-markers",
            OPTIONS["target"], o.target, OPTIONS["seed"], str(o.seed),
            OPTIONS["repeat"], str(o.repeat)]
    if o.keyword:
        args += ["-k", o.keyword]
    for name, value in (("out", o.out), ("convention", o.convention),
                        ("debugger", o.debugger), ("program", o.program)):
        if value:
            args += [OPTIONS[name], value]
    for name in o.disabled:
        args += [OPTIONS["disable"], name]
    if not o.assertions:
        args += [OPTIONS["assertions"], "off"]
    return args + list(extra)


def run_suite(*, target: str = "sim", seed: int = 0, repeat: int = 1,
              keyword: str | None = None, out: str | None = None,
              convention: str | None = None, debugger: str | None = None,
              disabled: Sequence[str] = (), assertions: bool = True,
              program: str | None = None,
              on_start: Callable[[str, int], None] | None = None,
              on_case: Callable[[CaseResult], None] | None = None,
              on_total: Callable[[int], None] | None = None) -> SuiteRun:
    """Run the suite (options as for `harness run`; `assertions=False` leaves the scenarios'
    own asserts unchecked, see harness.scenarios.assertions; `program`: replay that program
    file instead); callbacks see each case start and end."""
    o = _Options(target, seed, repeat, keyword, out, convention, debugger, disabled, assertions,
                 program)
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
        code = pytest.main(_args(o, "-p", "no:terminal"), plugins=[collector, _Total()])
    if code == pytest.ExitCode.USAGE_ERROR:
        raise ConfigError(f"the scenario suite rejected its arguments: {quiet.getvalue().strip()}")
    if code == pytest.ExitCode.NO_TESTS_COLLECTED:
        raise ConfigError(f"no scenario matches -k {o.keyword!r}; see `harness scenarios`")
    expected = collector.config.stash.get(EXPECTED, None)
    return SuiteRun(collector.cases, int(code), expected.value if expected else None)


def list_scenarios(keyword: str | None = None) -> list[Listing]:
    """The suite's scenarios (one entry per parametrization), in run order."""
    collector = ResultCollector()
    with contextlib.redirect_stdout(io.StringIO()):
        code = pytest.main(_args(_Options(keyword=keyword), "--collect-only", "-p", "no:terminal"),
                           plugins=[collector])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        raise ConfigError(f"could not collect the scenario suite (pytest exit {int(code)})")
    out = []
    for item in collector.collected:
        doc = (getattr(item, "function", None).__doc__ or "").strip()
        out.append(Listing(case_id(item)[0], " ".join(doc.split("\n\n")[0].split())))
    return out
