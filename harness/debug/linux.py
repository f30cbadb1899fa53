"""x86-64 Linux kernel introspection over any register and memory source, the counterpart of
`harness.debug.windows` for the Linux stand-in: the current task and its pid, the per-CPU
preemption count, and the IRQL analogue the stand-in's telemetry records, read from a
stopped CPU; kernel and module symbols from the guest's /proc/kallsyms.

Nothing is hard-coded per kernel build: per-CPU variables come from kallsyms (with
CONFIG_KALLSYMS_ABSOLUTE_PERCPU they are offsets into each CPU's area, listed as `A`), and
structure offsets from the kernel's own BTF (`harness.debug.btf`). Kernels from 6.2 on keep
`current_task` and `preempt_count` in the per-CPU `pcpu_hot` structure; 6.1 has them as
per-CPU variables of their own. Both are read.

The IRQL analogue (the mapping the stand-in's hsproxy records on routine entry and exit):

    15  interrupts off (RFLAGS.IF clear) or in hard interrupt / NMI context
     2  preemption disabled (preempt_count's PREEMPT bits)
     1  in a softirq or with bottom halves disabled (its SOFTIRQ bits)
     0  preemptible, interrupts on

Standard library only and Python 3.8 syntax, as the debugger agent bundle requires.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from harness.errors import DebuggerError, InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from harness.debug import Memory
    from harness.debug.btf import Btf
    from harness.debug.windows import Registers

__all__ = [
    "IRQS_OFF",
    "PERCPU_SYMBOLS",
    "PREEMPTIBLE",
    "PREEMPT_OFF",
    "SOFTIRQ",
    "KernelLayout",
    "context_level",
    "current_task",
    "irql",
    "kallsyms_argv",
    "parse_kallsyms",
    "percpu_base",
    "preempt_count",
    "task_pid",
    "thread",
]

PREEMPTIBLE, SOFTIRQ, PREEMPT_OFF, IRQS_OFF = 0, 1, 2, 15
# include/linux/preempt.h
PREEMPT_MASK, SOFTIRQ_MASK, HARDIRQ_MASK, NMI_MASK = 0xFF, 0xFF00, 0xF0000, 0xF00000
#: x86 keeps PREEMPT_NEED_RESCHED inverted in bit 31 of __preempt_count: not a count
NEED_RESCHED = 0x80000000
#: RFLAGS.IF, the interrupt enable flag
RFLAGS_IF = 1 << 9
_KALLSYMS = re.compile(r"^([0-9a-fA-F]+) (\w) (\S+)(?:\t\[(\S+)\])?$", re.M)


def context_level(count: int, rflags: int) -> int:
    """The IRQL analogue of a CPU whose preempt_count() is `count` and RFLAGS `rflags`."""
    if not rflags & RFLAGS_IF or count & (HARDIRQ_MASK | NMI_MASK):
        return IRQS_OFF
    if count & PREEMPT_MASK:
        return PREEMPT_OFF
    if count & SOFTIRQ_MASK:
        return SOFTIRQ
    return PREEMPTIBLE


def percpu_base(regs: Registers) -> int:
    """This CPU's per-CPU area. In kernel mode (CS RPL 0) GS points at it; in user mode the
    kernel's GS base waits in IA32_KERNEL_GS_BASE until the next swapgs."""
    if regs.register("cs") & 3 == 0:
        return regs.register("gs_base")
    return regs.register("k_gs_base")


def parse_kallsyms(text: str) -> dict[str, int]:
    """`name` (the kernel's) or `module!name` to address, from /proc/kallsyms lines. The first
    of equal names wins (static functions of one name in several files are ambiguous)."""
    found: dict[str, int] = {}
    for address, _kind, name, module in _KALLSYMS.findall(text):
        found.setdefault(f"{module}!{name}" if module else name, int(address, 16))
    return found


def kallsyms_argv(names: Sequence[str]) -> list[str]:
    """A command printing the kallsyms lines of `names` (`name` or `module!name`), so the
    guest sends a few lines rather than all of /proc/kallsyms."""
    patterns = []
    for name in names:
        module, sep, symbol = name.partition("!")
        patterns.append(
            f" {re.escape(symbol)}\t\\[{re.escape(module)}\\]$" if sep else f" {re.escape(name)}$"
        )
    return ["grep", "-E", "|".join(patterns), "/proc/kallsyms"]


class KernelLayout(NamedTuple):
    """Where this kernel build keeps what the introspection reads (all byte offsets)."""

    current_task: int
    """Per-CPU offset of the current task pointer."""
    preempt_count: int
    """Per-CPU offset of the preemption count."""
    task_pid: int
    """task_struct.pid."""

    @classmethod
    def resolve(cls, symbols: dict[str, int], btf: Btf) -> KernelLayout:
        """From kallsyms (`parse_kallsyms` of at least current_task, __preempt_count or
        pcpu_hot) and the kernel's BTF."""
        if "pcpu_hot" in symbols:  # 6.2 and later
            hot = symbols["pcpu_hot"]
            current = hot + btf.offset("pcpu_hot", "current_task")
            count = hot + btf.offset("pcpu_hot", "preempt_count")
        elif "current_task" in symbols and "__preempt_count" in symbols:
            current, count = symbols["current_task"], symbols["__preempt_count"]
        else:
            raise InputError(
                "kallsyms lists neither pcpu_hot nor current_task and "
                "__preempt_count; is kptr_restrict hiding them (read it as root)?"
            )
        return cls(current, count, btf.offset("task_struct", "pid"))


PERCPU_SYMBOLS = ("pcpu_hot", "current_task", "__preempt_count")


def _read_int(memory: Memory, address: int, size: int) -> int:
    return int.from_bytes(memory.read(address, size), "little")


def current_task(regs: Registers, memory: Memory, layout: KernelLayout) -> int:
    """Address of the task_struct running on the stopped CPU."""
    task = _read_int(memory, percpu_base(regs) + layout.current_task, 8)
    if task >> 47 != 0x1FFFF:
        raise DebuggerError(
            f"the per-CPU current task holds {task:#x}, not a kernel address: is this an "
            "x86-64 Linux guest, and do the per-CPU offsets come from its own kallsyms?"
        )
    return task


def task_pid(memory: Memory, task: int, layout: KernelLayout) -> int:
    """task_struct.pid: the thread id (what the stand-in records as the thread)."""
    return _read_int(memory, task + layout.task_pid, 4)


def preempt_count(regs: Registers, memory: Memory, layout: KernelLayout) -> int:
    """preempt_count() of the stopped CPU (the inverted need-resched bit masked off)."""
    return _read_int(memory, percpu_base(regs) + layout.preempt_count, 4) & ~NEED_RESCHED


def thread(regs: Registers, memory: Memory, layout: KernelLayout) -> tuple[int, int]:
    """(pid, task_struct address) of the task on the stopped CPU."""
    task = current_task(regs, memory, layout)
    return task_pid(memory, task, layout), task


def irql(regs: Registers, memory: Memory, layout: KernelLayout, count: int | None = None) -> int:
    """The IRQL analogue of the interrupted code (see the module docstring)."""
    if count is None:
        count = preempt_count(regs, memory, layout)
    return context_level(count, regs.register("eflags"))
