"""The `windows` guest profile: hsprobe.sys and hsprobe2.sys as kernel services, hsprobectl.exe.

Both images are created as demand-start kernel services with sc.exe; only `hsprobe` is
started: hsprobectl starts `hsprobe2` itself when asked to swap to version 2 (loading it is
the swap) and stops both on unload. sc.exe's output is parsed here from the format
Microsoft documents for `sc query` / `sc create` (see tests/unit/lab for the samples).
"""

from __future__ import annotations

import re

import msgspec

from harness.lab.config import DriverConfig, LabConfig
from harness.lab.profile import Runner, Step

__all__ = [
    "SERVICES",
    "ScError",
    "ServiceStatus",
    "WindowsProfile",
    "parse_sc_error",
    "parse_sc_query",
    "parse_ver",
]

#: service name -> image file, in load order
SERVICES = {"hsprobe": "hsprobe.sys", "hsprobe2": "hsprobe2.sys"}
DEFAULT_DIR = "C:\\hsp"
SC = "sc.exe"

# Win32 errors sc.exe reports while installing a driver, with what to do about each
_FIXES = {
    2: "the image is not at the service's binPath: set driver.install = true or copy it there",
    5: "the SSH user is not an administrator of the guest",
    577: "Windows refused the signature: enable test signing (bcdedit /set testsigning on) "
    "or sign the images",
    1058: "the service is disabled: sc.exe config hsprobe start= demand",
    1060: "the service is not installed: the lab target creates it; check driver.guest_dir",
    1072: "the service is marked for deletion: revert the guest or reboot it, then retry",
    1073: "the service exists already",
    1275: "the driver is blocked (HVCI or the vulnerable driver blocklist refused it)",
}
_FAILED = re.compile(r"\[SC\]\s+([\w:]+)\s+FAILED\s+(\d+):\s*(.*)", re.S)
_FIELD = re.compile(r"^\s*([A-Z_0-9]+)\s*:\s*(.*?)\s*$", re.M)
_VER = re.compile(r"\[Version\s+([\d.]+)\]")


class ServiceStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One service as `sc query NAME` prints it."""

    name: str
    type: int
    state: int
    """1 STOPPED, 2 START_PENDING, 3 STOP_PENDING, 4 RUNNING (SERVICE_STATUS.dwCurrentState)."""
    state_name: str
    win32_exit_code: int = 0
    service_exit_code: int = 0

    @property
    def running(self) -> bool:
        return self.state == 4


class ScError(msgspec.Struct, frozen=True, kw_only=True):
    """A `[SC] Operation FAILED code:` answer."""

    operation: str
    code: int
    message: str

    def explain(self) -> str:
        fix = _FIXES.get(self.code)
        text = f"{self.operation} failed with Win32 error {self.code}: {self.message}"
        return f"{text}; {fix}" if fix else text


def _number(text: str) -> int:
    token = text.split()[0] if text.split() else "0"
    return int(token, 16) if token.lower().startswith("0x") else int(token)


def parse_sc_query(text: str) -> ServiceStatus | None:
    """The status block of `sc query NAME`, or None when the output holds none (an error)."""
    fields = {k: v for k, v in _FIELD.findall(text.replace("\r\n", "\n"))}
    if "SERVICE_NAME" not in fields or "STATE" not in fields:
        return None
    state = fields["STATE"].split()
    return ServiceStatus(
        name=fields["SERVICE_NAME"],
        type=_number(fields.get("TYPE", "0")),
        state=int(state[0]),
        state_name=state[1] if len(state) > 1 else "",
        win32_exit_code=_number(fields.get("WIN32_EXIT_CODE", "0")),
        service_exit_code=_number(fields.get("SERVICE_EXIT_CODE", "0")),
    )


def parse_sc_error(text: str) -> ScError | None:
    """The failure in sc.exe's output (`[SC] StartService FAILED 577:` and the message)."""
    found = _FAILED.search(text.replace("\r\n", "\n"))
    if found is None:
        return None
    message = " ".join(found[3].split())
    return ScError(operation=found[1], code=int(found[2]), message=message)


def parse_ver(text: str) -> str:
    """`Microsoft Windows [Version 10.0.26100.2033]` -> 26100.2033 (build.revision)."""
    found = _VER.search(text)
    if found is None:
        return "unknown"
    parts = found[1].split(".")
    return ".".join(parts[2:]) if len(parts) >= 3 else found[1]


class WindowsProfile:
    name = "windows"

    def __init__(self, config: LabConfig) -> None:
        self.shell: str = config.shell
        self.guest_dir = (config.driver.guest_dir or DEFAULT_DIR).rstrip("\\/")
        self.files = {f: f"{self.guest_dir}\\{f}" for f in SERVICES.values()}
        self.files["hsprobectl.exe"] = config.driver.tool or f"{self.guest_dir}\\hsprobectl.exe"

    @property
    def tool(self) -> str:
        return self.files["hsprobectl.exe"]

    def command(self, *args: str) -> tuple[str, ...]:
        return (self.tool, *args)

    def load(self, driver: DriverConfig) -> list[Step]:
        steps = self.remove()
        for service, image in SERVICES.items():
            steps.append(
                Step(
                    (
                        SC,
                        "create",
                        service,
                        "type=",
                        "kernel",
                        "start=",
                        "demand",
                        "binPath=",
                        self.files[image],
                    ),
                    f"create service {service}",
                )
            )
        steps.append(Step((SC, "start", "hsprobe"), "start service hsprobe (version 1)"))
        steps.append(Step((SC, "query", "hsprobe"), "query service hsprobe"))
        return steps

    def serve(self, port: str) -> Step | None:
        return None  # hsprobectl.exe runs one command per process

    def mkdir(self) -> Step:
        return Step(
            ("cmd", "/c", "mkdir", self.guest_dir), f"create {self.guest_dir}", optional=True
        )

    def sftp_path(self, remote: str) -> str:
        """Win32-OpenSSH's SFTP server takes drive paths with forward slashes: C:/hsp/x."""
        return remote.replace("\\", "/")

    def remove(self) -> list[Step]:
        stops = [
            Step((SC, "stop", s), f"stop service {s}", optional=True) for s in reversed(SERVICES)
        ]
        deletes = [
            Step((SC, "delete", s), f"delete service {s}", optional=True)
            for s in reversed(SERVICES)
        ]
        return stops + deletes

    def check(self, step: Step, status: int, stdout: str, stderr: str, run: Runner) -> str | None:
        text = stdout + stderr
        error = parse_sc_error(text)
        if error is not None:
            return f"{step.what}: {error.explain()}"
        if step.argv[1:2] == ("query",):
            found = parse_sc_query(text)
            if found is None:
                return f"{step.what}: sc.exe printed no service status: {text.strip()[:200]!r}"
            if not found.running:
                return (
                    f"{step.what}: the service is {found.state_name} (exit code "
                    f"{found.win32_exit_code}) rather than RUNNING"
                )
        if status != 0:
            return f"{step.what}: sc.exe exited {status}: {text.strip()[:200]!r}"
        return None

    def build_command(self) -> tuple[str, ...]:
        return ("cmd", "/c", "ver")

    def parse_build(self, stdout: str) -> str:
        return parse_ver(stdout)

    def raw_trace(self, from_seq: int) -> tuple[tuple[str, ...], str | None]:
        remote = f"{self.guest_dir}\\trace.hspt"
        return self.command("trace", "--from", str(from_seq), "--raw", remote), remote
