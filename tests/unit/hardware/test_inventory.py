"""The hardware inventory: typed, every error naming the file, the machine and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError
from harness.hardware.inventory import load_inventory, parse_inventory


@pytest.fixture
def host_key(tmp_path: Path) -> Path:
    key = tmp_path / "rack1-07.pub"
    key.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLE rack1-07\n")
    return key


def _machine(name: str = "rack1-07", **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "console": f"tcp://consoles.lab:{7000 + len(name)}",
        "bmc": {
            "kind": "redfish",
            "url": f"https://{name}-bmc.lab",
            "user": "admin",
            "password_env": "RACK_BMC",
        },
        "ssh": {"host": f"{name}.lab", "host_key": "rack1-07.pub"},
    }
    entry.update(fields)
    return entry


def _parse(tmp_path: Path, *machines: dict[str, Any], **fields: Any) -> Any:
    return parse_inventory(
        {"name": "rack1", "machine": list(machines), **fields}, "rack.toml", tmp_path
    )


def test_a_full_inventory_is_typed_and_its_paths_resolved(tmp_path: Path, host_key: Path) -> None:
    path = tmp_path / "rack.toml"
    path.write_text(f"""backend = "hardware"
name = "rack1"
boot_marker = ""
[bmc]
timeout = 5.0
retries = 1
[reset]
every = 5
[[machine]]
name = "rack1-07"
console = "tcp://consoles.lab:7007"
dump_path = 'C:\\Windows\\MEMORY.DMP'
bmc = {{ kind = "ipmi", url = "ipmi://10.0.0.7", user = "admin", password_file = "pw" }}
ssh = {{ host = "10.0.1.7", host_key = "{host_key.name}" }}
kdnet = {{ host_ip = "10.0.2.1", port = 50007, key_env = "RACK1_07_KDNET" }}
capabilities = {{ build = "26100", vbs = true, cpu = "Xeon Gold 6338" }}
""")
    config = load_inventory(path)
    (machine,) = config.machine
    assert config.reset.every == 5 and config.bmc.timeout == 5.0 and config.boot_marker == ""
    assert machine.console_address == ("consoles.lab", 7007)
    assert machine.bmc.password_file == str(tmp_path / "pw")
    assert machine.ssh.host_key == str(host_key) and machine.ssh.port == 22
    assert machine.capabilities.vbs and machine.kdnet is not None
    assert machine.dump_path == "C:\\Windows\\MEMORY.DMP"


def test_the_same_machine_twice_is_refused_naming_it(tmp_path: Path, host_key: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"rack\.toml: machine rack1-07: the name rack1-07 is "
        "listed twice; fix: list each machine once",
    ):
        _parse(tmp_path, _machine(), _machine())


def test_one_bmc_under_two_names_is_refused(tmp_path: Path, host_key: Path) -> None:
    other = _machine("rack1-08")
    other["bmc"] = dict(other["bmc"], url="https://rack1-07-bmc.lab")
    with pytest.raises(
        ConfigError,
        match=r"machine rack1-08: the BMC https://rack1-07-bmc.lab "
        r"is listed twice \(also machine rack1-07\)",
    ):
        _parse(tmp_path, _machine(), other)


@pytest.mark.parametrize(
    ("bmc", "message"),
    [
        ({"password": "hunter2"}, "field password: secrets never go in the inventory"),
        ({"url": "https://admin:hunter2@bmc.lab"}, "field bmc.url: carries credentials"),
        ({"url": "ipmi://bmc.lab"}, "field bmc.url: 'ipmi://bmc.lab' is not a redfish URL"),
        ({"password_env": None}, "give password_env or password_file"),
        ({"kind": "snmp"}, "machine rack1-07: field bmc.kind: Invalid enum value 'snmp'"),
    ],
)
def test_a_bad_bmc_names_the_machine_and_the_field(
    tmp_path: Path, host_key: Path, bmc: dict[str, Any], message: str
) -> None:
    entry = _machine()
    entry["bmc"] = {k: v for k, v in {**entry["bmc"], **bmc}.items() if v is not None}
    with pytest.raises(ConfigError, match=message) as e:
        _parse(tmp_path, entry)
    assert "hunter2" not in str(e.value)


@pytest.mark.parametrize(
    ("console", "message"),
    [
        ("consoles.lab:7007", "use tcp://HOST:PORT"),
        ("tcp://consoles.lab", "use tcp://HOST:PORT"),
        ("sol", "sol needs an IPMI BMC"),
    ],
)
def test_a_bad_console_names_the_machine(
    tmp_path: Path, host_key: Path, console: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=f"machine rack1-07: field console: .*{message}"):
        _parse(tmp_path, _machine(console=console))


def test_a_missing_host_key_and_an_empty_inventory_are_named(tmp_path: Path) -> None:
    with pytest.raises(
        ConfigError,
        match=r"machine rack1-07: field ssh.host_key: .* no such "
        "file",
    ):
        _parse(tmp_path, _machine())
    with pytest.raises(ConfigError, match=r"no \[\[machine\]\] tables"):
        parse_inventory({"name": "rack1"}, "rack.toml", tmp_path)


def test_pool_fields_are_checked(tmp_path: Path, host_key: Path) -> None:
    with pytest.raises(ConfigError, match=r"rack\.toml: field reset.every: Expected `int` >= 1"):
        _parse(tmp_path, _machine(), reset={"every": 0})
    with pytest.raises(ConfigError, match="field boot_marker: not a regular expression"):
        _parse(tmp_path, _machine(), boot_marker="(")
