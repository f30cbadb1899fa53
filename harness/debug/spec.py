"""Debugger specs (`--debugger SPEC`): one grammar, and one typed options struct per backend,
converted once at the edge. Unknown keys are refused with the known ones listed, bad values
get one message naming the option, and values of secret-bearing options are never echoed.

Grammar (a value may hold any character, so a KDNET string fits whole):

    spec   = NAME [":" [option *("," option)]]
    option = KEY "=" VALUE
    KEY    = a letter, then letters, digits, "_" or "."
    VALUE  = bare / quoted
    bare   = any characters except "," and '"' (it may hold "=" and ":")
    quoted = '"' any characters, '""' standing for one '"' '"'

Each key may appear once. Example:
    pykd:host=dbghost,identity=~/.ssh/lab,kd="net:port=50000,key=1.2.3.4"
"""

from __future__ import annotations

import difflib
import re
import types
import typing
from typing import Annotated, Any, Literal, TypeVar

import msgspec

from harness.errors import ConfigError

__all__ = ["Port", "Seconds", "convert", "split_spec"]

#: seconds: finite, positive, at most a day (longer waits are mistakes, not scenarios)
Seconds = Annotated[float, msgspec.Meta(gt=0, le=86400)]
Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]

S = TypeVar("S", bound=msgspec.Struct)
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.]*")
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def split_spec(spec: str) -> tuple[str, dict[str, str]]:
    """(backend name, {key: raw value}) of a spec; ConfigError names the first problem.
    Messages quote keys and positions only, never values (a value may be a secret)."""
    name, _, rest = spec.partition(":")
    options: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        key_match = _KEY.match(rest, pos)
        end = key_match.end() if key_match else pos
        if key_match is None or end >= len(rest) or rest[end] != "=":
            raise ConfigError(
                f"debugger spec {name!r}: expected KEY=VALUE at character "
                f"{len(name) + 1 + pos} of the spec"
            )
        key = key_match.group()
        if key in options:
            raise ConfigError(
                f"debugger spec {name!r}: option {key} is given twice (a value "
                'holding "," must be quoted: key="a,b")'
            )
        options[key], pos = _value(rest, end + 1, name, key)
        if pos < len(rest):
            pos += 1  # the comma
            if pos == len(rest):
                raise ConfigError(f"debugger spec {name!r}: trailing comma")
    return name, options


def _value(text: str, pos: int, name: str, key: str) -> tuple[str, int]:
    """The value starting at `pos` and the position after it (at a comma or the end)."""
    if not text.startswith('"', pos):
        end = text.find(",", pos)
        end = len(text) if end < 0 else end
        if '"' in text[pos:end]:
            raise ConfigError(
                f"debugger spec {name!r}: option {key}: a '\"' inside a bare "
                "value; quote the whole value"
            )
        return text[pos:end], end
    out, i = [], pos + 1
    while True:
        close = text.find('"', i)
        if close < 0:
            raise ConfigError(f"debugger spec {name!r}: option {key}: unterminated quote")
        out.append(text[i:close])
        if text.startswith('"', close + 1):  # "" is a literal quote
            out.append('"')
            i = close + 2
            continue
        if close + 1 < len(text) and text[close + 1] != ",":
            raise ConfigError(f"debugger spec {name!r}: option {key}: text after the closing quote")
        return "".join(out), close + 1


def _base(annotation: Any) -> Any:
    """The type a string converts to: int for `Annotated[int, ...] | None`, and so on."""
    if typing.get_origin(annotation) is Annotated:
        return _base(typing.get_args(annotation)[0])
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return _base(next(a for a in typing.get_args(annotation) if a is not type(None)))
    return annotation


def _parse(text: str, annotation: Any) -> Any:
    kind = _base(annotation)
    if kind is int:
        return int(text, 0)
    if kind is float:
        return float(text)
    if kind is bool:
        lowered = text.lower()
        if lowered not in _TRUE + _FALSE:
            raise ValueError(text)
        return lowered in _TRUE
    if typing.get_origin(kind) is Literal and text not in typing.get_args(kind):
        raise ValueError(text)
    return text


def _expected(annotation: Any) -> str:
    kind = _base(annotation)
    if typing.get_origin(kind) is Literal:
        return "one of " + ", ".join(typing.get_args(kind))
    return {int: "an integer (0x... for hex)", float: "a number", bool: "1 or 0 (true/false)"}.get(
        kind, "text"
    )


def convert(
    options: dict[str, str],
    cls: type[S],
    backend: str,
    *,
    secret: frozenset[str] = frozenset(),
    hints: dict[str, str] | None = None,
    dynamic: tuple[str, ...] = (),
) -> S:
    """The options struct `cls` from raw spec values. `secret` options never appear in a
    message with their value; `hints` add advice to an unknown key's message; `dynamic`
    names key patterns the caller handled itself (listed among the known keys)."""
    fields = {f.name: f for f in msgspec.structs.fields(cls)}
    known = sorted([*fields, *dynamic])
    values: dict[str, Any] = {}
    for key, text in options.items():
        if key not in fields:
            near = difflib.get_close_matches(key, known, n=1)
            advice = (hints or {}).get(key) or (f"did you mean {near[0]}?" if near else "")
            raise ConfigError(
                f"{backend} debugger: unknown option {key!r}; "
                f"{advice + ' ' if advice else ''}known: {', '.join(known)}"
            )
        try:
            values[key] = _parse(text, fields[key].type)
        except ValueError:
            shown = "its value" if key in secret else repr(text)
            raise ConfigError(
                f"{backend} debugger: option {key} must be "
                f"{_expected(fields[key].type)}, not {shown}"
            ) from None
    try:
        return msgspec.convert(values, cls)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{backend} debugger: {_explain(str(e), fields)}") from None


def _explain(message: str, fields: dict[str, Any]) -> str:
    """msgspec's `Expected `int` >= 1 - at `$.port`` as `option port: expected ...`."""
    missing = re.match(r"Object missing required field `(\w+)`", message)
    if missing:
        return f"option {missing.group(1)} is required"
    at = re.search(r" - at `\$\.(\w+)`$", message)
    if at and at.group(1) in fields:
        what = message[: at.start()].replace("Expected", "expected")
        return f"option {at.group(1)}: {what}"
    return message
