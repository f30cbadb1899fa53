"""The cell worker's judgement of what a machine ran: a case whose driver files are not the
cell's build is an infrastructure error, never a verdict on that build."""

from __future__ import annotations

import importlib.util

import pytest

from harness.cli import main
from harness.nightly.worker import _checked_driver
from harness.results.model import CaseResult, Verdict
from tests.unit.store.test_store import cell


def test_other_driver_files_make_the_case_an_infrastructure_error() -> None:
    c = cell()  # its build has hsprobe.sys = ab...ab
    ran_it = CaseResult(
        scenario="s",
        verdict=Verdict.PASS,
        environment={"sha256 hsprobe.sys": "ab" * 32, "guest_build": "6.1"},
    )
    assert _checked_driver(ran_it, c).verdict is Verdict.PASS
    other = CaseResult(
        scenario="s",
        verdict=Verdict.VIOLATION,
        message="m",
        environment={"sha256 hsprobe.sys": "cd" * 32},
    )
    judged = _checked_driver(other, c)
    assert judged.verdict is Verdict.INFRA
    assert judged.message.startswith("the machine ran hsprobe.sys with other sha256 than build")
    assert judged.message.endswith(" m")
    sim = CaseResult(scenario="s", verdict=Verdict.PASS)  # the simulator reports no files
    assert _checked_driver(sim, c).verdict is Verdict.PASS


def test_store_commands_say_which_extra_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "procrastinate" else real(name, *a),
    )
    assert main(["history", "--store", "sqlite:///x.sqlite"]) == 2
    err = capsys.readouterr().err
    assert "needs the store extra (procrastinate missing)" in err
    assert "pip install 'hotswap-harness[store]'" in err
