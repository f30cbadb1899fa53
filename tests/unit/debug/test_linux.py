"""Linux introspection over fake registers and memory: the IRQL analogue's mapping, the
current task and pid through per-CPU offsets, kallsyms parsing and the grep that fetches it."""

from __future__ import annotations

import re

import pytest

from harness.debug import linux
from harness.debug.btf import Btf
from harness.errors import DebuggerError, InputError

from .btfwriter import BtfWriter
from .test_windows import Cpu, q

PERCPU, USER_GS = 0xFFFF88800F600000, 0x7F0000001000
TASK = 0xFFFF888003A1C000
LAYOUT = linux.KernelLayout(current_task=0x1FB80, preempt_count=0x1FB40, task_pid=2416)
IF = linux.RFLAGS_IF


@pytest.mark.parametrize(
    ("count", "rflags", "level"),
    [
        (0, IF, 0),  # process context, preemptible
        (0x200, IF, 1),  # bottom halves disabled (SOFTIRQ_DISABLE_OFFSET)
        (0x100, IF, 1),  # serving a softirq
        (0x1, IF, 2),  # preempt_disable()
        (0x101, IF, 2),  # softirq with preemption off: the higher level wins
        (0x0, 0, 15),  # local_irq_disable()
        (0x10001, IF, 15),  # hard interrupt (IF is normally clear there too)
        (0x100000, IF, 15),  # NMI
    ],
)
def test_context_level_mapping(count: int, rflags: int, level: int) -> None:
    assert linux.context_level(count, rflags | 0x2) == level


def cpu(cs: int = 0x10, count: int = 0, rflags: int = 0x246) -> Cpu:
    gs = (
        {"gs_base": PERCPU, "k_gs_base": 0}
        if cs == 0x10
        else {"gs_base": USER_GS, "k_gs_base": PERCPU}
    )
    return Cpu(
        {"cs": cs, "eflags": rflags, **gs},
        {
            PERCPU + LAYOUT.current_task: q(TASK),
            PERCPU + LAYOUT.preempt_count: (count | linux.NEED_RESCHED).to_bytes(4, "little"),
            TASK + LAYOUT.task_pid: (143).to_bytes(4, "little"),
        },
    )


@pytest.mark.parametrize("cs", [0x10, 0x33])
def test_current_task_and_pid_in_kernel_and_user_mode(cs: int) -> None:
    stopped = cpu(cs)
    assert linux.percpu_base(stopped) == PERCPU
    assert linux.thread(stopped, stopped, LAYOUT) == (143, TASK)


def test_preempt_count_drops_the_inverted_need_resched_bit() -> None:
    stopped = cpu(count=0x101, rflags=0x202)
    assert linux.preempt_count(stopped, stopped, LAYOUT) == 0x101
    assert linux.irql(stopped, stopped, LAYOUT) == 2
    assert linux.irql(stopped, stopped, LAYOUT, count=0) == 0


def test_a_current_task_that_is_not_a_kernel_pointer_is_refused() -> None:
    stopped = cpu()
    stopped.memory[PERCPU + LAYOUT.current_task] = q(0x1234)
    with pytest.raises(DebuggerError, match=r"holds 0x1234, not a kernel address"):
        linux.current_task(stopped, stopped, LAYOUT)


KALLSYMS = """\
000000000001fb40 A __preempt_count
000000000001fb80 A current_task
ffffffff8c217040 T do_nanosleep
ffffffff8c217040 t do_nanosleep
ffffffffc056bbf0 t virtnet_poll\t[virtio_net]
ffffffffc0a01000 t hsp_routine_v1\t[hsprobe]
ffffffffc0b01000 t hsp_routine_v1\t[hsprobe2]
"""


def test_kallsyms_names_core_and_module_symbols() -> None:
    symbols = linux.parse_kallsyms(KALLSYMS)
    assert symbols["current_task"] == 0x1FB80
    assert symbols["virtio_net!virtnet_poll"] == 0xFFFFFFFFC056BBF0
    assert symbols["hsprobe!hsp_routine_v1"] != symbols["hsprobe2!hsp_routine_v1"]
    assert "virtnet_poll" not in symbols  # a module's symbol is always qualified


def test_the_kallsyms_grep_selects_exactly_the_named_lines() -> None:
    argv = linux.kallsyms_argv(["current_task", "hsprobe2!hsp_routine_v1"])
    assert argv[0] == "grep" and argv[-1] == "/proc/kallsyms"
    pattern = re.compile(argv[2])
    picked = [line for line in KALLSYMS.splitlines() if pattern.search(line)]
    assert picked == [
        "000000000001fb80 A current_task",
        "ffffffffc0b01000 t hsp_routine_v1\t[hsprobe2]",
    ]


def test_layout_from_6_1_percpu_variables_or_6_2_pcpu_hot() -> None:
    w = BtfWriter()
    i32, ptr = w.int("int", 4), w.int("unsigned long", 8)
    w.struct("task_struct", 4096, [("pid", i32, 2416 * 8)])
    w.struct("pcpu_hot", 64, [("current_task", ptr, 0), ("preempt_count", i32, 64)])
    btf = Btf(w.blob())
    old = linux.KernelLayout.resolve(linux.parse_kallsyms(KALLSYMS), btf)
    assert old == LAYOUT
    new = linux.KernelLayout.resolve({"pcpu_hot": 0x32C00}, btf)
    assert new == linux.KernelLayout(0x32C00, 0x32C08, 2416)
    with pytest.raises(InputError, match=r"kptr_restrict"):
        linux.KernelLayout.resolve({"do_nanosleep": 1}, btf)
