"""Benchmark the build machine's set-up by the ansible role `hypervisor`: a converge with
nothing to do (what a second `scripts/setup-host` costs), the daemons alone (tag services,
what every `make test` runs), and the start of ansible-playbook itself (a syntax check) as
the floor both stand on. Prints medians and each run's changed count; a no-op converge that
changes something fails the bench (exit 1).

    .venv/bin/python bench/bench_provision.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PLAYBOOK = ["-i", "ansible/inventories/local/hosts.yml", "ansible/playbooks/hypervisors.yml"]


def timed(*args: str) -> tuple[float, int]:
    """Seconds one ansible-playbook run took and its changed count."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible/ansible.cfg"),
        "HARNESS_VENV": sys.prefix,
        "ANSIBLE_NOCOLOR": "1",
    }
    began = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), *PLAYBOOK, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    took = time.monotonic() - began
    if done.returncode != 0:
        sys.exit(f"bench_provision: ansible-playbook {' '.join(args)} failed:\n{done.stdout}")
    found = re.search(r"changed=(\d+)", done.stdout)
    return took, int(found[1]) if found else 0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    rounds = parser.parse_args().rounds
    timed()  # converge first: the rounds below measure the no-op
    rows = {
        "syntax check (ansible-playbook start)": [timed("--syntax-check") for _ in range(rounds)],
        "no-op converge (whole role)": [timed() for _ in range(rounds)],
        "daemons only (--tags services)": [timed("--tags", "services") for _ in range(rounds)],
    }
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs, {rounds} rounds")
    for name, runs in rows.items():
        print(
            f"{name:<40} median {statistics.median(t for t, _ in runs):5.1f} s  "
            f"changed {[c for _, c in runs]}"
        )
    changed = [c for _, c in rows["no-op converge (whole role)"]]
    if any(changed):
        print("bench_provision: a converge with nothing to do changed something", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
