"""What the lab holds on this hypervisor: the inventory's hosts and groups, template images
(golden images with their records, the stand-in's image), the harness's domains (kept guests
and run machines) with their snapshots, and the leases runs hold now."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from harness.errors import ConfigError, InfrastructureError
from harness.provision.runner import ANSIBLE_DIR

__all__ = ["guests", "inventory_hosts", "leases", "templates"]


def inventory_hosts(inventory: Path) -> dict[str, list[str]]:
    """Group -> hosts, as Ansible reads the inventory (`ansible-inventory --list`)."""
    if not inventory.exists():
        raise ConfigError(f"inventory {inventory} does not exist")
    binary = Path(sys.executable).parent / "ansible-inventory"
    cmd = [str(binary) if binary.exists() else "ansible-inventory", "-i", str(inventory), "--list"]
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={"ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"), "PATH": "/usr/bin:/bin"},
        )
    except FileNotFoundError:
        raise InfrastructureError(
            "ansible-inventory is not installed: install the provision "
            "extra: pip install -e '.[provision]'"
        ) from None
    if done.returncode != 0:
        raise ConfigError(f"inventory {inventory}: {done.stderr.strip().splitlines()[-1:]}")
    data = json.loads(done.stdout)
    return {
        group: sorted(body.get("hosts", []))
        for group, body in data.items()
        if isinstance(body, dict) and body.get("hosts") and group != "_meta"
    }


def templates(images: Path) -> list[tuple[str, str]]:
    """(image, what it is) for golden images (NAME.qcow2 + NAME.json) and the stand-in's."""
    found = []
    for record in sorted(images.glob("*.json")):
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        image = record.with_suffix(".qcow2")
        if image.is_file() and isinstance(data, dict):
            found.append((str(image), f"windows golden, build {data.get('build', '?')}"))
    standin = images / "standin"
    if standin.is_dir():
        found.append((str(standin.resolve()), "linux stand-in"))
    return found


def guests(uri: str, timeout: float) -> list[tuple[str, str, str, list[str]]]:
    """(domain, state, owner, snapshots) of every harness domain on `uri`."""
    from harness.vm.connection import open_connection
    from harness.vm.orphans import harness_domains
    from harness.vm.snapshot import names

    conn = open_connection(uri, timeout)
    try:
        rows = []
        for domain, owner in harness_domains(conn):
            state = "running" if domain.isActive() else "off"
            who = "kept" if owner.kept else f"run {owner.run_id} pid {owner.pid}"
            try:
                taken = names(domain, domain.name())
            except InfrastructureError:  # gone or stopping while we looked
                taken = ["?"]
            rows.append((domain.name(), state, who, taken))
        return rows
    finally:
        conn.close()


def leases(state_dir: Path) -> list[str]:
    """Pool slots (POOL-SLOT) whose lease a live process holds now."""
    from harness.vm.lease import is_held

    held = []
    for lock in sorted((state_dir / "leases").glob("*.lock")):
        pool, _, slot = lock.stem.rpartition("-")
        if slot.isdigit() and is_held(state_dir / "leases", pool, int(slot)):
            held.append(lock.stem)
    return held
