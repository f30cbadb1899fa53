"""The `linux` guest profile: the stand-in (hsproxy + hsprobe as Linux modules, /dev/hsprobe).

insmod loads hsproxy with its parameters (feature, convention, bugs) and hsprobe (version 1);
hsprobe2.ko only has to be there: `hsprobectl swap --to 2` loads it, which is the swap.
"""

from __future__ import annotations

import re
import shlex

from harness.lab.config import DriverConfig, LabConfig
from harness.lab.profile import Runner, Step

__all__ = ["MODULES", "LinuxProfile"]

#: modules in load order; rmmod goes the other way
MODULES = ("hsproxy", "hsprobe", "hsprobe2")
DEFAULT_DIR = "/lib/hsprobe"
_BUG = re.compile(r"[a-z0-9-]{1,40}")


class LinuxProfile:
    name = "linux"

    def __init__(self, config: LabConfig) -> None:
        self.shell: str = config.shell
        self.guest_dir = (config.driver.guest_dir or DEFAULT_DIR).rstrip("/")
        self.files = {f"{m}.ko": f"{self.guest_dir}/{m}.ko" for m in MODULES}
        self.files["hsprobectl"] = config.driver.tool or f"{self.guest_dir}/hsprobectl"

    @property
    def tool(self) -> str:
        return self.files["hsprobectl"]

    def command(self, *args: str) -> tuple[str, ...]:
        # hsprobectl loads hsprobe2.ko itself (the swap): tell it where the modules are
        return ("env", f"HSPROBE_MODULES={self.guest_dir}", self.tool, *args)

    def serve(self, port: str) -> Step | None:
        started = self.command("serve", port)
        script = (
            'pid=$(cat /run/hsprobectl-serve.pid 2>/dev/null) && kill -0 "$pid" 2>/dev/null || '
            f"{{ {shlex.join(started)} </dev/null >/run/hsprobectl-serve.log 2>&1 & "
            "echo $! >/run/hsprobectl-serve.pid; }"
        )
        return Step(("sh", "-c", script), "start the resident hsprobectl")

    def load(self, driver: DriverConfig) -> list[Step]:
        params = [f"feature={driver.feature}", f"convention={driver.kernel_convention}"]
        for bug in driver.bugs:
            if not _BUG.fullmatch(bug):
                raise ValueError(f"bug name {bug!r}: use lower-case letters, digits and '-'")
        if driver.bugs:
            params.append(f"bugs={','.join(driver.bugs)}")
        return [
            Step(("insmod", self.files["hsproxy.ko"], *params), "load hsproxy"),
            Step(("insmod", self.files["hsprobe.ko"]), "load hsprobe (version 1)"),
        ]

    def mkdir(self) -> Step:
        return Step(("mkdir", "-p", self.guest_dir), f"create {self.guest_dir}", optional=True)

    def sftp_path(self, remote: str) -> str:
        return remote

    def remove(self) -> list[Step]:
        return [Step(("rmmod", m), f"unload {m}", optional=True) for m in reversed(MODULES)]

    def check(self, step: Step, status: int, stdout: str, stderr: str, run: Runner) -> str | None:
        if status == 0:
            return None
        if step.argv[0] == "insmod":  # the kernel's own reason, from its log
            from harness.guest.kmod import explain_load_failure

            log = run(("dmesg",)).stdout.decode(errors="replace")
            tail = "\n".join(log.splitlines()[-40:])
            return f"{step.what}: {explain_load_failure(step.argv[1], status, stderr, tail)}"
        text = (stderr or stdout).strip().splitlines()
        return f"{step.what}: {text[-1] if text else f'exit status {status}'}"

    def build_command(self) -> tuple[str, ...]:
        return ("uname", "-rv")

    def parse_build(self, stdout: str) -> str:
        return " ".join(stdout.split()) or "unknown"

    def raw_trace(self, from_seq: int) -> tuple[tuple[str, ...], str | None]:
        return self.command("trace", "--from", str(from_seq), "--raw", "/proc/self/fd/1"), None
