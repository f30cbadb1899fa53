"""Bench-only: the stand-in image with a command agent on a virtio-serial port, to measure
that channel against an SSH reconnect after a revert (bench_lab.py). Not a product channel.

The variant appends a second initramfs archive to the stand-in's (the kernel unpacks both):
virtio_console.ko from the guest kernel's own package and /vinit, which mounts devtmpfs,
starts a shell loop on the port named hs.0 (`ID BASE64-COMMAND` in, `ID STATUS BASE64-OUTPUT`
out) and then runs the stand-in's /init. A template extending linux-standin adds the port.
"""

from __future__ import annotations

import base64
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
AGENT = r"""#!/bin/busybox sh
/bin/busybox mkdir -p /dev
/bin/busybox mount -t devtmpfs devtmpfs /dev
(
  /bin/busybox sleep 2
  /bin/busybox insmod /virtio_console.ko
  /bin/busybox sleep 1
  for d in /sys/class/virtio-ports/*; do
    [ "$(/bin/busybox cat $d/name)" = hs.0 ] && port=/dev/${d##*/}
  done
  while true; do
    while IFS= read -r line <&3; do
      id=${line%% *}; cmd=${line#* }
      out=$(echo "$cmd" | /bin/busybox base64 -d | /bin/busybox sh 2>&1); rc=$?
      printf '%s %s %s\n' "$id" "$rc" "$(printf %s "$out" | /bin/busybox base64 -w 0)" >&3
    done 3<>$port
    /bin/busybox sleep 0.1
  done
) &
exec /init
"""
TEMPLATE = """{% extends "linux-standin-base.xml.j2" %}
{% block devices %}{{ super() }}
    <channel type='unix'>
      <source mode='bind' path='{{ workdir }}/hs.sock'/>
      <target type='virtio' name='hs.0'/>
    </channel>
{%- endblock %}
"""


def vport_image(image: Path, tmp: Path) -> tuple[Path, str]:
    """(image directory, template directory) of the variant, built under `tmp`."""
    release = (image / "guest.json").read_text().split('"kernel_release": "')[1].split('"')[0]
    variant = tmp / "vport-image"
    shutil.copytree(image, variant)
    variant.chmod(0o755)
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(
            ["apt-get", "download", f"linux-image-{release}"],
            cwd=work,
            check=True,
            capture_output=True,
        )
        deb = next(Path(work).glob("*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), f"{work}/root"], check=True)
        extra = Path(work, "extra")
        extra.mkdir()
        module = next(Path(work, "root").rglob("virtio_console.ko"))
        shutil.copy(module, extra / "virtio_console.ko")
        (extra / "vinit").write_text(AGENT)
        (extra / "vinit").chmod(0o755)
        archive = subprocess.run(
            "find . | cpio -o -H newc -R 0:0 --quiet | gzip -1",
            shell=True,
            cwd=extra,
            check=True,
            capture_output=True,
        ).stdout
    with (variant / "initrd.img").open("ab") as f:
        f.write(archive)
    cmdline = (variant / "cmdline").read_text().strip()
    (variant / "cmdline").write_text(f"{cmdline} rdinit=/vinit\n")
    templates = tmp / "templates"
    shutil.copytree(REPO / "vm/templates", templates)
    (templates / "linux-standin.xml.j2").rename(templates / "linux-standin-base.xml.j2")
    (templates / "linux-standin.xml.j2").write_text(TEMPLATE)
    return variant, str(templates)


class VportChannel:
    """The host side: a unix socket QEMU connects to the guest's port."""

    def __init__(self, path: Path) -> None:
        self.path, self.count, self.buffer = path, 0, b""
        self.sock: socket.socket | None = None

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX)
                self.sock.connect(str(self.path))
                self.sock.settimeout(5)
                self.run("true")
                self.sock.settimeout(60)
                return
            except OSError:
                if self.sock is not None:
                    self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def run(self, command: str) -> tuple[int, bytes]:
        assert self.sock is not None
        self.count += 1
        ident = f"r{self.count}"
        self.sock.sendall(f"{ident} {base64.b64encode(command.encode()).decode()}\n".encode())
        while True:
            while b"\n" not in self.buffer:
                chunk = self.sock.recv(65536)
                if not chunk:
                    raise ConnectionError("the port closed")
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\n", 1)
            parts = line.decode().split(" ")
            if parts[0] == ident:  # a reply from before a revert carries an older id
                return int(parts[1]), base64.b64decode(parts[2] if len(parts) > 2 else "")

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
