"""Encodes small BTF blobs for the reader's tests, field by field as Documentation/bpf/btf.rst
lays them out, so the reader is checked against the format rather than against itself."""

from __future__ import annotations

import struct

INT, PTR, ARRAY, STRUCT, UNION, ENUM, TYPEDEF, CONST, FUNC_PROTO = 1, 2, 3, 4, 5, 6, 8, 10, 13


class BtfWriter:
    def __init__(self) -> None:
        self.strings = bytearray(b"\0")
        self.types = bytearray()
        self.count = 0

    def name(self, text: str) -> int:
        if not text:
            return 0
        at = len(self.strings)
        self.strings += text.encode() + b"\0"
        return at

    def _type(
        self, name: str, kind: int, vlen: int, size: int, tail: bytes = b"", kind_flag: int = 0
    ) -> int:
        info = kind_flag << 31 | kind << 24 | vlen
        self.types += struct.pack("<III", self.name(name), info, size) + tail
        self.count += 1
        return self.count

    def int(self, name: str, size: int) -> int:
        return self._type(name, INT, 0, size, struct.pack("<I", size * 8))

    def pointer(self, target: int) -> int:
        return self._type("", PTR, 0, target)

    def typedef(self, name: str, target: int) -> int:
        return self._type(name, TYPEDEF, 0, target)

    def const(self, target: int) -> int:
        return self._type("", CONST, 0, target)

    def array(self, element: int, index: int, count: int) -> int:
        return self._type("", ARRAY, 0, 0, struct.pack("<III", element, index, count))

    def enum(self, name: str, values: dict[str, int]) -> int:
        tail = b"".join(struct.pack("<Ii", self.name(k), v) for k, v in values.items())
        return self._type(name, ENUM, len(values), 4, tail)

    def proto(self, returns: int, params: list[int]) -> int:
        tail = b"".join(struct.pack("<II", 0, p) for p in params)
        return self._type("", FUNC_PROTO, len(params), returns, tail)

    def struct(
        self,
        name: str,
        size: int,
        members: list[tuple[str, int, int]],
        union: bool = False,
        bitfields: bool = False,
    ) -> int:
        """members: (name, type id, bit offset); with bitfields, offsets carry a size."""
        tail = b"".join(struct.pack("<III", self.name(n), t, o) for n, t, o in members)
        return self._type(
            name, UNION if union else STRUCT, len(members), size, tail, kind_flag=int(bitfields)
        )

    def blob(self, magic: int = 0xEB9F) -> bytes:
        header = struct.pack(
            "<HBBIIIII", magic, 1, 0, 24, 0, len(self.types), len(self.types), len(self.strings)
        )
        return header + bytes(self.types) + bytes(self.strings)
