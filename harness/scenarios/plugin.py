"""The pytest plugin behind the scenario suite: options, the `scenario` fixture, verdicts.

Loaded through the `pytest11` entry point, so both `harness run` and
`pytest --pyargs harness.scenarios --hs-target sim` use it. Its options carry the `--hs-`
prefix, so they never collide with another plugin's in an unrelated project. After a
scenario's body returns, the whole trace is checked against the contract; each outcome
becomes a `CaseResult`. Per-test state lives in `item.stash`.
"""

from __future__ import annotations

import argparse
import re
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from harness.contract import jsonl
from harness.contract.convention import Convention
from harness.contract.trace import FORMAT_VERSION, Expectations, Header
from harness.debug import open_debugger
from harness.errors import (
    ConfigError,
    ContractViolationError,
    GuestCrashError,
    HarnessError,
    InfrastructureError,
    NotApplicableError,
)
from harness.files import atomic_writer, write_atomic
from harness.fuzz.program import Program, load_program
from harness.results.model import CaseResult, Verdict, ViolationInfo
from harness.scenarios.assertions import assertions_off, assertions_on
from harness.scenarios.context import Scenario
from harness.targets import open_target, parse_spec

__all__ = ["OPTIONS", "ResultCollector", "case_id"]

#: the convention the run's targets were expected to implement, for the reports
EXPECTED = pytest.StashKey[Convention | None]()
#: the scenario a test item runs
SCENARIO = pytest.StashKey[Scenario]()
#: the program --hs-program replays
PROGRAM = pytest.StashKey[Program]()
#: why a test item is not applicable on this target (set only when it is not)
NOT_APPLICABLE = pytest.StashKey[str]()

OPTIONS = {
    "target": "--hs-target",
    "seed": "--hs-seed",
    "repeat": "--hs-repeat",
    "convention": "--hs-convention",
    "debugger": "--hs-debugger",
    "out": "--hs-out",
    "disable": "--hs-disable-invariant",
    "shard": "--hs-shard",
    "assertions": "--hs-assertions",
    "program": "--hs-program",
}
"""The plugin's command-line options by their `harness run` names."""


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("hotswap", "hot-swap scenario suite (harness)")
    g.addoption(
        OPTIONS["target"],
        default="sim",
        metavar="SPEC",
        help="system under test: sim[:options] or lab:CONFIG (default: sim)",
    )
    g.addoption(
        OPTIONS["seed"],
        type=int,
        default=None,
        metavar="N",
        help="simulator seed (default 0, or the program's with --hs-program)",
    )
    g.addoption(
        OPTIONS["convention"],
        choices=[c.value for c in Convention],
        default=None,
        help="return-value convention the kernel is expected to implement "
        "(default: the target's own expectation)",
    )
    g.addoption(
        OPTIONS["debugger"],
        default=None,
        metavar="SPEC",
        help="kernel debugger: sim, gdbstub:..., pykd:... (default: sim on sim)",
    )
    g.addoption(
        OPTIONS["repeat"],
        type=int,
        default=1,
        metavar="N",
        help="run every scenario N times (seeds SEED..SEED+N-1)",
    )
    g.addoption(
        OPTIONS["out"], default=None, metavar="DIR", help="write traces (and cases.json) under DIR"
    )
    g.addoption(
        OPTIONS["disable"], action="append", default=[], metavar="NAME", help=argparse.SUPPRESS
    )
    g.addoption(
        OPTIONS["shard"],
        default=None,
        metavar="I/N",
        help="run only every N-th scenario, from the I-th (0-based): one of N "
        "parallel passes (harness run -j N)",
    )
    g.addoption(
        OPTIONS["assertions"],
        choices=["on", "off"],
        default="on",
        help="off: run the scenarios with their own assert statements unchecked, so "
        "the contract checker alone judges (what `harness selftest` measures)",
    )
    g.addoption(
        OPTIONS["program"],
        default=None,
        metavar="FILE",
        help="replay this scenario program (see `harness fuzz`) instead of the suite",
    )


def _opt(config: pytest.Config, name: str) -> Any:
    return config.getoption(OPTIONS[name])


def _seed(config: pytest.Config) -> int:
    """The run's base seed: as given, else the replayed program's, else 0."""
    seed: int | None = _opt(config, "seed")
    if seed is None:
        program = config.stash.get(PROGRAM, None)
        seed = program.seed if program is not None else 0
    return seed


def pytest_configure(config: pytest.Config) -> None:
    path = _opt(config, "program")
    if path:
        try:
            config.stash[PROGRAM] = load_program(path)
        except HarnessError as e:
            raise pytest.UsageError(str(e)) from None
    plugins = config.pluginmanager.get_plugins()
    if not any(isinstance(p, ResultCollector) for p in plugins):
        config.pluginmanager.register(ResultCollector(), "harness-results")
    if _opt(config, "assertions") == "off":
        assertions_off()


def pytest_unconfigure(config: pytest.Config) -> None:
    if _opt(config, "assertions") == "off":
        assertions_on()


def _is_scenario(module_name: str) -> bool:
    return module_name.startswith("harness.scenarios.")


def shard_of(text: str) -> tuple[int, int]:
    """`I/N` as (I, N); ConfigError unless 0 <= I < N."""
    index, _, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        raise ConfigError(f"shard {text!r}: use I/N, e.g. 0/2") from None
    if not 0 <= i < n:
        raise ConfigError(f"shard {text!r}: I must be from 0 to N-1")
    return i, n


def _shard(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = _opt(config, "shard")
    if not shard:
        return
    i, n = shard_of(shard)
    scenarios = [
        item
        for item in items
        if _is_scenario(getattr(getattr(item, "module", None), "__name__", ""))
    ]
    keep = {id(item) for k, item in enumerate(scenarios) if k % n == i}
    dropped = [item for item in scenarios if id(item) not in keep]
    items[:] = [item for item in items if id(item) not in {id(d) for d in dropped}]
    config.hook.pytest_deselected(items=dropped)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """With --hs-program only the program's replay runs; without, it is not collected."""
    replay = PROGRAM in config.stash
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        if _is_scenario(getattr(getattr(item, "module", None), "__name__", "")):
            is_replay = "program" in getattr(item, "fixturenames", ())
            (keep if is_replay == replay else drop).append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    _shard(config, items)


@pytest.fixture
def program(request: pytest.FixtureRequest) -> Program:
    """The scenario program given with --hs-program."""
    return request.config.stash[PROGRAM]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    repeat = _opt(metafunc.config, "repeat")
    if "repetition" in metafunc.fixturenames and repeat > 1:
        metafunc.parametrize("repetition", range(repeat), ids=lambda i: f"r{i}")


@pytest.fixture
def repetition(request: pytest.FixtureRequest) -> int:
    return int(getattr(request, "param", 0))


@pytest.fixture
def scenario(request: pytest.FixtureRequest, repetition: int) -> Iterator[Scenario]:
    """The scenario's target (probed), debugger factory and trace, checked at the end."""
    config = request.config
    spec = _opt(config, "target")
    convention = _opt(config, "convention")
    expectations = Expectations(convention=Convention(convention)) if convention else None
    target = open_target(spec, seed=_seed(config) + repetition, expectations=expectations)
    debugger_spec = _opt(config, "debugger") or ("sim" if parse_spec(spec)[0] == "sim" else None)
    factory: Callable[[], Any] | None = None
    if debugger_spec:

        def factory() -> Any:
            return open_debugger(debugger_spec, target=target)

    try:
        _bind(request.node, target, repetition)
        sc = Scenario(
            target, debugger_factory=factory, disabled_invariants=tuple(_opt(config, "disable"))
        )
    except BaseException:
        target.close()  # a lab target holds a machine: give it back whatever failed
        raise
    request.node.stash[SCENARIO] = sc
    config.stash[EXPECTED] = target.expectations.convention
    try:
        yield sc
    finally:
        sc.close()


def _bind(item: pytest.Item, target: Any, repetition: int) -> None:
    """Tell a target that wants it which case it runs and where the output goes (a lab
    target names its crash capture after the case)."""
    bind = getattr(target, "bind", None)
    if bind is not None:
        bind(scenario=case_id(item)[0], repetition=repetition, out=_opt(item.config, "out"))


def case_id(item: pytest.Item) -> tuple[str, int]:
    """(scenario id, repetition) of a test item: `swap_rollback[pre]`, 2."""
    name = item.name.removeprefix("test_")
    rep = 0
    m = re.search(r"\[(.*)\]$", name)
    if m:
        parts = [p for p in m.group(1).split("-")]
        reps = [p for p in parts if re.fullmatch(r"r\d+", p)]
        if reps:
            rep = int(reps[-1][1:])
            parts = [p for p in parts if p != reps[-1]]
        base = name[: m.start()]
        name = f"{base}[{'-'.join(parts)}]" if parts else base
    return name, rep


def _trace_name(item: pytest.Item) -> str:
    name, rep = case_id(item)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")
    return f"traces/{safe}-r{rep}.jsonl"


def _write_trace(item: pytest.Item, sc: Scenario) -> None:
    """The case's trace, written atomically: it is part of the case, so failing to write it
    (a full disk, a file where the directory should be) is the case's infrastructure
    error, never a silent loss under a verdict that claims a trace."""
    out = _opt(item.config, "out")
    if not out:
        return
    path = Path(out) / _trace_name(item)
    header = Header(
        format=FORMAT_VERSION,
        expectations=sc.target.expectations,
        source=sc.target.name,
        scenario=case_id(item)[0],
        seed=_seed(item.config) + case_id(item)[1],
    )
    try:
        with atomic_writer(path) as f:
            jsonl.write_trace(f, header, sc.target.records())
    except InfrastructureError as e:
        raise InfrastructureError(f"the case's trace was not written: {e}") from None


def _not_applicable(item: pytest.Item, e: NotApplicableError) -> None:
    item.stash[NOT_APPLICABLE] = str(e)
    pytest.skip(str(e))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    sc = item.stash.get(SCENARIO, None)
    try:
        return (yield from _judged(item, sc))
    except pytest.skip.Exception:
        raise
    except BaseException:
        # a target that resets by reboot starts the next case on a fresh boot after a failure
        note = getattr(sc.target, "note_failure", None) if sc is not None else None
        if note is not None:
            note()
        raise


def _judged(item: pytest.Item, sc: Scenario | None) -> Generator[None, None, None]:
    try:
        try:
            result = yield
        except NotApplicableError as e:
            _not_applicable(item, e)
        except AssertionError:
            if sc is not None:
                sc.collect()  # the report shows what the checker saw, too
            raise
        except GuestCrashError:
            raise
        except Exception:
            # with its assertions off a scenario may stop where one would have failed: the
            # checker still judges what happened so far
            if sc is not None and _opt(item.config, "assertions") == "off":
                sc.check()
            raise
        if sc is not None:
            sc.check()
        return result
    finally:
        if sc is not None:  # whatever the verdict: a case's trace is part of it
            _write_trace(item, sc)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    except NotApplicableError as e:
        _not_applicable(item, e)


Classified = tuple[Verdict, str, tuple[ViolationInfo, ...]]


def _classify(item: pytest.Item, exc: BaseException) -> Classified:
    if isinstance(exc, ContractViolationError):
        return Verdict.VIOLATION, str(exc), _violation_infos(item, exc.violations)
    if isinstance(exc, AssertionError):
        text = str(exc).split("\nassert ")[0].strip() or "a scenario assertion failed"
        sc = item.stash.get(SCENARIO, None)
        found = sc.violations if sc is not None else []
        return Verdict.VIOLATION, text, _violation_infos(item, found)
    if isinstance(exc, GuestCrashError):
        return Verdict.CRASH, str(exc), ()
    if isinstance(exc, HarnessError):
        return Verdict.INFRA, f"{type(exc).__name__}: {exc}", ()
    return Verdict.INFRA, f"harness error {type(exc).__name__}: {exc}", ()


def _violation_infos(item: pytest.Item, violations: list[Any]) -> tuple[ViolationInfo, ...]:
    sc = item.stash.get(SCENARIO, None)
    by_seq = {}
    if sc is not None:
        wanted = {s for v in violations[:20] for s in v.records[:5]}
        by_seq = {r.seq: r for r in sc.target.records() if r.seq in wanted}
    out = []
    for v in violations:
        excerpt = tuple(
            jsonl.encode(by_seq[s]).decode().rstrip() for s in v.records[:5] if s in by_seq
        )
        out.append(
            ViolationInfo(
                invariant=v.invariant, message=v.message, records=tuple(v.records), excerpt=excerpt
            )
        )
    return tuple(out)


class ResultCollector:
    """Turns pytest reports into CaseResults; `on_case` lets `harness run` show progress."""

    def __init__(self) -> None:
        self.cases: list[CaseResult] = []
        self.collected: list[pytest.Item] = []
        self.on_start: Callable[[str, int], None] | None = None
        self.on_case: Callable[[CaseResult], None] | None = None
        self._started: dict[str, float] = {}
        self._done: set[str] = set()

    def pytest_configure(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = [
            i
            for i in session.items
            if _is_scenario(getattr(getattr(i, "module", None), "__name__", ""))
        ]

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        out = _opt(self.config, "out")
        if out and self.cases:
            write_atomic(Path(out) / "cases.json", msgspec.json.encode(self.cases))

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        self._started[nodeid] = time.monotonic()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, Any, Any]:
        report = yield
        module = getattr(getattr(item, "module", None), "__name__", "")
        if item.nodeid in self._done or not _is_scenario(module):
            return report
        if call.when == "setup" and report.passed:
            name, rep = case_id(item)
            if self.on_start:
                self.on_start(name, rep)
            return report
        if call.when == "teardown" and report.passed:
            return report
        self._done.add(item.nodeid)
        self._record(item, call, report)
        return report

    def _trace(self, item: pytest.Item) -> str | None:
        """The case's trace, relative to the output directory, if it was written."""
        out = _opt(self.config, "out")
        written = out and (Path(out) / _trace_name(item)).is_file()
        return _trace_name(item) if written else None

    def _record(self, item: pytest.Item, call: pytest.CallInfo[None], report: Any) -> None:
        name, rep = case_id(item)
        doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines()
        sc = item.stash.get(SCENARIO, None)
        case = CaseResult(
            scenario=name,
            title=doc[0] if doc else "",
            repetition=rep,
            verdict=Verdict.PASS,
            duration=time.monotonic() - self._started.get(item.nodeid, time.monotonic()),
            trace=self._trace(item),
            facts=dict(sc.facts) if sc else {},
            environment=dict(getattr(sc.target, "environment", {})) if sc else {},
        )
        if report.skipped:
            case.verdict = Verdict.NOT_APPLICABLE
            reason = item.stash.get(NOT_APPLICABLE, None)
            if reason is None:  # skipped by pytest itself (a skip mark): its own reason
                longrepr = report.longrepr
                reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
                reason = reason.removeprefix("Skipped: ")
            case.message = reason
        elif report.failed and call.excinfo is not None:
            case.verdict, case.message, case.violations = _classify(item, call.excinfo.value)
            if call.when == "setup" and case.verdict is Verdict.VIOLATION:
                case.verdict = Verdict.INFRA
        self.cases.append(case)
        if self.on_case:
            self.on_case(case)
