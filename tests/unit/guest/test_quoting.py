"""Quoting: models of cmd.exe's caret phase, CommandLineToArgvW and PowerShell's literal
parser read every quoted line back as exactly the arguments given, and nothing else.
"""

from __future__ import annotations

import shlex

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.guest.quoting import CMD_META, argv_quote, cmd_line, powershell_line, quote_line

ARG = st.text(st.characters(blacklist_characters="\x00\r\n", blacklist_categories=("Cs",)))
ARGV = st.lists(ARG, min_size=1, max_size=5)


def cmd_unescape(line: str) -> str:
    """cmd.exe's view: every metacharacter must be ^-escaped, else it would act."""
    out, i = [], 0
    while i < len(line):
        ch = line[i]
        if ch == "^":
            assert line[i + 1] in CMD_META
            out.append(line[i + 1])
            i += 2
            continue
        assert ch not in CMD_META, f"unescaped cmd metacharacter {ch!r} in {line!r}"
        out.append(ch)
        i += 1
    return "".join(out)


def command_line_to_argv(line: str) -> list[str]:
    """CommandLineToArgvW's rules for arguments (2n backslashes + quote -> n + toggle)."""
    args: list[str] = []
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            break
        arg, quoted = [], False
        while i < n and (quoted or line[i] not in " \t"):
            if line[i] == "\\":
                j = i
                while j < n and line[j] == "\\":
                    j += 1
                if j < n and line[j] == '"':
                    arg.append("\\" * ((j - i) // 2))
                    if (j - i) % 2:
                        arg.append('"')
                    else:
                        quoted = not quoted
                    i = j + 1
                else:
                    arg.append(line[i:j])
                    i = j
            elif line[i] == '"':
                quoted = not quoted
                i += 1
            else:
                arg.append(line[i])
                i += 1
        args.append("".join(arg))
    return args


def powershell_args(line: str) -> list[str]:
    """Parse `& 'a' 'b'`: nothing outside single-quoted literals but the call operator."""
    assert line.startswith("& ")
    quotes = "'\u2018\u2019\u201a\u201b"
    args, i = [], 2
    while i < len(line):
        assert line[i] in quotes, f"code outside a literal at {i} in {line!r}"
        i += 1
        arg = []
        while True:
            if line[i] in quotes:
                if i + 1 < len(line) and line[i + 1] in quotes:
                    arg.append(line[i])
                    i += 2
                    continue
                i += 1
                break
            arg.append(line[i])
            i += 1
        args.append("".join(arg))
        assert i == len(line) or line[i] == " "
        i += 1
    return args


@given(ARGV)
def test_cmd_line_reads_back_as_the_same_argv(argv: list[str]) -> None:
    assert command_line_to_argv(cmd_unescape(cmd_line(argv))) == argv


@given(ARGV)
def test_powershell_line_is_only_literals(argv: list[str]) -> None:
    assert powershell_args(powershell_line(argv)) == argv


@given(ARGV)
def test_sh_line_reads_back(argv: list[str]) -> None:
    assert shlex.split(quote_line(argv, "sh")) == argv


def test_golden() -> None:
    assert argv_quote('a b"c\\') == '"a b\\"c\\\\"'
    assert cmd_line(["type", "x & del /q C:\\*"]) == 'type ^"x ^& del /q C:\\*^"'
    assert cmd_line(["echo", "%PATH%"]) == "echo ^%PATH^%"
    assert powershell_line(["Get-Item", "it's"]) == "& 'Get-Item' 'it''s'"


@pytest.mark.parametrize("shell", ["sh", "cmd", "powershell"])
def test_line_breaks_refused(shell: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        quote_line(["echo", "a\r\ncalc.exe"], shell)
