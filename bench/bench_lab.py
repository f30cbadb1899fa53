"""Benchmark the lab target on the Linux stand-in, side by side in one run:

1. per-scenario overhead of the lab target (revert, driver ready, debugger attached, first
   action answered) against a raw `loadvm` and against a cold boot plus driver load
   (goals: at most 2x loadvm, at least 10x faster than the cold boot), for each command
   channel: the QEMU guest agent (channel = "agent", the stand-in's) and SSH (channel =
   "ssh", reconnected after every revert), both with the stand-in's resident hsprobectl
   answering the hsprobectl commands (harness/lab/probe.py);
2. the command channel after the same revert: the guest agent's first command, an SSH
   reconnect plus first command, and a virtio-serial shell (a bench-only variant of the
   stand-in image with a shell agent on a virtio port, built here);
3. whole-suite wall time on the stand-in, serial and with -j 2 (gdbstub debugger on).

Needs libvirtd (scripts/setup-host --services); builds the drivers and the image (cached;
HS_STANDIN_IMAGES=DIR builds it into DIR rather than the shared images directory).

    .venv/bin/python bench/bench_lab.py [--rounds 8] [--no-suite] [--no-vport]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness import actions as act
from harness.lab.channel import AgentChannel
from harness.lab.config import load_lab_config
from harness.lab.machine import LabMachine
from harness.lab.profile import make_profile
from harness.lab.session import close_sessions
from harness.targets.lab import LabTarget
from harness.vm import open_pool

sys.path.insert(0, str(Path(__file__).resolve().parent))
from vport import VportChannel, vport_image

REPO = Path(__file__).resolve().parents[1]


def run(cmd: list[str]) -> str:
    return subprocess.run(cmd, cwd=REPO, check=True, capture_output=True, text=True).stdout


def lab_config(
    image: Path, tmp: Path, name: str, template_dir: str = "", channel: str = "agent"
) -> Path:
    templates = f'template_dir = "{template_dir}"\n' if template_dir else ""
    path = tmp / f"{name}.toml"
    path.write_text(
        f'profile = "linux"\nconvention = "documented"\nchannel = "{channel}"\n'
        f'[pool]\nprofile = "linux-standin"\n'
        f'image = "{image}"\nname = "{name}"\nsize = 2\nmemory_mib = 384\n{templates}'
        f'[driver]\ndist = "{REPO / "drivers/dist/linux"}"\n'
    )
    return path


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def med(values: list[float]) -> float:
    return statistics.median(values)


def overheads(config: Path, rounds: int, cold: bool) -> dict[str, list[float]]:
    """Cold boot + driver load (when `cold`), raw loadvm, and the lab target's per-scenario
    steps, on the channel `config` names."""
    steps = ["raw loadvm", "revert (+ reconnect)", "first answer (query)", "debugger attached"]
    steps += ["first action answered", "lab per-scenario total"]
    figures: dict[str, list[float]] = {k: [] for k in (["cold boot + driver load"] * cold + steps)}
    first = LabTarget.from_options({"config": str(config)})
    lab = first.lab
    first.close()
    for _ in range(2 if cold else 0):  # a fresh machine each time: boot, log in, load, snapshot
        with open_pool(lab.config.machines) as pool:
            fresh = LabMachine(lab.config, make_profile(lab.config), pool.lease())
            figures["cold boot + driver load"].append(
                timed(lambda m=fresh: (m.boot(), m.prepare(lab.config.driver)))
            )
            fresh.release()
    for _ in range(rounds):
        figures["raw loadvm"].append(timed(lambda: lab.machine.revert("ready")))
    for _ in range(rounds):
        began = time.perf_counter()
        target = LabTarget.from_options({"config": str(config)})
        opened = time.perf_counter()
        target.open_debugger("gdbstub", {})
        attached = time.perf_counter()
        target.do(act.Gate(closed=False))
        answered = time.perf_counter()
        target.close()
        figures["revert (+ reconnect)"].append(target.timing["revert"])
        figures["first answer (query)"].append(target.timing["first_answer"])
        figures["debugger attached"].append(attached - opened)
        figures["first action answered"].append(answered - attached)
        figures["lab per-scenario total"].append(answered - began)
    return figures


def vport(image: Path, tmp: Path, rounds: int) -> dict[str, list[float]]:
    """After the same revert: the guest agent, an SSH reconnect, a virtio-serial shell."""
    variant, templates = vport_image(image, tmp)
    config = load_lab_config(
        lab_config(variant, tmp, f"bv{os.getpid() % 10000}", templates, channel="ssh")
    )
    names = ["loadvm", "agent: first command", "ssh: reconnect + first command"]
    names += ["virtio-serial: first command", "agent: command round trip"]
    names += ["ssh: command round trip", "virtio-serial: command round trip"]
    figures: dict[str, list[float]] = {k: [] for k in names}
    with open_pool(config.machines) as pool:
        lab = LabMachine(config, make_profile(config), pool.lease())
        lab.boot()
        ssh = lab.channel
        assert ssh is not None
        agent = AgentChannel(config, lab.machine, lab.name)
        agent.connect(60)
        port = VportChannel(lab.machine.files.dir / "hs.sock")
        port.wait_ready(60)
        lab.machine.snapshot("ready")

        def reconnect() -> None:
            ssh.drop()
            ssh.connect(60)
            ssh.run(("true",))

        firsts = [
            ("agent: first command", lambda: agent.run(("true",))),
            ("ssh: reconnect + first command", reconnect),
            ("virtio-serial: first command", lambda: port.run("true")),
        ]
        for i in range(rounds):
            for name, first in firsts[i % 3 :] + firsts[: i % 3]:  # each goes first in turn
                figures["loadvm"].append(timed(lambda: lab.machine.revert("ready")))
                figures[name].append(timed(first))
        ssh.connect(60)
        for _ in range(rounds):
            figures["agent: command round trip"].append(timed(lambda: agent.run(("true",))))
            figures["virtio-serial: command round trip"].append(timed(lambda: port.run("true")))
            figures["ssh: command round trip"].append(timed(lambda: ssh.run(("true",))))
        port.close()
        lab.release()
    return figures


def suites(config: Path) -> dict[str, float]:
    out: dict[str, float] = {}
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            began = time.perf_counter()
            proc = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "harness",
                    "run",
                    "--target",
                    f"lab:{config}",
                    "--debugger",
                    "gdbstub",
                    "-j",
                    str(jobs),
                    "--out",
                    tmp,
                ],
                cwd=REPO,
                capture_output=True,
                text=True,
                check=False,
            )
            out[f"suite -j {jobs}"] = time.perf_counter() - began
            if proc.returncode != 0:
                print(proc.stdout[-2000:], proc.stderr[-2000:], file=sys.stderr)
                out[f"suite -j {jobs} (FAILED)"] = float(proc.returncode)
    return out


def table(title: str, figures: dict[str, list[float]]) -> None:
    print(f"\n{title}")
    for name, values in figures.items():
        spread = f"{min(values) * 1000:7.0f} - {max(values) * 1000:7.0f}" if values else ""
        print(
            f"  {name:<36} median {med(values) * 1000:8.0f} ms   range {spread} ms"
            f"   (n={len(values)})"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--no-suite", action="store_true")
    parser.add_argument("--no-vport", action="store_true")
    args = parser.parse_args()
    subprocess.run(
        [str(REPO / "scripts/setup-host"), "--services"],
        check=True,
        capture_output=True,
        env={**os.environ, "VENV": sys.prefix},
    )
    run(["make", "-C", "drivers", "linux"])
    images = os.environ.get("HS_STANDIN_IMAGES")  # as the integration tests: a private dir
    build = [str(REPO / "vm/standin/build"), *([images] if images else [])]
    image = Path(run(build).strip().splitlines()[-1])
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-lab-") as tmp:
        os.chmod(tmp, 0o755)
        tag = f"bl{os.getpid() % 10000}"
        agent_config = lab_config(image, Path(tmp), f"{tag}a", channel="agent")
        ssh_config = lab_config(image, Path(tmp), f"{tag}s", channel="ssh")
        try:
            by_agent = overheads(agent_config, args.rounds, cold=True)
            by_ssh = overheads(ssh_config, args.rounds, cold=False)
        finally:
            close_sessions()
        table('per-scenario overhead, channel = "agent" (stand-in, TCG)', by_agent)
        table('per-scenario overhead, channel = "ssh"', by_ssh)
        cold = med(by_agent["cold boot + driver load"])
        print("\n  goals: lab per-scenario <= 2x raw loadvm, cold boot + load >= 10x lab")
        for name, figures in (("agent", by_agent), ("ssh", by_ssh)):
            loadvm = med(figures["raw loadvm"])
            total = med(figures["lab per-scenario total"])
            print(
                f"  {name:<6} lab / raw loadvm {total / loadvm:5.2f}x   "
                f"cold boot + load / lab {cold / total:5.1f}x"
            )
        loadvm, total = med(by_agent["raw loadvm"]), med(by_agent["lab per-scenario total"])
        ok = total <= 2 * loadvm and cold >= 10 * total
        if not args.no_vport:
            table("command channel after a revert", vport(image, Path(tmp), args.rounds))
        if not args.no_suite:
            print("\nwhole suite on the stand-in (gdbstub debugger)")
            for channel, config in (("agent", agent_config), ("ssh", ssh_config)):
                for name, seconds in suites(config).items():
                    print(f"  {channel:<6} {name:<29} {seconds:8.1f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
