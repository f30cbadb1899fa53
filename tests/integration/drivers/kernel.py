"""One boot of the test guest's kernel (vm/testguest) with the stand-in modules: a throwaway
initramfs holds busybox, drivers/dist/linux and a shell script of cases; the serial console
carries each case's trace between `HSPCASE name` and `HSPEND name` lines. Plain QEMU, TCG, no
network: it proves hsproxy.ko's semantics on a real kernel, not the lab transport (the
stand-in guest's tests do that)."""

from __future__ import annotations

import gzip
import io
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from harness.contract.jsonl import read_trace
from harness.contract.trace import Header, Record

ROOT = Path(__file__).resolve().parents[3]
_CASE = re.compile(r"^HSPCASE (\S+)\n(.*?)^HSPEND \1$", re.M | re.S)

INIT = """#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
sh /cases.sh 2>&1
echo HSPDONE
poweroff -f
"""

#: shell helpers the cases use: load the modules with hsproxy parameters, end a case
PRELUDE = """C=/hsp/hsprobectl
load() { insmod /hsp/hsproxy.ko "$@" && insmod /hsp/hsprobe.ko; }
begin() { echo "HSPCASE $1"; }
end() {
    $C unload >/dev/null; rmmod hsproxy
    $C trace --scenario "$1" | grep '^{'; echo "HSPEND $1"
}
"""


def _cpio(root: Path) -> bytes:
    files = subprocess.run(
        "find . | cpio -o -H newc --quiet", shell=True, cwd=root, capture_output=True, check=True
    ).stdout
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1) as gz:
        gz.write(files)
    return out.getvalue()


def boot(guest: Path, dist: Path, cases: str, timeout: float = 600.0) -> str:
    """Runs `cases` (shell, after PRELUDE) in the guest kernel; returns the console text."""
    with tempfile.TemporaryDirectory(prefix="hsproxy-") as tmp:
        root = Path(tmp) / "root"
        for sub in ("bin", "dev", "proc", "sys", "tmp", "hsp"):
            (root / sub).mkdir(parents=True)
        shutil.copy("/bin/busybox", root / "bin" / "busybox")
        for item in dist.iterdir():
            shutil.copy(item, root / "hsp" / item.name)
        (root / "init").write_text(INIT)
        (root / "init").chmod(0o755)
        (root / "cases.sh").write_text(PRELUDE + cases)
        initrd = Path(tmp) / "initrd.img"
        initrd.write_bytes(_cpio(root))
        proc = subprocess.run(
            [
                "qemu-system-x86_64",
                "-accel",
                "tcg",
                "-m",
                "512",
                "-smp",
                "2",
                "-display",
                "none",
                "-monitor",
                "none",
                "-nodefaults",
                "-no-reboot",
                "-serial",
                "stdio",
                "-kernel",
                str(guest / "vmlinuz"),
                "-initrd",
                str(initrd),
                "-append",
                "console=ttyS0 nokaslr no_timer_check panic=-1 oops=panic quiet loglevel=3",
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    text = proc.stdout.decode(errors="replace").replace("\r", "")
    if "HSPDONE" not in text:
        raise RuntimeError(
            f"the guest did not finish its cases (qemu {proc.returncode}):\n{text[-3000:]}"
        )
    return text


def traces(console: str) -> dict[str, tuple[Header, list[Record]]]:
    """Each case's trace, parsed as `harness check` parses a file."""
    out: dict[str, tuple[Header, list[Record]]] = {}
    for name, body in _CASE.findall(console):
        lines = "".join(line + "\n" for line in body.splitlines() if line.startswith("{"))
        header, records = read_trace(io.BytesIO(lines.encode()), path=name)
        out[name] = (header, list(records))
    return out
