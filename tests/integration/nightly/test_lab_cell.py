"""One lab cell on the Linux stand-in beside a simulator cell: the lab target leases its
machine through the pool, the results carry the guest's kernel build and the build's driver
hash, and the cell's worker keeps its machine for the next cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from harness.store.rows import driver_hash
from tests.integration.lab.conftest import DIST, MakeConfig, make_config, standin_image
from tests.unit.nightly.plans import finish, start

pytestmark = pytest.mark.integration
__all__ = ["make_config", "standin_image"]  # the lab tier's fixtures, used here


def test_a_lab_cell_on_the_stand_in(tmp_path: Path, make_config: MakeConfig) -> None:
    config = make_config("nt")
    url = f"sqlite:///{tmp_path / 'r.sqlite'}"
    plan = tmp_path / "lab.toml"
    plan.write_text(f'''name = "lab"
store = "{url}"
[targets]
standin = "lab:{config}"
sim = "sim"
[builds]
linux = {{ manifest = "{DIST / "manifest.json"}" }}
[selections]
two = "feature_probe or terminate_on_request"
[[cells]]
targets = ["standin", "sim"]
builds = ["linux"]
selections = ["two"]
required = true
''')
    code, _, err = finish(start(plan), timeout=1800)
    assert code == 0, err
    manifest = json.loads((DIST / "manifest.json").read_text())
    files = {a["name"]: a["sha256"] for a in manifest["artifacts"]}
    engine = sa.create_engine(url)
    with engine.connect() as c:
        rows = c.execute(
            sa.text(
                "SELECT c.key, r.scenario, r.verdict, r.guest_build, r.driver_hash, r.facts, "
                "a.machine FROM result r JOIN cell c ON c.id = r.cell_id JOIN attempt a ON "
                "a.id = r.attempt_id WHERE r.final ORDER BY c.key, r.scenario"
            )
        ).all()
    engine.dispose()
    lab = [r for r in rows if r.key.startswith("standin/")]
    assert [(r.scenario, r.verdict) for r in lab] == [
        ("feature_probe", "pass"),
        ("terminate_on_request", "pass"),
    ]
    for r in lab:
        facts = json.loads(r.facts)
        assert r.guest_build == facts["environment.guest_build"] and r.guest_build != "unknown"
        assert r.driver_hash == driver_hash(files, manifest["build_id"])
        assert facts[f"environment.sha256 {'hsprobe.ko'}"] == files["hsprobe.ko"]
        assert r.machine.startswith(Path(config).stem + "#")
    assert {r.key for r in rows} == {"standin/linux/target/two", "sim/linux/target/two"}
