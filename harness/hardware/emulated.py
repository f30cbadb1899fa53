"""An emulated rack machine: the Linux stand-in guest playing a physical machine behind real BMC
emulators, so the hardware path runs end to end on a build machine with no rack.

- the machine: a libvirt domain booting the stand-in image's kernel and initramfs, with no
  snapshots and no pvpanic (a panic reboots it, as `panic=-1` makes a real machine do), its
  serial console a QEMU `tcp` chardev on a loopback port (what a console server exposes), its
  SSH server forwarded to a fixed loopback port (its "rack address");
- Redfish: `sushy-tools`' emulator with its libvirt driver, HTTP basic auth (a bcrypt
  htpasswd file), restricted to this one domain;
- IPMI: `virtualbmc`'s `VirtualBMC` (pyghmi's BMC server) for the same domain.

    python -m harness.hardware.emulated up DIR [--image IMAGE]   # prints DIR/inventory-*.toml
    python -m harness.hardware.emulated down DIR

`up` writes two inventories naming the one machine (through Redfish, through IPMI) and the
BMC password file (0600) they reference; the emulators run in their own sessions until `down`.
lab/hardware-standin.toml runs the suite on it. The stand-in never stands for Windows.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import msgspec

from harness.errors import HarnessError, InfrastructureError
from harness.vm.config import DEFAULT_STATE_DIR
from harness.vm.gdbstub import free_port
from harness.vm.image import MachineFiles, resolve_image

__all__ = ["EmulatedRack", "main"]

DEFAULT_IMAGE = "/var/lib/hotswap-harness/images/standin"
_URI = "qemu:///system"
_PASSWORD_ENV = "HS_EMULATED_BMC_PASSWORD"
_READY = 60.0  # seconds an emulator may take to answer after it starts


class RackState(msgspec.Struct, kw_only=True):
    """DIR/rack.json: what `down` needs."""

    domain: str
    pids: list[int]
    ports: dict[str, int]


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EmulatedRack:
    """One emulated machine and its two BMCs, with its files in `directory`."""

    def __init__(
        self,
        directory: Path,
        name: str = "standin",
        image: str = DEFAULT_IMAGE,
        memory_mib: int = 384,
    ) -> None:
        self.dir = directory.resolve()
        self.name = name
        self.domain = f"hsrack-{name}"
        self.image = resolve_image("linux-standin", image, "emulated rack")
        self.image_dir = Path(image).resolve()
        self.memory_mib = memory_mib
        self.password_file = self.dir / "bmc-password"
        # where QEMU (another user) can reach it, unlike a private temporary directory
        self.files = MachineFiles(DEFAULT_STATE_DIR, self.domain)
        self.ports: dict[str, int] = {}
        self._procs: list[subprocess.Popen[bytes]] = []

    @property
    def pids(self) -> list[int]:
        """The emulators' processes (each leads its own session): Redfish, then IPMI."""
        return [p.pid for p in self._procs]

    def inventory(self, kind: str) -> Path:
        return self.dir / f"inventory-{kind}.toml"

    # -- up -----------------------------------------------------------------------------
    def up(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.ports = {
            "console": free_port(),
            "ssh": free_port(),
            "redfish": free_port(),
            "ipmi": free_udp_port(),
        }
        password = secrets.token_urlsafe(12)  # 16 characters: IPMI 2.0 allows 20
        self.password_file.write_text(password + "\n")
        self.password_file.chmod(0o600)
        try:
            uuid = self._define()
            self._start_redfish(uuid, password)
            self._start_ipmi(password)
            for kind in ("redfish", "ipmi"):
                self.inventory(kind).write_text(self._inventory_text(kind))
            self._save()
        except BaseException:
            self.down()
            raise

    def _define(self) -> str:
        from harness.vm.connection import open_connection

        conn = open_connection(_URI, 60.0)
        try:
            self._undefine(conn)
            self.files.create(self.image)  # the machine's own disk, for its boot device
            return str(conn.defineXML(self._xml()).UUIDString())
        finally:
            conn.close()

    def _xml(self) -> str:
        i, p = self.image, self.ports
        netdev = f"user,id=hwnet0,hostfwd=tcp:127.0.0.1:{p['ssh']}-:22"
        return f"""<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>
  <name>{escape(self.domain)}</name>
  <title>hotswap-harness emulated rack machine (linux stand-in)</title>
  <memory unit='MiB'>{self.memory_mib}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><kernel>{escape(i.kernel)}</kernel>
    <initrd>{escape(i.initrd)}</initrd><cmdline>{escape(i.cmdline)}</cmdline></os>
  <features><acpi/></features>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot>
  <on_crash>restart</on_crash>
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file={quoteattr(str(self.files.disk))}/><target dev='vda' bus='virtio'/></disk>
    <serial type='tcp'><source mode='bind' host='127.0.0.1' service='{p["console"]}'/>
      <protocol type='raw'/><target port='0'/></serial>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
  <qemu:commandline>
    <qemu:arg value={quoteattr("-netdev")}/><qemu:arg value={quoteattr(netdev)}/>
    <qemu:arg value='-device'/><qemu:arg value='virtio-net-pci,netdev=hwnet0,addr=0x1e'/>
  </qemu:commandline>
</domain>
"""

    def _spawn(self, argv: list[str], log: str, env: dict[str, str] | None = None) -> None:
        with (self.dir / log).open("ab") as out:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=out,
                start_new_session=True,
                env={**os.environ, **(env or {})},
            )
        self._procs.append(proc)

    def _start_redfish(self, uuid: str, password: str) -> None:
        import bcrypt

        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        (self.dir / "htpasswd").write_text(f"admin:{hashed}\n")
        (self.dir / "sushy.conf").write_text(
            f"SUSHY_EMULATOR_ALLOWED_INSTANCES = [{uuid!r}]\n"
            f"SUSHY_EMULATOR_AUTH_FILE = {str(self.dir / 'htpasswd')!r}\n"
            "SUSHY_EMULATOR_IGNORE_BOOT_DEVICE = False\n"
        )
        self._spawn(
            [
                sys.executable,
                "-m",
                "sushy_tools.emulator.main",
                "--config",
                str(self.dir / "sushy.conf"),
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.ports["redfish"]),
                "--libvirt-uri",
                _URI,
            ],
            "sushy.log",
        )
        url = f"http://127.0.0.1:{self.ports['redfish']}/redfish/v1/"
        self._wait("the Redfish emulator", lambda: _answers(url))

    def _start_ipmi(self, password: str) -> None:
        self._spawn(
            [
                sys.executable,
                "-m",
                "harness.hardware.emulated",
                "serve-ipmi",
                str(self.dir),
                "--port",
                str(self.ports["ipmi"]),
                "--domain",
                self.domain,
            ],
            "vbmc.log",
            {_PASSWORD_ENV: password},
        )
        self._wait(
            "virtualbmc", lambda: self._procs[-1].poll() is None and _udp_bound(self.ports["ipmi"])
        )

    def _wait(self, what: str, ready: object) -> None:
        deadline = time.monotonic() + _READY
        while not ready():  # type: ignore[operator]
            if any(p.poll() is not None for p in self._procs) or time.monotonic() > deadline:
                raise InfrastructureError(f"{what} did not start; see {self.dir}")
            time.sleep(0.2)

    def _inventory_text(self, kind: str) -> str:
        p = self.ports
        url = (
            f"http://127.0.0.1:{p['redfish']}"
            if kind == "redfish"
            else f"ipmi://127.0.0.1:{p['ipmi']}"
        )
        return f"""# written by python -m harness.hardware.emulated up: the stand-in behind {kind}
backend = "hardware"
name = "emu-{kind}"
state_dir = "{self.dir / "state"}"
boot_marker = "HSGUEST READY"
boot_timeout = 600.0
console_timeout = 30.0
boot_device = "hdd"

[bmc]
timeout = 10.0
retries = 2

[reset]
policy = "reboot"
every = 1

[[machine]]
name = "{self.name}"
console = "tcp://127.0.0.1:{p["console"]}"
bmc = {{ kind = "{kind}", url = "{url}", user = "admin", password_file = "{self.password_file}" }}
ssh = {{ host = "127.0.0.1", port = {p["ssh"]}, host_key = "{self.image_dir / "host_key.pub"}" }}
capabilities = {{ build = "{_release(self.image_dir)}", tags = ["linux-standin", "emulated"] }}
"""

    def _save(self) -> None:
        state = RackState(domain=self.domain, pids=[p.pid for p in self._procs], ports=self.ports)
        (self.dir / "rack.json").write_bytes(msgspec.json.encode(state))

    # -- down ---------------------------------------------------------------------------
    def down(self) -> None:
        """Stop the emulators, destroy and undefine the domain; idempotent."""
        pids = [p.pid for p in self._procs]
        saved = self.dir / "rack.json"
        if saved.is_file():
            pids += msgspec.json.decode(saved.read_bytes(), type=RackState).pids
        for pid in set(pids):
            _stop(pid)
        for proc in self._procs:
            proc.wait(timeout=10)
        self._procs.clear()
        from harness.vm.connection import open_connection

        conn = open_connection(_URI, 60.0)
        try:
            self._undefine(conn)
        finally:
            conn.close()
        self.files.remove()
        saved.unlink(missing_ok=True)

    def _undefine(self, conn: object) -> None:
        import libvirt

        try:
            domain = conn.lookupByName(self.domain)  # type: ignore[attr-defined]
        except libvirt.libvirtError:
            return
        if domain.isActive():
            domain.destroy()
        domain.undefine()


def _release(image: Path) -> str:
    try:
        return str(msgspec.json.decode((image / "guest.json").read_bytes())["kernel_release"])
    except (OSError, KeyError, msgspec.DecodeError):
        return ""


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _udp_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True  # taken: the BMC listens
        return False


def _stop(pid: int) -> None:
    """SIGCONT (a test may have stopped it), then SIGTERM its session; SIGKILL after 5 s."""
    for sig in (signal.SIGCONT, signal.SIGTERM):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            return
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def serve_ipmi(port: int, domain: str) -> None:
    """virtualbmc's BMC for `domain` on loopback `port`, until killed (the password comes in
    the environment, never on the command line where `ps` shows it).

    pyghmi's BMC server answers every RMCP+ open-session request with cipher suite 3 (SHA-1),
    whatever was asked; pyghmi's client asks for suite 17 (SHA-256) first and, given a success,
    does not look at the algorithms in the answer, so the login fails on the hash length. A
    suite-3-only BMC refuses the request instead, and the client then asks for suite 3: that
    refusal is what this emulator adds."""
    from pyghmi.ipmi.private import serversession
    from virtualbmc.vbmc import VirtualBMC

    answer = serversession.ServerSession.create_open_session_response

    def suite_3_only(self: object, request: bytearray) -> bytearray:
        if request[12] != 1:  # authentication algorithm: only RAKP-HMAC-SHA1
            # status 4: invalid authentication algorithm; then the client's session id
            return bytearray([request[0], 4, 0, 0]) + request[4:8]
        return bytearray(answer(self, request))

    serversession.ServerSession.create_open_session_response = suite_3_only
    password = os.environ.pop(_PASSWORD_ENV)
    VirtualBMC("admin", password, port, "127.0.0.1", domain, _URI).listen(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m harness.hardware.emulated", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("action", choices=("up", "down", "serve-ipmi"))
    parser.add_argument("dir", type=Path)
    parser.add_argument("--image", default=DEFAULT_IMAGE)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--domain", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.action == "serve-ipmi":
        serve_ipmi(args.port, args.domain)
        return 0
    rack = EmulatedRack(args.dir, image=args.image)
    try:
        if args.action == "up":
            rack.up()
            print(rack.inventory("redfish"))
            print(rack.inventory("ipmi"))
        else:
            rack.down()
    except HarnessError as e:
        print(f"harness: {e}", file=sys.stderr)
        return e.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
