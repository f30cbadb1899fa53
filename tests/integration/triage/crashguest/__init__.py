"""The crash guest: the test guest's kernel crashed on purpose by hscrash.ko (see build), booted
through the real libvirt pool and captured with harness.triage.capture.

    python -m tests.integration.triage.crashguest tests/unit/triage/golden/linux
refreshes the Linux golden console logs from real crashes.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from harness.triage.capture import capture
from harness.triage.crashdir import CrashInfo
from harness.vm.config import DEFAULT_STATE_DIR, PoolConfig
from harness.vm.libvirt import LibvirtPool

HERE = Path(__file__).resolve().parent
IMAGES = DEFAULT_STATE_DIR / "images" / "triage-crashguest"
MODES = ("null", "bug", "hung", "panic", "sysrq")
#: the kernel's last words before it stops (panic=0 keeps it spinning for the dump)
END = r"---\[ end Kernel panic"


def build(*modes: str) -> Path:
    done = subprocess.run(
        [str(HERE / "build"), str(IMAGES), *modes], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"crash guest build failed:\n{done.stderr}")
    return IMAGES


def crash_once(
    config: PoolConfig, directory: Path, scenario: str, timeout: float = 600.0
) -> CrashInfo:
    """Boot the pool's image, wait for its panic on the console, capture it to `directory`."""
    with LibvirtPool(config) as pool:
        machine = pool.lease()
        machine.boot()
        mark = 0
        machine.console.wait_for(END, timeout, since=mark)
        return capture(
            machine,
            directory,
            scenario=scenario,
            profile="linux",
            detected_by="console",
            guest_build="testguest",
            console_since=mark,
        )


def main(argv: list[str]) -> int:
    from harness.vm.config import parse_pool_config

    out = Path(argv[0])
    out.mkdir(parents=True, exist_ok=True)
    modes = argv[1:] or list(MODES)
    images = build(*modes)
    for mode in modes:
        config = parse_pool_config(
            {
                "image": str(images / mode),
                "name": f"trg{mode}",
                "boot_timeout": 600.0,
                "accel": "tcg",
            },
            "goldens",
        )
        crash_dir = out / f"{mode}.crash"
        crash_once(config, crash_dir, mode)
        text = (crash_dir / "console.log").read_text()
        start = re.search(r"^.*hscrash: mode=|^.*sysrq: Trigger a crash", text, re.M)
        (out / f"{mode}.console").write_text(text[start.start() if start else 0 :])
        print(f"{mode}: {crash_dir}")
    return 0
