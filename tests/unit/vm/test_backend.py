"""Backend resolution: by name, lazily, with the extra to install when libvirt is missing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.errors import BackendUnavailableError, ConfigError
from harness.vm import BACKENDS, open_pool
from harness.vm.config import PoolConfig
from harness.vm.connection import import_libvirt


def test_an_unknown_backend_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="unknown vm backend 'vbox'; known: hardware, libvirt"):
        open_pool(PoolConfig(image="/i", backend="vbox"))
    assert set(BACKENDS) == {"libvirt", "hardware"}


def test_missing_libvirt_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "libvirt", None)  # makes `import libvirt` fail
    with pytest.raises(BackendUnavailableError, match=r"pip install -e '\.\[vm\]'"):
        import_libvirt()


def test_importing_the_package_and_the_cli_does_not_import_libvirt() -> None:
    code = (
        "import sys, harness.vm, harness.cli.vm, harness.vm.config; "
        "print('libvirt' in sys.modules, 'jinja2' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]


def test_the_cli_without_libvirt_says_which_extra() -> None:
    code = (
        "import sys; sys.modules['libvirt'] = None; from harness.cli import main; "
        "sys.exit(main(['vm', 'list']))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "harness vm: error: the libvirt backend needs libvirt-python: install the vm extra: "
        "pip install -e '.[vm]'"
    )
