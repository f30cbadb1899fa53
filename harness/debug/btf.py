"""A reader for the BPF Type Format (BTF) a Linux kernel describes its own types in
(`/sys/kernel/btf/vmlinux`, or the `.BTF` section of vmlinux): structure member offsets by
name, so debugger introspection reads `task_struct.pid` where this kernel build put it
instead of where one build once had it. Pure: bytes in, offsets out.

Format: Documentation/bpf/btf.rst in the kernel sources. A 24-byte header (magic 0xEB9F,
version 1) gives the type and string sections; every type is a 12-byte `btf_type`
(name offset, info: kind in bits 24-28, member count in bits 0-15, kind_flag in bit 31;
size or type) followed by a kind-specific tail. Type ids count from 1 (0 is void).
"""

from __future__ import annotations

import struct

from harness.errors import InputError

__all__ = ["Btf", "Member"]

_HEADER = struct.Struct("<HBBIIIII")
_TYPE = struct.Struct("<III")
_MAGIC = 0xEB9F
_STRUCT, _UNION, _TYPEDEF, _VOLATILE, _CONST, _RESTRICT, _TYPE_TAG = 4, 5, 8, 9, 10, 11, 18
# bytes after the 12-byte btf_type: fixed by kind, or per member (times vlen)
_FIXED = {1: 4, 3: 12, 14: 4, 17: 4}
_PER_MEMBER = {4: 12, 5: 12, 6: 8, 13: 8, 15: 12, 19: 12}
_MAX_KIND = 19


class Member:
    """A structure member: its byte offset in the outermost structure and its type id."""

    def __init__(self, offset: int, type_id: int) -> None:
        self.offset, self.type_id = offset, type_id


class Btf:
    """The types of one BTF blob, indexed once; `offset("task_struct", "pid")` in bytes."""

    def __init__(self, data: bytes, source: str = "<btf>") -> None:
        self.source = source
        if len(data) < _HEADER.size:
            raise InputError("too short for a BTF header", path=source)
        magic, version, _flags, hdr_len, type_off, type_len, str_off, str_len = _HEADER.unpack_from(
            data
        )
        if magic != _MAGIC or version != 1:
            raise InputError(
                f"not BTF (magic {magic:#x}, version {version}); pass the "
                "kernel's /sys/kernel/btf/vmlinux",
                path=source,
            )
        base = hdr_len
        if base + max(type_off + type_len, str_off + str_len) > len(data):
            raise InputError("truncated: the header names sections past the end", path=source)
        self._strings = data[base + str_off : base + str_off + str_len]
        # per type id: kind, member count, size-or-type, where its tail starts, kind_flag
        self._types: list[tuple[int, int, int, int, int]] = [(0, 0, 0, 0, 0)]
        self._names: dict[tuple[int, str], int] = {}
        self._data = data
        self._index(base + type_off, base + type_off + type_len)

    def _index(self, at: int, end: int) -> None:
        while at < end:
            name_off, info, size = _TYPE.unpack_from(self._data, at)
            kind, vlen = (info >> 24) & 0x1F, info & 0xFFFF
            if not 1 <= kind <= _MAX_KIND:
                raise InputError(f"unknown BTF kind {kind} at byte {at}", path=self.source)
            self._types.append((kind, vlen, size, at + _TYPE.size, info >> 31))
            if kind in (_STRUCT, _UNION) and name_off:
                self._names.setdefault((kind, self._string(name_off)), len(self._types) - 1)
            at += _TYPE.size + _FIXED.get(kind, 0) + _PER_MEMBER.get(kind, 0) * vlen

    def _string(self, offset: int) -> str:
        end = self._strings.index(b"\0", offset)
        return self._strings[offset:end].decode("ascii", "replace")

    def struct(self, name: str) -> int:
        """The type id of `struct NAME` (or `union NAME`)."""
        for kind in (_STRUCT, _UNION):
            if (kind, name) in self._names:
                return self._names[(kind, name)]
        raise InputError(f"this kernel's BTF has no struct {name}", path=self.source)

    def _resolve(self, type_id: int) -> int:
        """Strip typedefs and qualifiers down to the type they name."""
        while self._types[type_id][0] in (_TYPEDEF, _VOLATILE, _CONST, _RESTRICT, _TYPE_TAG):
            type_id = self._types[type_id][2]
        return type_id

    def _find(self, type_id: int, member: str) -> Member | None:
        """`member` of a struct/union, looking through anonymous members (offsets add up)."""
        kind, vlen, _size, at, kind_flag = self._types[self._resolve(type_id)]
        if kind not in (_STRUCT, _UNION):
            return None
        for i in range(vlen):
            name_off, member_type, bits = _TYPE.unpack_from(self._data, at + 12 * i)
            bit_offset = bits & 0xFFFFFF if kind_flag else bits
            if name_off and self._string(name_off) == member:
                return Member(bit_offset // 8, member_type)
            if not name_off:
                inner = self._find(member_type, member)
                if inner is not None:
                    return Member(bit_offset // 8 + inner.offset, inner.type_id)
        return None

    def offset(self, struct: str, path: str) -> int:
        """Byte offset of `path` (`pid`, or `thread.sp` through nested members) in `struct`."""
        type_id, total = self.struct(struct), 0
        for member in path.split("."):
            found = self._find(type_id, member)
            if found is None:
                raise InputError(f"struct {struct} has no member {path}", path=self.source)
            total += found.offset
            type_id = found.type_id
        return total
