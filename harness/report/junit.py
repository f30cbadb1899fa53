"""JUnit XML for CI: `write_junit` turns a `RunResult` into one <testsuite> of <testcase>s.

We keep to the subset that Jenkins, Azure DevOps and GitLab all read: testsuites >
testsuite > (properties, testcase > failure | error | skipped, system-out). A contract
violation is a <failure> (the product is wrong); infrastructure errors and guest crashes are
<error>s (the test could not decide), told apart by `type`.
"""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

from harness.files import write_atomic
from harness.report.charset import one_line, printable
from harness.report.grid import Grid, case_name, headline
from harness.results.model import CaseResult, RunResult, Verdict

__all__ = ["write_junit"]

_ERROR_TYPES = {Verdict.INFRA: "infrastructure_error", Verdict.CRASH: "guest_crash"}
_MESSAGE_LIMIT = 1000
"""Message attributes show in one-line summaries; the full text goes in the element body."""


def write_junit(run: RunResult, path: Path) -> None:
    """Write `run` as JUnit XML to `path` (UTF-8, XML 1.0)."""
    root = ET.Element("testsuites", name="hotswap-harness")
    classname = _classname(run.target)
    suite = ET.SubElement(root, "testsuite", name=classname)
    for element in (root, suite):
        element.attrib.update(_counts(run))
    suite.attrib.update(timestamp=_timestamp(run.started), hostname=socket.gethostname())
    _properties(suite, run)
    grid = Grid.of(run)
    for case in run.cases:
        _testcase(suite, case, case_name(case, grid.repeated), classname)
    ET.indent(root)
    text = ET.tostring(root, encoding="unicode")
    write_atomic(path, f'<?xml version="1.0" encoding="UTF-8"?>\n{text}\n')


def _classname(target: str) -> str:
    # CI servers split classname at its last dot into package and class; a dotted target
    # (a host name) would scatter one run across several packages.
    return "hotswap." + printable(target).replace(".", "_")


def _counts(run: RunResult) -> dict[str, str]:
    counts = run.counts()
    duration = run.duration or sum(c.duration for c in run.cases)
    return {
        "tests": str(len(run.cases)),
        "failures": str(counts[Verdict.VIOLATION]),
        "errors": str(counts[Verdict.INFRA] + counts[Verdict.CRASH]),
        "skipped": str(counts[Verdict.NOT_APPLICABLE]),
        "time": f"{duration:.3f}",
    }


def _timestamp(started: str) -> str:
    """The JUnit schema wants a bare local-looking ISO date-time; ours are UTC."""
    try:
        moment = datetime.fromisoformat(started)
    except ValueError:
        return printable(started)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _properties(suite: ET.Element, run: RunResult) -> None:
    props = ET.SubElement(suite, "properties")
    values = {
        "target": run.target,
        "seed": str(run.seed),
        "run_id": run.run_id,
        "harness_version": run.harness_version,
        "expected_convention": run.expected_convention or "unspecified",
        "complete": "true" if run.complete else "false (interrupted: only these cases ran)",
    }
    for name, value in values.items():
        ET.SubElement(props, "property", name=name, value=printable(value))


def _testcase(suite: ET.Element, case: CaseResult, name: str, classname: str) -> None:
    element = ET.SubElement(
        suite, "testcase", name=printable(name), classname=classname, time=f"{case.duration:.3f}"
    )
    message = one_line(headline(case) or case.verdict.value, _MESSAGE_LIMIT)
    if case.verdict is Verdict.VIOLATION:
        failure = ET.SubElement(element, "failure", message=message, type="contract_violation")
        failure.text = _body(case)
    elif case.verdict in _ERROR_TYPES:
        error = ET.SubElement(element, "error", message=message, type=_ERROR_TYPES[case.verdict])
        error.text = _body(case)
    elif case.verdict is Verdict.NOT_APPLICABLE:
        ET.SubElement(element, "skipped", message=message)
    out = [f"trace: {case.trace}"] if case.trace else []
    out += [f"{key}: {value}" for key, value in sorted(case.facts.items())]
    out += [f"{key}: {value}" for key, value in sorted(case.environment.items())]
    if out:
        ET.SubElement(element, "system-out").text = printable("\n".join(out))


def _body(case: CaseResult) -> str:
    parts = [case.message] if case.message else []
    for violation in case.violations:
        parts.append(f"[{violation.invariant}] {violation.message}")
        if violation.records:
            parts.append("  records: " + ", ".join(map(str, violation.records)))
        parts.extend("  " + line for line in violation.excerpt)
    return printable("\n".join(parts))
