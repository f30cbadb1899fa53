"""BMC calls bounded in time and retried a bounded number of times (BmcCalls), over a thin
in-process stand-in for a BMC library; the libraries themselves meet real emulators in
tests/integration/hardware."""

from __future__ import annotations

import threading
import time
from typing import Literal

import pytest

from harness.errors import ConfigError, InfrastructureError
from harness.hardware.bmc import BmcCalls, Transient
from harness.hardware.inventory import BmcSettings


class ScriptedBmc:
    """Answers power_state from a script: a value, an exception to raise, or "hang"."""

    def __init__(self, *script: object) -> None:
        self.script = list(script)
        self.calls = 0
        self.release = threading.Event()

    def power_state(self) -> Literal["on", "off"]:
        self.calls += 1
        step = self.script.pop(0) if self.script else "on"
        if step == "hang":
            self.release.wait(30)
            return "on"
        if isinstance(step, BaseException):
            raise step
        return "on" if step == "on" else "off"

    def power(self, action: str) -> None: ...

    def boot_once(self, device: str) -> None: ...

    def close(self) -> None:
        self.release.set()


def _calls(bmc: ScriptedBmc, timeout: float = 0.3, retries: int = 2) -> BmcCalls:
    return BmcCalls(
        "rack1-07",
        "https://bmc.lab",
        bmc,  # type: ignore[arg-type]
        BmcSettings(timeout=timeout, retries=retries),
    )


def test_a_hung_bmc_is_an_infrastructure_error_within_its_bounds() -> None:
    bmc = ScriptedBmc("hang", "hang", "hang")
    began = time.monotonic()
    with pytest.raises(
        InfrastructureError,
        match=r"rack1-07: the BMC at https://bmc.lab failed "
        r"reading the power state 3 time\(s\): no "
        r"answer within 0.3 s",
    ):
        _calls(bmc).power_state()
    elapsed = time.monotonic() - began
    assert bmc.calls == 3 and 0.9 <= elapsed < 0.9 + 0.5 + 1.0 + 1.0, elapsed
    bmc.close()


def test_a_transient_failure_is_tried_again_and_a_refusal_is_not() -> None:
    bmc = ScriptedBmc(Transient("connection refused"), "off")
    assert _calls(bmc).power_state() == "off" and bmc.calls == 2
    refusing = ScriptedBmc(ConfigError("wrong password"), "on")
    with pytest.raises(ConfigError, match="wrong password"):
        _calls(refusing).power_state()
    assert refusing.calls == 1


def test_retries_zero_means_one_try() -> None:
    bmc = ScriptedBmc(Transient("reset by peer"), "on")
    with pytest.raises(InfrastructureError, match=r"1 time\(s\): reset by peer"):
        _calls(bmc, retries=0).power_state()
    assert bmc.calls == 1
