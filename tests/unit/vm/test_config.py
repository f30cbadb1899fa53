"""Pool config: defaults, and one message naming file, field and fix for each bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.vm.config import PoolConfig, load_pool_config, parse_pool_config
from tests.unit.vm.conftest import make_testguest


@pytest.fixture
def image(open_dir: Path) -> str:
    return str(make_testguest(open_dir / "tg"))


def write(tmp_path: Path, text: str, image: str = "/i") -> Path:
    path = tmp_path / "pool.toml"
    path.write_text(text.replace('"/i"', f'"{image}"'))
    return path


def test_defaults_are_the_documented_ones(tmp_path: Path, image: str) -> None:
    config = load_pool_config(write(tmp_path, '[vm]\nimage = "/i"\n', image))
    assert config == PoolConfig(image=image)
    assert (config.uri, config.memory_mib, config.accel) == ("qemu:///system", 256, "auto")
    assert config.snapshot_path == "hmp"
    assert config.size == 1


def test_a_file_without_a_vm_table_is_read_whole(tmp_path: Path, image: str) -> None:
    config = load_pool_config(write(tmp_path, 'image = "/i"\nsize = 3\n', image))
    assert config.size == 3


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ('image = "/i"\nsnapshot_path = "fast"\n', ["field snapshot_path", "use hmp"]),
        ('image = "/i"\naccel = "hvf"\n', ["field accel", "auto (probe), kvm or tcg"]),
        ('image = "/i"\nsize = "two"\n', ["field size", "Expected `int`"]),
        ('image = "/i"\nsize = 0\n', ["field size", "1 to 64"]),
        ('image = "/i"\nname = "has space"\n', ["field name", "letters, digits"]),
        ('image = "/i"\nmemory = 512\n', ["unknown field memory", "memory_mib"]),
        ("size = 2\n", ["field image is required"]),
    ],
)
def test_bad_field_names_file_field_and_fix(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_pool_config(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    for needle in needles:
        assert needle in message


def test_a_missing_image_is_reported_against_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'image = "/nonexistent/tg"\n')
    with pytest.raises(ConfigError, match=rf"^{path}: field image: /nonexistent/tg lacks"):
        load_pool_config(path)


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_pool_config(write(tmp_path, "image = \n"))
    with pytest.raises(ConfigError, match=r"absent\.toml: no such file"):
        load_pool_config(tmp_path / "absent.toml")


def test_parse_names_its_source() -> None:
    with pytest.raises(ConfigError, match=r"^env:HS_POOL: field vcpus"):
        parse_pool_config({"image": "/i", "vcpus": "x"}, "env:HS_POOL")
