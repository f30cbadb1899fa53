"""The agent's JSON-lines protocol, as pure functions: one JSON object per line, UTF-8.

    controller -> agent  {"id": 7, "op": "wait_break", "args": {"timeout": 30}, "timeout": 30}
    agent -> controller  {"id": 7, "ok": true, "result": {...}}
                         {"id": 7, "ok": false, "error": {"kind": "timeout", "message": "..."}}
                         {"event": "ready", "protocol": 1, "engine": "pykd", "pid": 123}

Error kinds: timeout (a wait or command ran out of time), debugger (the engine failed),
usage (a bad request), died (the engine process ended or was killed).

Standard library only and Python 3.8 syntax: the agent ships this module.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = [
    "ERROR_KINDS",
    "OPS",
    "PROTOCOL",
    "LineBuffer",
    "WireError",
    "decode",
    "encode",
    "error",
    "event",
    "request",
    "response",
]

PROTOCOL = 1
OPS = ("attach", "break_at", "clear", "wait_break", "resume", "irql", "thread", "read",
       "write", "command", "detach", "analyze")
ERROR_KINDS = ("timeout", "debugger", "usage", "died")
MAX_LINE = 64 * 1024 * 1024


class WireError(Exception):
    """A line that is not a valid protocol message."""


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, separators=(",", ":"), sort_keys=True).encode("utf-8") + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise WireError(f"not a JSON line: {line[:80]!r} ({e})") from None
    if not isinstance(message, dict):
        raise WireError(f"not a JSON object: {line[:80]!r}")
    if "event" in message:
        return message
    if not isinstance(message.get("id"), int):
        raise WireError(f"message without an integer id: {line[:80]!r}")
    if "op" in message:
        if message["op"] not in OPS:
            raise WireError(f"unknown op {message['op']!r}")
        if not isinstance(message.get("args", {}), dict):
            raise WireError("args must be an object")
    elif message.get("ok") is False:
        err = message.get("error")
        if not isinstance(err, dict) or err.get("kind") not in ERROR_KINDS:
            raise WireError(f"malformed error response: {line[:80]!r}")
    elif message.get("ok") is not True:
        raise WireError(f"neither a request nor a response: {line[:80]!r}")
    return message


def request(ident: int, op: str, limit: float, **args: Any) -> bytes:
    """A request; `limit` (seconds) is how long the agent lets the engine work on it."""
    if op not in OPS:
        raise WireError(f"unknown op {op!r}")
    return encode({"id": ident, "op": op, "args": args, "timeout": limit})


def response(ident: int, result: Any) -> bytes:
    return encode({"id": ident, "ok": True, "result": result})


def error(ident: int | None, kind: str, message: str) -> bytes:
    return encode({"id": ident if ident is not None else -1, "ok": False,
                   "error": {"kind": kind, "message": message}})


def event(name: str, **fields: Any) -> bytes:
    fields["event"] = name
    return encode(fields)


class LineBuffer:
    """Splits a byte stream into lines; refuses absurdly long ones."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        if len(self._buf) > MAX_LINE:
            raise WireError("line longer than 64 MiB")
        return [line for line in lines if line.strip()]
