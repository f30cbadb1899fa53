"""The accelerator probe runs real QEMU: TCG always answers; a refused accelerator does not."""

from __future__ import annotations

import pytest

from harness.vm.accel import choose_accel, probe_seconds

pytestmark = pytest.mark.integration


def test_tcg_reaches_the_bios_marker_quickly() -> None:
    seconds = probe_seconds("tcg", deadline=30)
    assert seconds is not None and seconds < 30


def test_an_accelerator_qemu_refuses_is_not_chosen() -> None:
    assert probe_seconds("nonexistent-accel", deadline=30) is None


def test_an_explicit_choice_is_not_probed() -> None:
    assert choose_accel("tcg") == "tcg"
    assert choose_accel("auto") in {"kvm", "tcg"}
