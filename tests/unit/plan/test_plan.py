"""Test plans: parsed and checked once; a bad field or a missing target or build is one
message naming the file, the field and the fix; cells expand as the matrix says."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ConfigError
from harness.plan import expand, load_plan

PLAN = """
name = "n1"
[targets]
sim = "sim"
inv = "sim:convention=inverted"
[builds]
model = {}
[selections]
all = ""
swap = "swap"
[[cells]]
targets = ["sim", "inv"]
builds = ["model"]
conventions = ["documented", "target"]
selections = ["swap"]
required = true
[[cells]]
targets = ["sim"]
builds = ["model"]
repeat = 3
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "plan.toml"
    path.write_text(text)
    return path


def test_cells_are_the_matrix_product(tmp_path: Path) -> None:
    cells = expand(load_plan(write(tmp_path, PLAN)))
    assert [c.key for c in cells] == [
        "sim/model/documented/swap",
        "sim/model/target/swap",
        "inv/model/documented/swap",
        "inv/model/target/swap",
        "sim/model/target/all",
    ]
    assert [c.required for c in cells] == [True, True, True, True, False]
    assert cells[0].convention == "documented" and cells[1].convention is None
    assert cells[4].repeat == 3 and cells[4].keyword == ""
    assert cells[2].spec == "sim:convention=inverted"


def test_a_cell_named_twice_is_one_cell_required_if_either_says_so(tmp_path: Path) -> None:
    text = PLAN + '[[cells]]\ntargets = ["sim"]\nbuilds = ["model"]\nselections = ["swap"]\n'
    cells = expand(load_plan(write(tmp_path, text)))
    assert len(cells) == 5
    assert next(c for c in cells if c.key == "sim/model/target/swap").required


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            ("repeat = 3", "repeat = 0"),
            "field cells[1].repeat: Expected `int` >= 1; fix: use a whole number from 1 to 10000",
        ),
        (("repeat = 3", "repeat = 3\ncolour = 1"), "field cells[1].colour: is not a plan field"),
        (
            ('targets = ["sim"]', 'targets = ["nope"]'),
            "field cells[1].targets: unknown target 'nope'; fix: use one of inv, sim",
        ),
        (
            ('builds = ["model"]\nrepeat', 'builds = ["other"]\nrepeat'),
            "field cells[1].builds: unknown build 'other'",
        ),
        (
            ('conventions = ["documented", "target"]', 'conventions = ["sideways"]'),
            "field cells[0].conventions[0]: Invalid enum value 'sideways'; fix: use documented, "
            "inverted or target",
        ),
        (
            ('inv = "sim:convention=inverted"', 'inv = "sim:colour=blue"'),
            "field targets.inv: unknown sim target option 'colour'",
        ),
        (
            ('inv = "sim:convention=inverted"', 'inv = "lab:missing.toml"'),
            "field targets.inv: lab config",
        ),
        (
            ("model = {}", 'model = { manifest = "dist/manifest.json" }'),
            "field builds.model.manifest:",
        ),
        (
            ('[[cells]]\ntargets = ["sim", "inv"]', "[[cells]]\ntargets = []"),
            "field cells[0].targets: Expected `array` of length >= 1",
        ),
    ],
)
def test_bad_plans_name_the_field_and_the_fix(
    tmp_path: Path, change: tuple[str, str], says: str
) -> None:
    path = write(tmp_path, PLAN.replace(*change, 1))
    with pytest.raises(ConfigError) as err:
        load_plan(path)
    assert str(err.value).startswith(f"{path}: ")
    assert says in str(err.value)
    assert "fix:" in str(err.value) or "does not exist" in str(err.value)


def test_a_missing_lab_config_or_manifest_says_it_does_not_exist(tmp_path: Path) -> None:
    text = PLAN.replace('inv = "sim:convention=inverted"', 'inv = "lab:lab/none.toml"')
    with pytest.raises(ConfigError, match=r"lab config .*lab/none.toml does not exist"):
        load_plan(write(tmp_path, text))
    text = PLAN.replace("model = {}", 'model = { manifest = "none/manifest.json" }')
    with pytest.raises(ConfigError, match=r"none/manifest.json does not exist; fix: build"):
        load_plan(write(tmp_path, text))


def test_a_build_with_a_manifest_carries_its_hashes(tmp_path: Path) -> None:
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "manifest.json").write_text(
        json.dumps(
            {
                "format": 1,
                "build_id": "abc-123",
                "artifacts": [{"name": "hsprobe.sys", "version": 1, "sha256": "aa" * 32}],
            }
        )
    )
    text = PLAN.replace("model = {}", 'model = { manifest = "dist/manifest.json" }')
    cell = expand(load_plan(write(tmp_path, text)))[0]
    assert cell.build_id == "abc-123" and cell.driver == {"hsprobe.sys": "aa" * 32}


def test_lab_paths_are_relative_to_the_plan(tmp_path: Path) -> None:
    (tmp_path / "lab").mkdir()
    (tmp_path / "lab" / "x.toml").write_text('profile = "linux"\n[pool]\nsize = 3\n')
    (tmp_path / "plans").mkdir()
    path = tmp_path / "plans" / "p.toml"
    path.write_text(
        PLAN.replace(
            'inv = "sim:convention=inverted"', 'inv = "lab:../lab/x.toml,feature=disabled"'
        )
    )
    try:
        cells = expand(load_plan(path))
    except ConfigError as e:  # the lab target's own checks (when installed) want more
        assert "lab/x.toml" in str(e)
        return
    lab = next(c for c in cells if c.target == "inv")
    assert lab.spec == f"lab:{tmp_path / 'lab' / 'x.toml'},feature=disabled"
    assert lab.kind == "lab" and lab.pool == str(tmp_path / "lab" / "x.toml")


def test_plan_show_lists_the_cells(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", "show", str(write(tmp_path, PLAN))]) == 0
    out = capsys.readouterr().out
    assert "plan n1: 5 cell(s), 4 required" in out
    assert "inv/model/documented/swap  sim:convention=inverted" in out


def test_plan_show_of_a_bad_plan_is_one_line_and_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, PLAN.replace("repeat = 3", "repeat = 'x'"))
    assert main(["plan", "show", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "field cells[1].repeat" in err[0]
    assert main(["plan", "show", str(tmp_path / "none.toml")]) == 2
    assert main(["plan", "show", str(write(tmp_path, "name = ["))]) == 2
