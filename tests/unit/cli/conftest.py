"""Fixtures the CLI tests share with the vm tests."""

from tests.unit.vm.conftest import open_dir

__all__ = ["open_dir"]
