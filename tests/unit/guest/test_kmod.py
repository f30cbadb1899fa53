"""Module loading in a guest: each way insmod fails is one error naming the cause the kernel
logged, over a scripted runner holding what busybox insmod and the kernel really print."""

from __future__ import annotations

import pytest

from harness.errors import InfrastructureError, InputError
from harness.guest.kmod import explain_load_failure, insmod, module_name, rmmod
from harness.guest.ssh import CommandResult

RT = "6.1.0-57-rt-amd64 SMP preempt_rt mod_unload modversions "
CLOUD = "6.1.0-57-cloud-amd64 SMP preempt mod_unload modversions "
PATH = "/lib/modules/6.1.0-57-cloud-amd64/extra/hsproxy.ko"


class Runner:
    def __init__(self, *answers: CommandResult) -> None:
        self.answers = list(answers)
        self.calls: list[list[str]] = []

    def run(
        self,
        argv: list[str],
        *,
        timeout: float | None = None,
        check: bool = True,
        stdin: bytes = b"",
    ) -> CommandResult:
        self.calls.append(argv)
        return self.answers.pop(0)


def failed(status: int, stderr: str) -> CommandResult:
    return CommandResult(status, b"", stderr.encode())


def test_module_names_follow_the_kernel() -> None:
    assert module_name("/x/pvpanic-pci.ko") == "pvpanic_pci"
    assert module_name("hsprobe2.ko") == "hsprobe2"


def test_a_module_for_another_kernel_names_the_kernels_reason() -> None:
    dmesg = (
        f"[    4.37] IPv6: eth0: link becomes ready\n"
        f"[  165.74] hsproxy: version magic '{RT}' should be '{CLOUD}'\n"
        f"[  165.75] hsproxy: version magic '{RT}' should be '{CLOUD}'\n"
    )
    runner = Runner(
        failed(8, f"insmod: can't insert '{PATH}': invalid module format\n"),
        CommandResult(0, dmesg.encode(), b""),
    )
    with pytest.raises(InputError) as caught:
        insmod(runner, PATH, ["feature=enabled"])
    message = str(caught.value)
    assert message.startswith(
        f"{PATH} was built for another kernel: the kernel says hsproxy: version magic '{RT}'"
    )
    assert message.count("version magic") == 1  # a repeated log line is said once
    assert "make -C drivers linux" in message
    assert runner.calls == [["insmod", PATH, "feature=enabled"], ["dmesg"]]


@pytest.mark.parametrize(
    ("stderr", "dmesg", "expected"),
    [
        (
            f"insmod: can't insert '{PATH}': No such file or directory",
            "",
            r"the guest has no .*hsproxy.ko .*vm/standin/build",
        ),
        (
            f"insmod: can't insert '{PATH}': File exists",
            "",
            r"hsproxy is loaded already; unload it first \(rmmod hsproxy\)",
        ),
        (
            "insmod: can't insert 'hsprobe.ko': unknown symbol in module, or unknown parameter",
            "[ 9.1] hsprobe: Unknown symbol hsp_proxy_register (err -2)",
            r"needs symbols no loaded module exports: the kernel says hsprobe: Unknown symbol "
            r"hsp_proxy_register \(err -2\); load .*hsproxy before hsprobe",
        ),
        (
            "insmod: can't insert 'hsprobe.ko': Device or resource busy",
            "[ 9.1] hsprobe: DriverProxy extension taken",
            r"insmod hsprobe.ko failed \(.*busy\): the kernel says hsprobe: DriverProxy",
        ),
    ],
)
def test_other_refusals_name_the_cause(stderr: str, dmesg: str, expected: str) -> None:
    path = PATH if "hsproxy" in stderr else "hsprobe.ko"
    with pytest.raises(InfrastructureError, match=expected):
        raise explain_load_failure(path, 1, stderr, dmesg)


def test_success_reads_no_log_and_rmmod_reports_failure() -> None:
    runner = Runner(CommandResult(0, b"", b""))
    insmod(runner, PATH)
    assert runner.calls == [["insmod", PATH]]
    with pytest.raises(InfrastructureError, match=r"rmmod hsprobe failed: rmmod: can't unload"):
        rmmod(Runner(failed(1, "rmmod: can't unload module 'hsprobe': Resource busy")), "hsprobe")
