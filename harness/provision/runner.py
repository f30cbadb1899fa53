"""Running the lab's playbooks (ansible/playbooks) through ansible-runner: one live line per
host and task result, then one summary line per host (ok, changed, failed, unreachable).

Checks made before Ansible starts, each one message naming what is wrong: the inventory
exists; a Vault-encrypted file in it has a password to open it (Ansible's own error names no
file); the playbook is one of ansible/playbooks.
"""

from __future__ import annotations

import os
import shlex
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from harness.errors import BackendUnavailableError, ConfigError

__all__ = ["ANSIBLE_DIR", "Outcome", "Progress", "encrypted_files", "playbooks", "provision"]

ANSIBLE_DIR = Path(__file__).resolve().parents[2] / "ansible"
"""ansible/ beside the package (a source checkout or an editable install)."""
_VAULT_HEADER = b"$ANSIBLE_VAULT;"
_VAULT_ENV = ("ANSIBLE_VAULT_PASSWORD_FILE", "ANSIBLE_VAULT_IDENTITY_LIST")


def playbooks() -> list[str]:
    """Names of the playbooks `harness lab provision --playbook` accepts."""
    return sorted(p.stem for p in (ANSIBLE_DIR / "playbooks").glob("*.yml"))


def encrypted_files(inventory: Path) -> list[Path]:
    """Files of an inventory (the file, or its directory with group_vars and host_vars) that
    Ansible Vault encrypted whole or that hold an inline `!vault` value."""
    root = inventory if inventory.is_dir() else inventory.parent
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix not in ("", ".yml", ".yaml", ".json"):
            continue
        head = path.read_bytes()[: 1 << 20]
        if head.startswith(_VAULT_HEADER) or b"!vault" in head:
            found.append(path)
    return found


@dataclass
class Outcome:
    """Per-host counts of one run, and the first failure's message per host."""

    counts: dict[str, dict[str, int]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    bad_input: bool = False
    """A failure came from a check (an assert), not from a change the playbook made."""

    def count(self, host: str, what: str) -> None:
        per = self.counts.setdefault(
            host, {"ok": 0, "changed": 0, "failed": 0, "unreachable": 0, "skipped": 0}
        )
        per[what] += 1

    @property
    def failed(self) -> bool:
        return any(c["failed"] or c["unreachable"] for c in self.counts.values())


class Progress:
    """Turns ansible-runner events into lines on `out` and counts into an Outcome."""

    _RESULTS = {
        "runner_on_ok": "ok",
        "runner_on_failed": "failed",
        "runner_on_unreachable": "unreachable",
        "runner_on_skipped": "skipped",
    }

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.outcome = Outcome()

    def __call__(self, event: Mapping[str, Any]) -> bool:
        kind = self._RESULTS.get(str(event.get("event", "")))
        data = event.get("event_data") or {}
        if kind is None or not isinstance(data, Mapping):
            return True
        if data.get("ignore_errors") and kind == "failed":
            kind = "ok"
        result = data.get("res") or {}
        if kind == "ok" and result.get("changed"):
            kind = "changed"
        host = str(data.get("host", "?"))
        self.outcome.count(host, kind)
        if kind in ("failed", "unreachable") and host not in self.outcome.failures:
            self.outcome.failures[host] = _message(data, result)
            if str(data.get("task_action", "")).endswith("assert"):
                self.outcome.bad_input = True
        if kind != "skipped":
            print(f"{kind:<11} {host:<20} {data.get('task', '')}", file=self.out, flush=True)
        return True  # keep the event in the artifacts too

    def summary(self) -> list[str]:
        lines = []
        for host, c in sorted(self.outcome.counts.items()):
            lines.append(
                f"{host:<20} ok={c['ok']} changed={c['changed']} failed={c['failed']} "
                f"unreachable={c['unreachable']} skipped={c['skipped']}"
            )
            if host in self.outcome.failures:
                lines.append(f"{'':<20} {self.outcome.failures[host]}")
        return lines


def _message(data: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    """One line: the task and what it said (a loop's failing item's message if that is all)."""
    msg = result.get("msg") or ""
    for item in result.get("results") or []:
        if isinstance(item, Mapping) and item.get("failed"):
            msg = item.get("msg") or msg
            break
    text = " ".join(str(msg).split()) or "failed (no message; rerun with -v)"
    return f"{data.get('task', 'a task')}: {text}"


def provision(
    inventory: Path,
    playbook: str,
    *,
    limit: str | None = None,
    tags: str | None = None,
    extra: Sequence[str] = (),
    vault_password_file: Path | None = None,
    out: TextIO = sys.stdout,
) -> Progress:
    """Run ansible/playbooks/PLAYBOOK.yml on `inventory`; the Progress holds the outcome."""
    _check(inventory, playbook, vault_password_file)
    try:
        import ansible_runner
    except ImportError:
        raise BackendUnavailableError(
            "harness lab provision needs ansible-runner: install the "
            "provision extra: pip install -e '.[provision]'"
        ) from None
    cmdline = [*extra]
    if vault_password_file is not None:
        cmdline += ["--vault-password-file", str(vault_password_file)]
    progress = Progress(out)
    # the venv's ansible-playbook first, whether or not the venv is activated
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    with tempfile.TemporaryDirectory(prefix="harness-provision-") as private:
        ansible_runner.run(
            private_data_dir=private,
            project_dir=str(ANSIBLE_DIR),
            playbook=str(ANSIBLE_DIR / "playbooks" / f"{playbook}.yml"),
            inventory=str(inventory.resolve()),
            limit=limit,
            tags=tags,
            cmdline=shlex.join(cmdline) or None,
            envvars={
                "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
                "ANSIBLE_FORCE_COLOR": "0",
                "PATH": path,
            },
            event_handler=progress,
            quiet=True,
            suppress_env_files=True,
        )
    return progress


def _check(inventory: Path, playbook: str, vault_password_file: Path | None) -> None:
    if not inventory.exists():
        raise ConfigError(
            f"inventory {inventory} does not exist; name an inventory file or "
            "directory (ansible/inventories/example-lab shows one)"
        )
    if playbook not in playbooks():
        raise ConfigError(
            f"--playbook {playbook}: no ansible/playbooks/{playbook}.yml; use one "
            f"of {', '.join(playbooks())}"
        )
    if vault_password_file is not None and not vault_password_file.is_file():
        raise ConfigError(f"--vault-password-file {vault_password_file} is not a file")
    if vault_password_file is None and not any(os.environ.get(v) for v in _VAULT_ENV):
        locked = encrypted_files(inventory)
        if locked:
            raise ConfigError(
                f"{locked[0]} is encrypted with Ansible Vault and no Vault password "
                "was given; pass --vault-password-file FILE (or set "
                "ANSIBLE_VAULT_PASSWORD_FILE)"
            )
