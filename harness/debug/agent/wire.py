"""The agent's JSON-lines protocol, as pure functions: one JSON object per line, UTF-8.

    controller -> agent  {"id": 7, "op": "wait_break", "args": {"timeout": 30}, "timeout": 30}
    agent -> controller  {"id": 7, "ok": true, "result": {...}}
                         {"id": 7, "ok": false, "error": {"kind": "timeout", "message": "..."}}
                         {"event": "ready", "protocol": 1, "engine": "pykd", "pid": 123}

Error kinds: timeout (a wait or command ran out of time), debugger (the engine failed),
usage (a bad request), died (the engine process ended or was killed).

Both directions are validated here, so neither side trusts the other's bytes: a request's
`timeout` is a finite number of seconds in (0, MAX_TIMEOUT], each op takes exactly the
arguments `ARGS` lists with the types it lists, and a reply's result has the shape its op
promises (`result`). Lines are capped at MAX_LINE bytes, nesting at MAX_DEPTH, integers at
MAX_DIGITS digits; JSON's NaN and Infinity are refused. Anything else is a WireError.

Standard library only and Python 3.8 syntax: the agent ships this module.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from collections.abc import Callable
from typing import Any

__all__ = [
    "ARGS",
    "ERROR_KINDS",
    "MAX_LINE",
    "MAX_TIMEOUT",
    "OPS",
    "PROTOCOL",
    "LineBuffer",
    "WireError",
    "decode",
    "decode_reply",
    "decode_request",
    "encode",
    "error",
    "event",
    "redact",
    "request",
    "response",
    "result",
    "secrets_of",
]

PROTOCOL = 1
ERROR_KINDS = ("timeout", "debugger", "usage", "died")
MAX_LINE = 64 * 1024 * 1024
MAX_DEPTH = 32
MAX_DIGITS = 40
#: a day: longer than any wait a scenario makes, short enough for every clock and queue
MAX_TIMEOUT = 86400.0
#: the most one read or write moves (base64 makes it 4/3 as long on the wire)
MAX_TRANSFER = 16 * 1024 * 1024
MAX_TEXT = 64 * 1024
_U64 = 1 << 64


class WireError(Exception):
    """A line that is not a valid protocol message; `ident` is its id when it had one, so
    the reply to a bad request still names the request."""

    def __init__(self, message: str, ident: int | None = None) -> None:
        super().__init__(message)
        self.ident = ident


def _check_seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WireError(f"a timeout must be a number of seconds, not {_show(value)}")
    if not math.isfinite(value) or not 0 < value <= MAX_TIMEOUT:
        raise WireError(
            f"a timeout must be more than 0 and at most {MAX_TIMEOUT:g} s, not {value!r}"
        )
    return float(value)


def _check_int(low: int, high: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise WireError(f"expected an integer, not {_show(value)}")
        if not low <= value < high:
            raise WireError(f"integer {value} out of range [{low:#x}, {high:#x})")
        return value

    return check


def _check_text(value: Any) -> str:
    if not isinstance(value, str):
        raise WireError(f"expected a string, not {_show(value)}")
    if len(value) > MAX_TEXT:
        raise WireError(f"string of {len(value)} characters (at most {MAX_TEXT})")
    return value


def _check_flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise WireError(f"expected true or false, not {_show(value)}")
    return value


def _check_os(value: Any) -> str:
    if value not in ("windows", "linux"):
        raise WireError(f"expected windows or linux, not {_show(value)}")
    return str(value)


def _check_layout(value: Any) -> list[int]:
    """The Linux stand-in's kernel layout: three byte offsets (harness.debug.linux)."""
    if (
        not isinstance(value, list)
        or len(value) != 3
        or not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < _U64 for v in value)
    ):
        raise WireError(
            f"expected three offsets [current_task, preempt_count, task_pid], not {_show(value)}"
        )
    return value


def _check_data(value: Any) -> bytes:
    if not isinstance(value, str) or len(value) > MAX_TRANSFER * 4 // 3 + 4:
        raise WireError(f"expected base64 of at most {MAX_TRANSFER} bytes, not {_show(value)}")
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (ValueError, binascii.Error):
        raise WireError("data is not valid base64") from None


_ADDRESS = _check_int(0, _U64)
_SIZE = _check_int(1, MAX_TRANSFER + 1)
_ID = _check_int(0, 1 << 53)
#: each op's arguments: name -> (check, required)
ARGS: dict[str, dict[str, tuple[Callable[[Any], Any], bool]]] = {
    "attach": {
        "target": (_check_text, True),
        "build": (_check_int(0, 1 << 32), False),
        "cid_offset": (_check_int(0, 1 << 16), False),
        "hardware": (_check_flag, False),
        "symbols": (_check_text, False),
        "os": (_check_os, False),
        "layout": (_check_layout, False),
    },
    "break_at": {"symbol": (_check_text, True)},
    "clear": {"breakpoint": (_ID, True)},
    "wait_break": {"timeout": (_check_seconds, True)},
    "resume": {},
    "irql": {},
    "thread": {},
    "read": {"address": (_ADDRESS, True), "size": (_SIZE, True)},
    "write": {"address": (_ADDRESS, True), "data": (_check_data, True)},
    "command": {"text": (_check_text, True)},
    "detach": {},
    "analyze": {"dump": (_check_text, True)},
}
OPS = tuple(ARGS)


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, (bytes, bytearray)) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _no_constant(name: str) -> Any:
    raise WireError(f"{name} is not a JSON number")


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise WireError(f"integer of {len(text)} digits")
    return int(text)


def _depth(value: Any, level: int = 1) -> None:
    if level > MAX_DEPTH:
        raise WireError(f"nested deeper than {MAX_DEPTH} levels")
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        _depth(child, level + 1)


def encode(message: dict[str, Any]) -> bytes:
    return (
        json.dumps(message, separators=(",", ":"), sort_keys=True, allow_nan=False).encode("utf-8")
        + b"\n"
    )


def decode(line: bytes) -> dict[str, Any]:
    """Any message (request, reply or event), checked for shape but not for op arguments."""
    if len(line) > MAX_LINE:
        raise WireError(f"line of {len(line)} bytes (at most {MAX_LINE})")
    try:
        message = json.loads(line.decode("utf-8"), parse_constant=_no_constant, parse_int=_int)
    except RecursionError:
        raise WireError(f"nested too deeply: {line[:40]!r}...") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise WireError(f"not a JSON line: {line[:80]!r} ({e})") from None
    if not isinstance(message, dict):
        raise WireError(f"not a JSON object: {line[:80]!r}")
    _depth(message)
    if "event" in message:
        if not isinstance(message["event"], str):
            raise WireError(f"an event's name must be a string: {line[:80]!r}")
        return message
    if isinstance(message.get("id"), bool) or not isinstance(message.get("id"), int):
        raise WireError(f"message without an integer id: {line[:80]!r}")
    if "op" in message:
        if message["op"] not in OPS:
            raise WireError(f"unknown op {_show(message['op'])}")
        if not isinstance(message.get("args", {}), dict):
            raise WireError("args must be an object")
    elif message.get("ok") is False:
        err = message.get("error")
        if (
            not isinstance(err, dict)
            or err.get("kind") not in ERROR_KINDS
            or not isinstance(err.get("message"), str)
        ):
            raise WireError(f"malformed error response: {line[:80]!r}")
    elif message.get("ok") is not True:
        raise WireError(f"neither a request nor a response: {line[:80]!r}")
    return message


def decode_request(line: bytes) -> tuple[int, str, dict[str, Any], float]:
    """(id, op, args, timeout) of a request whose every argument is checked."""
    message = decode(line)
    if "op" not in message:
        raise WireError("not a request", message.get("id"))
    op, ident = message["op"], message["id"]
    try:
        timeout = _check_seconds(message.get("timeout"))
        return ident, op, _check_args(op, message.get("args", {})), timeout
    except WireError as e:
        raise WireError(str(e), ident) from None


def _check_args(op: str, args: dict[str, Any]) -> dict[str, Any]:
    schema = ARGS[op]
    unknown = sorted(set(args) - set(schema))
    if unknown:
        raise WireError(
            f"{op} takes no argument {', '.join(unknown)}; it takes {', '.join(schema) or 'none'}"
        )
    checked = {}
    for name, (check, required) in schema.items():
        if name in args:
            try:
                checked[name] = check(args[name])
            except WireError as e:
                raise WireError(f"{op}: {name}: {e}") from None
        elif required:
            raise WireError(f"{op} needs argument {name}")
    return checked


def decode_reply(line: bytes) -> dict[str, Any]:
    """A reply or an event (what the controller reads)."""
    message = decode(line)
    if "op" in message:
        raise WireError("a request where a reply was expected")
    return message


def request(ident: int, op: str, limit: float, **args: Any) -> bytes:
    """A request; `limit` (seconds) is how long the agent lets the engine work on it."""
    if op not in OPS:
        raise WireError(f"unknown op {op!r}")
    wire_args = {
        k: base64.b64encode(v).decode("ascii") if isinstance(v, bytes) else v
        for k, v in args.items()
    }
    _check_args(op, wire_args)
    return encode({"id": ident, "op": op, "args": wire_args, "timeout": _check_seconds(limit)})


def _check_stop(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(f"expected a stop, not {_show(value)}")
    bp = value.get("breakpoint")
    return {
        "breakpoint": None if bp is None else _ID(bp),
        "address": _ADDRESS(value.get("address")),
        "event": _check_text(value.get("event", "")),
    }


def _check_thread(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise WireError(f"expected a thread, not {_show(value)}")
    return {"id": _check_int(0, _U64)(value.get("id")), "object": _ADDRESS(value.get("object"))}


def _check_none(value: Any) -> None:
    if value is not None:
        raise WireError(f"expected no result, not {_show(value)}")


def _check_output(value: Any) -> str:
    if not isinstance(value, str):
        raise WireError(f"expected text, not {_show(value)}")
    return value


def _check_object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(f"expected an object, not {_show(value)}")
    return value


_RESULTS: dict[str, Callable[[Any], Any]] = {
    "attach": _check_object,
    "break_at": _ID,
    "clear": _check_none,
    "wait_break": _check_stop,
    "resume": _check_none,
    "irql": _check_int(0, 16),
    "thread": _check_thread,
    "read": _check_data,
    "write": _check_none,
    "command": _check_output,
    "detach": _check_none,
    "analyze": _check_output,
}


def result(op: str, value: Any, args: dict[str, Any] | None = None) -> Any:
    """A reply's result checked against what `op` promises, converted (read: bytes)."""
    try:
        checked = _RESULTS[op](value)
    except WireError as e:
        raise WireError(f"the result of {op}: {e}") from None
    if op == "read" and args is not None and len(checked) != args.get("size"):
        raise WireError(f"read returned {len(checked)} bytes, not the {args.get('size')} asked")
    return checked


def response(ident: int, value: Any) -> bytes:
    if isinstance(value, bytes):
        value = base64.b64encode(value).decode("ascii")
    return encode({"id": ident, "ok": True, "result": value})


def error(ident: int | None, kind: str, message: str) -> bytes:
    return encode(
        {
            "id": ident if ident is not None else -1,
            "ok": False,
            "error": {"kind": kind, "message": message},
        }
    )


def event(name: str, **fields: Any) -> bytes:
    fields["event"] = name
    return encode(fields)


def secrets_of(target: str) -> tuple[str, ...]:
    """The secret values in a kernel connection string (`net:port=N,key=K`: K)."""
    found = []
    for item in target.split(","):
        name, sep, value = item.partition("=")
        if sep and name.strip().lower() in ("key", "net:key") and value:
            found.append(value)
    return tuple(found)


def redact(text: str, secrets: tuple[str, ...]) -> str:
    """`text` with every secret replaced: engine messages may echo a connection string."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


class LineBuffer:
    """Splits a byte stream into lines (blank ones skipped); a line longer than `limit`
    is a WireError, and finding line ends costs time linear in the bytes fed."""

    def __init__(self, limit: int = MAX_LINE) -> None:
        self._buf = bytearray()
        self._limit = limit

    def feed(self, data: bytes) -> list[bytes]:
        start = len(self._buf)
        self._buf += data
        if b"\n" not in data:
            lines = []
        else:
            end = self._buf.rindex(b"\n", start)
            lines = bytes(self._buf[: end + 1]).split(b"\n")[:-1]
            del self._buf[: end + 1]
        if len(self._buf) > self._limit:
            self._buf.clear()
            raise WireError(f"line longer than {self._limit} bytes")
        return [line for line in lines if line.strip()]
