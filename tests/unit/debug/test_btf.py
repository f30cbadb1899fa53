"""The BTF reader: member offsets through typedefs, anonymous members and bitfield-flagged
structs, on blobs encoded from the format's description; one clear error for bad input."""

from __future__ import annotations

import pytest

from harness.debug.btf import Btf
from harness.errors import InputError

from .btfwriter import BtfWriter


def task_btf() -> bytes:
    """A task_struct shaped like 6.1's where it matters: pid after padding, inside nothing;
    tgid inside an anonymous union of an anonymous struct; a nested named struct."""
    w = BtfWriter()
    i32 = w.int("int", 4)
    pid_t = w.typedef("pid_t", w.const(i32))
    ulong = w.int("unsigned long", 8)
    w.enum("state", {"RUNNING": 0, "SLEEPING": 1})
    w.proto(i32, [ulong, ulong])
    w.array(i32, i32, 16)
    thread = w.struct("thread_struct", 16, [("ip", ulong, 0), ("sp", ulong, 64)])
    inner = w.struct("", 8, [("tgid", pid_t, 32)])
    anon = w.struct("", 8, [("spare", ulong, 0), ("", inner, 0)], union=True)
    w.struct(
        "task_struct",
        128,
        [
            ("__state", i32, 0),
            ("pid", pid_t, 2416 * 8),
            ("", anon, 2432 * 8),
            ("thread", thread, 5320 * 8),
        ],
    )
    w.struct("flags_struct", 8, [("a", i32, 3 << 24 | 0), ("b", i32, 5 << 24 | 35)], bitfields=True)
    return w.blob()


def test_offsets_through_typedefs_anonymous_members_and_nested_structs() -> None:
    btf = Btf(task_btf())
    assert btf.offset("task_struct", "pid") == 2416
    assert btf.offset("task_struct", "tgid") == 2432 + 4
    assert btf.offset("task_struct", "thread.sp") == 5320 + 8


def test_bitfield_structs_keep_the_offset_in_the_low_24_bits() -> None:
    assert Btf(task_btf()).offset("flags_struct", "b") == 4


def test_a_missing_struct_or_member_is_named() -> None:
    btf = Btf(task_btf(), "vmlinux.btf")
    with pytest.raises(InputError, match=r"vmlinux.btf: this kernel's BTF has no struct pcpu_hot"):
        btf.offset("pcpu_hot", "current_task")
    with pytest.raises(InputError, match=r"struct task_struct has no member thread.fs"):
        btf.offset("task_struct", "thread.fs")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x9f\xeb", "too short for a BTF header"),
        (BtfWriter().blob(magic=0x7F45), r"not BTF \(magic 0x7f45.*/sys/kernel/btf/vmlinux"),
        (task_btf()[:-40], "truncated"),
    ],
)
def test_bad_blobs_are_one_clear_error(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        Btf(data, "x.btf")
