"""Test tiers: unit (always), integration (real QEMU/libvirtd/sshd here), lab (opt-in)."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.stores", "tests.browser"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--lab",
        metavar="CONFIG",
        default=None,
        help="run the lab tier against the real Windows lab described by CONFIG",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--lab"):
        return
    skip = pytest.mark.skip(reason="lab tests need a real Windows lab: pass --lab CONFIG")
    for item in items:
        # the marker, not item.keywords: a directory named lab is a keyword too
        if item.get_closest_marker("lab") is not None:
            item.add_marker(skip)


@pytest.fixture
def lab_config(request: pytest.FixtureRequest) -> str:
    path = request.config.getoption("--lab")
    assert path, "lab_config is only available with --lab"
    return str(path)
