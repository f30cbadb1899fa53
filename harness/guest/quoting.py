"""Quoting of remote command lines for POSIX sh, cmd.exe and PowerShell, so that no file
name or argument can end one command and start another.

- sh: `shlex.quote`.
- cmd.exe: each argument quoted for CommandLineToArgvW (the MSVC runtime's parser), then
  every cmd metacharacter of the whole line escaped with `^`. Percent signs stay literal on
  a `cmd /c` line because `%NAME^%` names no variable. See "Everyone quotes command line
  arguments the wrong way" (Daniel Colascione, MSDN blogs, 2011).
- PowerShell: single-quoted literals, doubling every character PowerShell treats as a single
  quote (ASCII ' and U+2018..U+201B), invoked with the call operator `&`.

Line breaks and NUL cannot be passed through any of these safely and are refused.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

__all__ = ["CMD_META", "SHELLS", "argv_quote", "cmd_line", "powershell_line", "quote_line"]

CMD_META = '()%!^"<>&|'
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"
_FORBIDDEN = re.compile(r"[\x00\r\n]")
SHELLS = ("sh", "cmd", "powershell")


def _check(arg: str) -> str:
    if _FORBIDDEN.search(arg):
        raise ValueError(f"argument {arg[:40]!r} contains a line break or NUL")
    return arg


def argv_quote(arg: str) -> str:
    """One argument as CommandLineToArgvW reads it back unchanged."""
    _check(arg)
    if arg and not re.search(r'[\s"]', arg):
        return arg
    out = ['"']
    backslashes = 0
    for ch in arg:
        if ch == "\\":
            backslashes += 1
            continue
        if ch == '"':
            out.append("\\" * (2 * backslashes + 1) + '"')
        else:
            out.append("\\" * backslashes + ch)
        backslashes = 0
    out.append("\\" * (2 * backslashes) + '"')
    return "".join(out)


def cmd_line(argv: Sequence[str]) -> str:
    """A cmd.exe command line running argv[0] with arguments argv[1:] literally."""
    line = " ".join(argv_quote(a) for a in argv)
    return "".join("^" + ch if ch in CMD_META else ch for ch in line)


def _ps_literal(arg: str) -> str:
    _check(arg)
    return "'" + "".join(ch * 2 if ch in _PS_QUOTES else ch for ch in arg) + "'"


def powershell_line(argv: Sequence[str]) -> str:
    """A PowerShell command invoking argv[0] with literal arguments argv[1:]."""
    return "& " + " ".join(_ps_literal(a) for a in argv)


def quote_line(argv: Sequence[str], shell: str) -> str:
    """argv as one command line for `shell` (sh, cmd or powershell)."""
    if not argv:
        raise ValueError("empty command")
    if shell == "sh":
        return " ".join(shlex.quote(_check(a)) for a in argv)
    if shell == "cmd":
        return cmd_line(argv)
    if shell == "powershell":
        return powershell_line(argv)
    raise ValueError(f"unknown shell {shell!r}; expected one of {', '.join(SHELLS)}")
