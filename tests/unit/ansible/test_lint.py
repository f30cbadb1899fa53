"""ansible/ as Ansible's own tools judge it: a syntax check of every playbook on both
inventories, collections installable offline, and one source of truth for setting up a host.
(ansible-lint's production profile runs as a lint step of `make test`, beside ruff.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.ansible.conftest import ANSIBLE, REPO, ansible

PLAYBOOKS = sorted(p.name for p in (ANSIBLE / "playbooks").glob("*.yml"))
INVENTORIES = ["inventories/local", "inventories/example-lab"]


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_every_playbook_passes_the_syntax_check(inventory: str) -> None:
    done = ansible(
        "ansible-playbook",
        "-i",
        inventory,
        "--syntax-check",
        *(f"playbooks/{p}" for p in PLAYBOOKS),
    )
    assert done.returncode == 0, done.stderr
    assert all(f"playbook: playbooks/{p}" in done.stdout for p in PLAYBOOKS), done.stdout


def test_every_role_has_a_playbook_and_site_runs_them_all() -> None:
    site = (ANSIBLE / "playbooks" / "site.yml").read_text()
    for role in sorted(p.name for p in (ANSIBLE / "roles").iterdir()):
        users = [
            p for p in PLAYBOOKS if f"role: {role}\n" in (ANSIBLE / "playbooks" / p).read_text()
        ]
        assert users, f"no playbook applies role {role}"
        assert any(f"import_playbook: {p}" in site for p in users), role


def test_collections_install_offline_from_the_ansible_package() -> None:
    done = ansible("ansible-galaxy", "collection", "install", "--offline", "-r", "requirements.yml")
    assert done.returncode == 0, done.stderr
    assert "All requested collections are already installed" in done.stdout


def test_host_set_up_has_one_source_of_truth() -> None:
    """Set-up steps live in the hypervisor role; a step added the old way (scripts/setup.d)
    must be ported to it."""
    steps = REPO / "scripts" / "setup.d"
    assert not steps.exists() or not any(steps.iterdir()), (
        f"{sorted(p.name for p in steps.iterdir())} in scripts/setup.d: port them to "
        "ansible/roles/hypervisor/tasks (docs/lab.md)"
    )
    script = (REPO / "scripts" / "setup-host").read_text()
    assert "ansible/playbooks/hypervisors.yml" in script


def test_makefile_runs_the_role_when_it_changes() -> None:
    makefile = (REPO / "Makefile").read_text()
    assert "ansible/roles/hypervisor" in makefile and "scripts/setup-host" in makefile


@pytest.mark.parametrize(
    "path",
    sorted((ANSIBLE / "roles").glob("*/tasks/*.yml")),
    ids=lambda p: str(Path(p).relative_to(ANSIBLE)),
)
def test_tasks_that_render_secrets_hide_them(path: Path) -> None:
    """A task writing the admin password or the KDNET key out has no_log."""
    text = path.read_text()
    for task in text.split("\n- name: ")[1:]:
        if "template:" in task and ("autounattend" in task or "setup.ps1" in task):
            assert "no_log: true" in task, task.splitlines()[0]
