"""`harness lab provision`'s reading of ansible-runner events: one line per host and task
result, one summary per host with the first failure's message, checks told from failures;
and the inventory checks made before Ansible starts."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from harness.errors import ConfigError
from harness.provision.runner import Progress, encrypted_files, playbooks, provision


def event(
    kind: str, host: str, task: str, action: str = "ansible.builtin.command", **res: Any
) -> dict[str, Any]:
    return {
        "event": kind,
        "event_data": {"host": host, "task": task, "task_action": action, "res": res},
    }


def feed(*events: dict[str, Any]) -> tuple[Progress, str]:
    out = io.StringIO()
    progress = Progress(out)
    for e in events:
        assert progress(e) is True
    return progress, out.getvalue()


def test_a_line_per_result_and_a_summary_per_host() -> None:
    progress, out = feed(
        {"event": "playbook_on_start", "event_data": {}},
        event("runner_on_ok", "hv1", "Install the Debian packages", changed=False),
        event("runner_on_ok", "hv1", "Start the daemons", changed=True),
        event("runner_on_skipped", "hv1", "Start with systemd"),
        event("runner_on_ok", "hv2", "Install the Debian packages", changed=True),
    )
    assert out.splitlines() == [
        "ok          hv1                  Install the Debian packages",
        "changed     hv1                  Start the daemons",
        "changed     hv2                  Install the Debian packages",
    ]
    assert progress.summary() == [
        "hv1                  ok=1 changed=1 failed=0 unreachable=0 skipped=1",
        "hv2                  ok=0 changed=1 failed=0 unreachable=0 skipped=0",
    ]
    assert not progress.outcome.failed


def test_a_failed_check_is_bad_input_with_its_message() -> None:
    progress, _ = feed(
        event(
            "runner_on_failed",
            "hv1",
            "Check the required variables are set",
            action="ansible.builtin.assert",
            results=[
                {"failed": False},
                {"failed": True, "msg": "windows_golden_kdnet_key is\n  not set for hv1"},
            ],
        )
    )
    assert progress.outcome.failed and progress.outcome.bad_input
    assert progress.summary()[1].strip() == (
        "Check the required variables are set: windows_golden_kdnet_key is not set for hv1"
    )


def test_a_failed_change_or_unreachable_host_is_not_bad_input() -> None:
    progress, _ = feed(
        event("runner_on_failed", "hv1", "Install", msg="apt failed"),
        event("runner_on_unreachable", "hv2", "Gathering Facts", msg="ssh: no route"),
        {
            **event("runner_on_failed", "hv3", "ignored"),
            "event_data": {"host": "hv3", "task": "ignored", "ignore_errors": True, "res": {}},
        },
    )
    data = progress.outcome
    assert data.failed and not data.bad_input
    assert data.failures == {"hv1": "Install: apt failed", "hv2": "Gathering Facts: ssh: no route"}
    assert data.counts["hv3"]["failed"] == 0


def test_vault_encrypted_files_are_found(tmp_path: Path) -> None:
    (tmp_path / "group_vars" / "all").mkdir(parents=True)
    whole = tmp_path / "group_vars" / "all" / "vault.yml"
    whole.write_bytes(b"$ANSIBLE_VAULT;1.1;AES256\n3633\n")
    inline = tmp_path / "host_vars.yml"
    inline.write_text("password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n")
    (tmp_path / "hosts.yml").write_text("all: {}\n")
    assert encrypted_files(tmp_path) == [whole, inline]
    assert encrypted_files(tmp_path / "hosts.yml") == [whole, inline]


def test_the_checks_before_ansible_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANSIBLE_VAULT_PASSWORD_FILE", raising=False)
    monkeypatch.delenv("ANSIBLE_VAULT_IDENTITY_LIST", raising=False)
    assert {"site", "hypervisors", "linux-standin", "windows-golden"} <= set(playbooks())
    with pytest.raises(ConfigError, match=r"inventory .*nowhere does not exist"):
        provision(tmp_path / "nowhere", "site")
    (tmp_path / "hosts.yml").write_text("all: {}\n")
    with pytest.raises(ConfigError, match=r"--playbook nope: no ansible/playbooks/nope\.yml"):
        provision(tmp_path / "hosts.yml", "nope")
    with pytest.raises(ConfigError, match=r"--vault-password-file .* is not a file"):
        provision(tmp_path / "hosts.yml", "site", vault_password_file=tmp_path / "none")
    (tmp_path / "secret.yml").write_bytes(b"$ANSIBLE_VAULT;1.1;AES256\n")
    with pytest.raises(ConfigError, match=r"secret.yml is encrypted with Ansible Vault"):
        provision(tmp_path / "hosts.yml", "site")
