"""Register layouts from a gdbstub's target description (`qXfer:features:read:target.xml`).

Registers are numbered in document order, restarting wherever a `regnum` attribute says so.
Comments are stripped first: QEMU 7.2's i386-64bit.xml comments out cs_base..es_base, and a
parser that counts them numbers everything from fs_base on 4 too high.

Standard library only and Python 3.8 syntax: the debugger agent bundle ships this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from harness.debug.rsp import ProtocolError

__all__ = ["Register", "RegisterLayout", "includes", "parse_registers"]

_COMMENT = re.compile(r"<!--.*?-->", re.S)
_REG = re.compile(r"<reg\b([^>]*)>")
_ATTR = re.compile(r"([\w:-]+)\s*=\s*(\"[^\"]*\"|'[^']*')")
_INCLUDE = re.compile(r"<xi:include\b([^>]*)>")


class Register(NamedTuple):
    name: str
    regnum: int
    bitsize: int


def _attrs(text: str) -> dict[str, str]:
    return {key: value[1:-1] for key, value in _ATTR.findall(text)}


def includes(xml: str) -> list[str]:
    """The `xi:include` hrefs of a description, in order (comments ignored)."""
    return [_attrs(m.group(1)).get("href", "") for m in _INCLUDE.finditer(_COMMENT.sub("", xml))]


def _number(attrs: dict[str, str], key: str) -> int:
    text = attrs[key]
    if not text.isdigit() or len(text) > 6:
        raise ProtocolError(
            f"register {attrs.get('name', '?')!r} has {key}={text!r}, not a small decimal number"
        )
    return int(text)


def parse_registers(documents: list[str]) -> list[Register]:
    """Registers of a description given as its documents in include order."""
    regs: list[Register] = []
    regnum = 0
    for doc in documents:
        for match in _REG.finditer(_COMMENT.sub("", doc)):
            attrs = _attrs(match.group(1))
            if "regnum" in attrs:
                regnum = _number(attrs, "regnum")
            bitsize = _number(attrs, "bitsize") if "bitsize" in attrs else 0
            regs.append(Register(attrs.get("name", ""), regnum, bitsize))
            regnum += 1
    return regs


class RegisterLayout:
    """Registers by name, as a target description numbers them."""

    def __init__(self, registers: list[Register]) -> None:
        self.registers = registers
        self._by_name = {r.name: r for r in registers}

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[Register]:
        return iter(self.registers)

    def get(self, name: str) -> Register:
        try:
            return self._by_name[name]
        except KeyError:
            known = ", ".join(r.name for r in self.registers[:40])
            raise KeyError(f"the stub describes no register {name!r}; it has {known}") from None
