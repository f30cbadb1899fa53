"""Quoting of remote command lines for POSIX sh, cmd.exe and PowerShell, so that no file
name or argument can end one command and start another. Each function targets exactly one
grammar, stated here; tests/unit/guest holds a model of each and checks every line against it.

`quote_line(argv, "sh")` - the POSIX shell command language (XCU 2.2 Quoting), which is how
OpenSSH's sshd runs an exec request: `$SHELL -c LINE`. Every argument is one single-quoted
word (`shlex.quote`); nothing inside single quotes is special.

`cmd_line(argv)` - cmd.exe's command-line grammar as OpenSSH for Windows feeds it: sshd runs
`cmd.exe /c "LINE"` (Win32-OpenSSH, contrib/win32/win32compat/w32-doexec.c), and cmd's /c
rule (`cmd /?`) strips that outer pair of quotes because LINE always holds more than two
quote characters. cmd then parses LINE in the phases "How does the Windows Command
Interpreter (CMD.EXE) parse scripts?" (Stack Overflow 4094699) describes for the command
line, with command extensions on and delayed expansion off (cmd's defaults):
  1. percent expansion, before and regardless of quoting: `%NAME%`, `%NAME:~n,m%` and
     `%NAME:a=b%` (so `%CMDCMDLINE:^=%` is the whole line with its carets removed); an
     undefined NAME is left as written and the scan resumes at its closing `%`;
  2. special characters: outside double quotes `^` escapes the next character and is
     removed, `"` toggles quoting, `& | < > ( )` act; inside quotes all are literal;
  3. the first token names the program, which gets the whole line after phase 2 as its
     command line and splits it the way CommandLineToArgvW and the MSVC runtime do.
So argv[0] goes in plain double quotes (a path with spaces stays one token; it may not hold
`"`, `%` or control characters), each further argument is quoted for CommandLineToArgvW and
then every character in CMD_META is escaped with `^`, `"` included, so cmd never enters
quote mode after argv[0]; the character after each `%` is escaped too. Every `%` in the line
is then followed by `^`, so any `%NAME...%` cmd could expand names a variable starting with
`^`: none exists (cmd's dynamic variables such as CMDCMDLINE included) unless someone
defines one on purpose. argv[0] is run as a program: cmd's built-ins (`echo`, `dir`) are not
programs and are not found in quotes. Lines longer than cmd's 8191 characters are refused.

`powershell_line(argv)` - PowerShell's parser: `& 'argv0' 'arg'...`, the call operator and
single-quoted literals, doubling every character PowerShell takes for a single quote (ASCII '
and U+2018..U+201B); nothing else is special inside them. How PowerShell then builds a
native program's command line is PowerShell's own: Windows PowerShell 5.1 does not escape
embedded double quotes and drops empty arguments (PowerShell 7.3+ passes them through with
$PSNativeCommandArgumentPassing = 'Standard').

Line breaks and NUL cannot be passed through any of these safely and are refused, and so is
Ctrl-Z for cmd (it reads as a line end).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

__all__ = ["CMD_META", "SHELLS", "argv_quote", "cmd_line", "powershell_line", "quote_line"]

CMD_META = '()%!^"<>&|'
CMD_MAX_LINE = 8191
_PS_QUOTES = "'\u2018\u2019\u201a\u201b"
_FORBIDDEN = re.compile(r"[\x00\r\n]")
_CMD_FORBIDDEN = re.compile(r"[\x00\r\n\x1a]")
_CMD_PROGRAM_FORBIDDEN = re.compile(r'[\x00-\x1f"%]')
SHELLS = ("sh", "cmd", "powershell")


def _check(arg: str, pattern: re.Pattern[str] = _FORBIDDEN) -> str:
    if pattern.search(arg):
        raise ValueError(f"argument {arg[:40]!r} contains a line break, NUL or Ctrl-Z")
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


def _cmd_escape(text: str) -> str:
    """Caret-escape cmd's metacharacters and whatever follows a `%` (see the module doc)."""
    out = []
    for i, ch in enumerate(text):
        if ch in CMD_META or (i and text[i - 1] == "%"):
            out.append("^")
        out.append(ch)
    return "".join(out)


def cmd_line(argv: Sequence[str]) -> str:
    """The LINE of `cmd.exe /c "LINE"` running program argv[0] with arguments argv[1:]."""
    program = argv[0]
    if not program or _CMD_PROGRAM_FORBIDDEN.search(program):
        raise ValueError(
            f"program {program[:60]!r} cannot be run through cmd.exe: it is "
            'empty or holds ", % or a control character'
        )
    rest = " ".join(argv_quote(_check(a, _CMD_FORBIDDEN)) for a in argv[1:])
    line = f'"{program}"' + (" " + _cmd_escape(rest) if argv[1:] else "")
    if len(line) > CMD_MAX_LINE:
        raise ValueError(
            f"command line of {len(line)} characters: cmd.exe takes at most {CMD_MAX_LINE}"
        )
    return line


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
