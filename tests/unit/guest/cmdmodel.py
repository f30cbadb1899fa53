"""A model of how cmd.exe runs `cmd.exe /c "LINE"` (what OpenSSH for Windows sends it) and
how the program it starts splits its command line: the grammars harness.guest.quoting
targets, written from their documentation, independently of the quoting code.

- /c quote handling: `cmd /?` ("If /C or /K is specified, then the remainder of the command
  line after the switch is processed as a command line, where the following logic is used
  to process quote (") characters: ...").
- Phases 1 (percent expansion) and 2 (special characters) of the command-line parser, as
  "How does the Windows Command Interpreter (CMD.EXE) parse scripts?" (Stack Overflow
  4094699) gives them for the command line: `%NAME%` with the `:~n,m` and `:a=b` forms;
  an undefined NAME stays as written and scanning resumes at its closing `%`.
- CommandLineToArgvW / the MSVC runtime: "Parsing C++ command-line arguments" (Microsoft
  Learn): 2n backslashes before a quote give n and toggle quoting, 2n+1 give n and a quote;
  argv[0] ends at its closing quote or the first blank, without escapes.

`Injection` is raised where cmd would act on the line (an operator outside quotes, a caret
at the end of the line): the quoting must make that impossible.
"""

from __future__ import annotations

from collections.abc import Callable

Env = Callable[[str], "str | None"]


class Injection(Exception):
    """cmd would do something other than run one program with literal arguments."""


def slash_c(rest: str, executable: Callable[[str], bool] = lambda _: False) -> str:
    """The command line cmd parses after `/c` (the /c quote rules of `cmd /?`)."""
    quotes = rest.count('"')
    if quotes == 2 and rest.startswith('"') and rest.endswith('"'):
        inner = rest[1:-1]
        if (
            not set(inner) & set("&<>()@^|")
            and any(c.isspace() for c in inner)
            and executable(inner)
        ):
            return rest  # rule 1: quotes preserved
    if rest.startswith('"'):  # rule 2: strip the first quote and the last one
        last = rest.rfind('"')
        return rest[1:last] + rest[last + 1 :] if last > 0 else rest[1:]
    return rest


def _substitute(value: str, spec: str) -> str | None:
    """`%NAME:spec%` applied to `value`; None for a spec cmd would not apply."""
    if spec.startswith("~"):
        parts = spec[1:].split(",")
        try:
            start = int(parts[0]) if parts[0] else 0
            length = int(parts[1]) if len(parts) > 1 else None
        except ValueError:
            return None
        start = max(len(value) + start, 0) if start < 0 else start
        end = (
            len(value)
            if length is None
            else (len(value) + length if length < 0 else start + length)
        )
        return value[start:end]
    if "=" not in spec:
        return None
    old, new = spec.split("=", 1)
    if old.startswith("*"):  # *str: everything up to and including the first str
        found = value.lower().find(old[1:].lower()) if old[1:] else -1
        return new + value[found + len(old) - 1 :] if found >= 0 else value
    if not old:
        return None
    out, lower, i = [], value.lower(), 0
    while True:
        j = lower.find(old.lower(), i)
        if j < 0:
            return "".join(out) + value[i:]
        out.append(value[i:j] + new)
        i = j + len(old)


def expand(line: str, env: Env) -> str:
    """Phase 1 on a command line."""
    out, i = [], 0
    while i < len(line):
        if line[i] != "%":
            out.append(line[i])
            i += 1
            continue
        j = line.find("%", i + 1)
        if j < 0:
            out.append(line[i:])
            break
        name, colon, spec = line[i + 1 : j].partition(":")
        value = env(name)
        result = None if value is None else (_substitute(value, spec) if colon else value)
        if result is None:
            out.append(line[i:j])  # undefined: left as is, the closing % may open another
            i = j
        else:
            out.append(result)
            i = j + 1
    return "".join(out)


def special(line: str) -> tuple[str, int]:
    """Phase 2: the text after caret removal, and where cmd's first token (the program)
    ends in it: at the first blank outside quotes, where quotes are cmd's own (a `^"` is a
    literal quote character, not quoting). Injection where cmd would act."""
    out, quoted, i = [], False, 0
    token_end = -1
    while i < len(line):
        ch = line[i]
        if token_end < 0 and not quoted and ch in " \t" and out:
            token_end = len(out)
        if quoted:
            quoted = ch != '"'
            out.append(ch)
        elif ch == "^":
            if i + 1 >= len(line):
                raise Injection("a caret at the end of the line continues it")
            out.append(line[i + 1])
            i += 1
        elif ch == '"':
            quoted = True
            out.append(ch)
        elif ch in "&|<>()":
            raise Injection(f"unescaped {ch!r} outside quotes at {i} in {line!r}")
        else:
            out.append(ch)
        i += 1
    return "".join(out), len(out) if token_end < 0 else token_end


def program_and_args(command_line: str) -> list[str]:
    """The program's argv from its command line (MSVC rules; argv[0] without escapes)."""
    i, n = 0, len(command_line)
    if command_line.startswith('"'):
        end = command_line.find('"', 1)
        end = n if end < 0 else end
        argv0, i = command_line[1:end], end + 1
    else:
        while i < n and command_line[i] not in " \t":
            i += 1
        argv0 = command_line[:i]
    return [argv0, *_args(command_line[i:])]


def _args(line: str) -> list[str]:
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


def run(line: str, env: Env) -> list[str]:
    """[the program cmd starts, the arguments it reads] when OpenSSH runs
    `cmd.exe /c "LINE"`."""
    full = f'"C:\\Windows\\system32\\cmd.exe" /c "{line}"'

    def env_with_cmdline(name: str) -> str | None:
        return full if name.upper() == "CMDCMDLINE" else env(name)

    parsed, token_end = special(expand(slash_c(f'"{line}"'), env_with_cmdline))
    argv = program_and_args(parsed)
    # the program cmd starts is its own first token, whatever the program then reads
    return [parsed[:token_end].replace('"', ""), *argv[1:]]
