"""Quoting: a model of cmd.exe's documented parsing (cmdmodel), PowerShell's literal parser
and a real POSIX shell read every quoted line back as exactly the arguments given, and
nothing else, whatever the environment holds.
"""

from __future__ import annotations

import shlex
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.guest.quoting import CMD_META, argv_quote, cmd_line, powershell_line, quote_line

from . import cmdmodel

ARG = st.text(st.characters(blacklist_characters="\x00\r\n", blacklist_categories=("Cs",)))
ARGV = st.lists(ARG, min_size=1, max_size=5)


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


def hostile(name: str) -> str | None:
    """Every variable is defined, to something that would inject, except names beginning
    with ^ (none exists on Windows unless set on purpose)."""
    return None if name.startswith("^") else '"&calc.exe&"^%PATH%'


def defined_only(names: dict[str, str]) -> cmdmodel.Env:
    return lambda name: names.get(name.upper())


CMD_ARG = st.text(st.characters(blacklist_characters="\x00\r\n\x1a", blacklist_categories=("Cs",)))
PROGRAM = st.text(
    st.characters(blacklist_characters='"%', blacklist_categories=("Cs", "Cc")), min_size=1
)
CMD_ARGV = st.tuples(PROGRAM, st.lists(CMD_ARG, max_size=5)).map(lambda t: [t[0], *t[1]])
TRICKY = st.lists(
    st.sampled_from(
        [
            "%",
            "^",
            "&",
            '"',
            " ",
            "\\",
            "!",
            ":",
            "=",
            "~",
            "PATH",
            "CMDCMDLINE",
            "*",
            ",",
            "(",
            ")",
            "<",
            "|",
            "a",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=500)
@given(CMD_ARGV)
def test_cmd_runs_exactly_the_argv_whatever_the_environment(argv: list[str]) -> None:
    assert cmdmodel.run(cmd_line(argv), hostile) == argv


@settings(max_examples=500)
@given(st.lists(TRICKY, min_size=1, max_size=4))
def test_cmd_percent_and_caret_combinations(args: list[str]) -> None:
    argv = ["C:\\Program Files\\Tool\\tool.exe", *args]
    assert cmdmodel.run(cmd_line(argv), hostile) == argv


@pytest.mark.parametrize(
    "arg",
    [
        "%PATH%",
        "%PATH:a=b%",
        "%PATH:~0,3%",
        "%CMDCMDLINE:^=%",
        "%CMDCMDLINE%",
        "%CMDCMDLINE:^=% & calc",
        "%%PATH%%",
        "100%",
        "%",
        "%%",
        "a%b%c%d",
        "^%PATH^%",
        '"&calc&"',
        "x^",
        "!PATH!",
        "%=C:%",
        "%*",
        "%1",
    ],
)
def test_cmd_keeps_every_percent_literal(arg: str) -> None:
    argv = ["tool.exe", arg, "next"]
    env = defined_only({"PATH": "C:\\Windows&calc", "=C:": "C:\\&calc"})
    assert cmdmodel.run(cmd_line(argv), env) == argv
    assert cmdmodel.run(cmd_line(argv), hostile) == argv


def test_the_model_sees_the_old_injections() -> None:
    # the quoting of before: every metacharacter caret-escaped, argv[0] included
    def old(argv: list[str]) -> str:
        line = " ".join(argv_quote(a) for a in argv)
        return "".join("^" + ch if ch in CMD_META else ch for ch in line)

    env = defined_only({"PATH": "C:\\Windows"})
    # %PATH:a=b% is still expanded (the caret before the closing % joins the replacement)
    assert cmdmodel.run(old(["echo", "%PATH:x=y%"]), env) != ["echo", "%PATH:x=y%"]
    # %CMDCMDLINE:x=% replaces x with ^ in a copy of the whole line, so `x^&` becomes `^^&`
    # and the & acts, once a quoted argument has flipped cmd's quote state in that copy
    attack = ["echo", "a b", "%CMDCMDLINE:x=%", "x&calc"]
    with pytest.raises(cmdmodel.Injection, match="unescaped '&'"):
        cmdmodel.run(old(attack), env)
    assert cmdmodel.run(cmd_line(attack), env) == attack
    # a program path with a space splits at the space: cmd never sees it quoted
    program = "C:\\Program Files\\x.exe"
    assert cmdmodel.run(old([program, "a"]), env)[0] != program
    assert cmdmodel.run(cmd_line([program, "a"]), env) == [program, "a"]


def test_cmd_golden() -> None:
    assert cmd_line(["type", "x & del /q C:\\*"]) == '"type" ^"x ^& del /q C:\\*^"'
    assert cmd_line(["echo", "%PATH%"]) == '"echo" ^%^PATH^%'
    assert cmd_line(["C:\\Program Files\\p.exe"]) == '"C:\\Program Files\\p.exe"'
    assert cmd_line(["p", "%x:^=%"]) == '"p" ^%^x:^^=^%'


@pytest.mark.parametrize("program", ["", 'a"b', "C:\\100%\\x.exe", "a\tb"])
def test_cmd_refuses_programs_it_cannot_quote(program: str) -> None:
    with pytest.raises(ValueError, match=r"cannot be run through cmd\.exe"):
        cmd_line([program, "x"])


def test_cmd_refuses_ctrl_z_and_overlong_lines() -> None:
    with pytest.raises(ValueError, match="Ctrl-Z"):
        cmd_line(["p", "a\x1acalc"])
    with pytest.raises(ValueError, match="8191"):
        cmd_line(["p", "x" * 8190])


def test_slash_c_model_follows_cmd_help() -> None:
    assert cmdmodel.slash_c('"a b" c"') == 'a b" c'  # rule 2
    assert cmdmodel.slash_c('"C:\\a b.exe"', lambda p: True) == '"C:\\a b.exe"'  # rule 1
    assert cmdmodel.slash_c("plain") == "plain"


@settings(max_examples=200, deadline=None)
@given(ARGV)
def test_sh_line_runs_in_a_real_shell(argv: list[str]) -> None:
    line = quote_line(["printf", "%s\\0", *argv], "sh")
    out = subprocess.run(["sh", "-c", line], capture_output=True, check=True).stdout
    assert out.split(b"\0")[:-1] == [a.encode() for a in argv]


@given(ARGV)
def test_powershell_line_is_only_literals(argv: list[str]) -> None:
    assert powershell_args(powershell_line(argv)) == argv


@given(ARGV)
def test_sh_line_reads_back(argv: list[str]) -> None:
    assert shlex.split(quote_line(argv, "sh")) == argv


def test_golden() -> None:
    assert argv_quote('a b"c\\') == '"a b\\"c\\\\"'
    assert powershell_line(["Get-Item", "it's"]) == "& 'Get-Item' 'it''s'"


@pytest.mark.parametrize("shell", ["sh", "cmd", "powershell"])
def test_line_breaks_refused(shell: str) -> None:
    with pytest.raises(ValueError, match="line break"):
        quote_line(["echo", "a\r\ncalc.exe"], shell)
