"""The lab config: typed, validated, every error names the field and the fix."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.lab.config import load_lab_config, parse_lab_config, secret

from .conftest import REPO, config_text


def _load(labdir: Path, text: str) -> object:
    path = labdir / "lab.toml"
    path.write_text(text)
    return load_lab_config(path)


def test_valid_config_resolves_relative_paths(labdir: Path) -> None:
    config = _load(labdir, config_text(labdir))
    assert config.profile == "linux"
    assert config.ssh.key == str(labdir / "client_key")
    assert config.driver.dist == str(labdir / "dist")
    assert config.pool.name == "t"
    assert config.shell == "sh"
    assert config.timeouts.command == 30.0


@pytest.mark.parametrize(
    ("override", "field", "fix"),
    [
        ({"profile": 'profile = "macos"'}, "field profile", "use linux"),
        ({"profile": ""}, "field profile: missing", "use linux"),
        ({"ssh": '[ssh]\nhost_key = "host_key.pub"'}, "field ssh.key: missing", "private key"),
        (
            {"ssh": '[ssh]\nkey = "nope"\nhost_key = "host_key.pub"'},
            "field ssh.key: no such file",
            "private key",
        ),
        (
            {"ssh": '[ssh]\nkey = "client_key"\nhost_key = "host_key.pub"\nport = 0'},
            "field ssh.port",
            "1 to 65535",
        ),
        (
            {"ssh": '[ssh]\nkey = "client_key"\nhost_key = "host_key.pub"\nuser = 3'},
            "field ssh.user",
            "login user",
        ),
        (
            {"driver": '[driver]\ndist = "dist"\nfeature = "maybe"'},
            "field driver.feature",
            "enabled, disabled or blocked",
        ),
        ({"driver": '[driver]\ndist = "elsewhere"'}, "field driver.dist: no such file", "manifest"),
        (
            {"driver": '[driver]\ndist = "dist"\ncolour = 1'},
            "field driver.colour: unknown",
            "remove it",
        ),
        ({"pool": ""}, "field pool: missing", "pool config file"),
        (
            {"profile": 'profile = "linux"\nchannel = "telnet"'},
            "field channel",
            "use ssh, or agent",
        ),
        (
            {"driver": '[driver]\ndist = "dist"\n[timeouts]\ncommand = "slow"'},
            "field timeouts.command",
            "fix:",
        ),
    ],
)
def test_bad_field_names_field_and_fix(
    labdir: Path, override: dict[str, str], field: str, fix: str
) -> None:
    with pytest.raises(ConfigError) as e:
        _load(labdir, config_text(labdir, **override))
    text = str(e.value)
    assert text.startswith(str(labdir / "lab.toml") + ": "), text
    assert field in text and fix in text and "fix:" in text, text


@pytest.mark.parametrize("line", ['password = "hunter2"', 'passphrase = "hunter2"'])
def test_secret_in_the_file_is_refused_without_echoing_it(labdir: Path, line: str) -> None:
    ssh = f'[ssh]\nkey = "client_key"\nhost_key = "host_key.pub"\n{line}'
    with pytest.raises(ConfigError) as e:
        _load(labdir, config_text(labdir, ssh=ssh))
    assert "secrets never go in the config file" in str(e.value)
    assert "_env" in str(e.value) and "hunter2" not in str(e.value)


def test_kdnet_key_inline_is_refused(labdir: Path) -> None:
    text = config_text(labdir) + '[debugger.pykd]\nkdnet_key = "1.2.3.4"\n'
    with pytest.raises(ConfigError, match=r"debugger\.pykd\.kdnet_key: secrets never"):
        _load(labdir, text)


def test_secret_comes_from_env_or_file_and_is_never_in_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HS_TEST_SECRET", "s3cret")
    assert secret("HS_TEST_SECRET", None, "x", "lab.toml") == "s3cret"
    (tmp_path / "s").write_text("fromfile\n")
    assert secret(None, str(tmp_path / "s"), "x", "lab.toml") == "fromfile"
    assert secret(None, None, "x", "lab.toml") is None
    monkeypatch.delenv("HS_TEST_SECRET")
    with pytest.raises(ConfigError, match="HS_TEST_SECRET is not set; fix: export"):
        secret("HS_TEST_SECRET", None, "field ssh.passphrase_env", "lab.toml")


def test_image_guest_json_gives_ssh_and_driver_defaults(labdir: Path) -> None:
    image = labdir / "image"
    (image / "guest.json").write_text(
        '{"ssh_user": "tester", "client_key": "ck", "host_key": "hk.pub", '
        '"modules_dir": "/lib/modules/6.1/extra", "hsprobectl": "/usr/bin/hsprobectl"}'
    )
    (image / "ck").write_text("k")
    (image / "hk.pub").write_text("ssh-ed25519 AAAA x")
    config = _load(labdir, config_text(labdir, ssh=""))
    assert (config.ssh.user, Path(config.ssh.key).name) == ("tester", "ck")
    assert Path(config.ssh.host_key).name == "hk.pub"
    assert (config.driver.guest_dir, config.driver.tool) == (
        "/lib/modules/6.1/extra",
        "/usr/bin/hsprobectl",
    )
    # what the file says wins over guest.json
    config = _load(labdir, config_text(labdir, ssh='[ssh]\nuser = "me"'))
    assert config.ssh.user == "me" and Path(config.ssh.key).name == "ck"


def test_agent_channel_needs_no_ssh_section(labdir: Path) -> None:
    config = _load(
        labdir, config_text(labdir, profile='profile = "linux"\nchannel = "agent"', ssh="")
    )
    assert config.channel == "agent" and config.ssh.key == ""
    # the SSH channel, without one, names the missing key
    with pytest.raises(ConfigError, match=r"field ssh\.key: missing; fix: point it at the private"):
        _load(labdir, config_text(labdir, ssh=""))


def test_pool_by_reference(labdir: Path) -> None:
    (labdir / "pool.toml").write_text(f'image = "{labdir / "image"}"\nname = "ref"\n')
    config = _load(labdir, config_text(labdir, pool='pool = "pool.toml"'))
    assert config.pool.name == "ref"


def test_bad_pool_table_names_the_lab_file(labdir: Path) -> None:
    with pytest.raises(ConfigError, match=r"lab\.toml \[pool\]: field size"):
        _load(labdir, config_text(labdir, pool=f'[pool]\nimage = "{labdir / "image"}"\nsize = 0'))


def test_remote_pykd_needs_its_ssh_fields(labdir: Path) -> None:
    text = config_text(labdir) + '[debugger.pykd]\nhost = "dbg"\nkdnet_key_env = "K"\n'
    with pytest.raises(ConfigError, match=r"debugger\.pykd\.user: missing"):
        _load(labdir, text)


def test_not_toml_and_missing_file(labdir: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        _load(labdir, "profile = \n")
    with pytest.raises(ConfigError, match="no such lab config file"):
        load_lab_config(labdir / "absent.toml")


RACK = """name = "rack1"
[[machine]]
name = "rack1-07"
console = "tcp://consoles.lab:7007"
bmc = { kind = "redfish", url = "https://bmc.lab", user = "admin", password_env = "P" }
ssh = { host = "rack1-07.lab", host_key = "host_key.pub" }
"""


@pytest.mark.parametrize("name", sorted(p.name for p in (REPO / "lab").glob("*.toml")))
def test_examples_are_valid_configs(name: str, labdir: Path) -> None:
    """Each example in lab/ parses; only its files and images are replaced by stand-ins."""
    data = tomllib.loads((REPO / "lab" / name).read_text())
    if "hardware" in data:  # a rack: its inventory and image stand in for the examples'
        (labdir / "rack.toml").write_text(RACK)
        data.update(hardware="rack.toml", guest_image=str(labdir / "image"))
    else:
        data["pool"] = {
            **data["pool"],
            "image": str(labdir / "image"),
            "profile": "linux-testguest",
        }
    data["ssh"] = {**data.get("ssh", {}), "key": "client_key", "host_key": "host_key.pub"}
    data["ssh"].pop("passphrase_file", None)
    data["driver"]["dist"] = "dist"
    pykd = data.get("debugger", {}).get("pykd")
    if pykd and pykd.get("host", "local") != "local":
        pykd.update(key="client_key", known_hosts="host_key.pub")
    config = parse_lab_config(data, name, labdir)
    assert config.profile in ("linux", "windows")
    assert (config.profile == "windows") == name.startswith("windows")
