"""`Dispatch`: routes each record to the handlers registered for its type, fast.

The per-record Python path is what limits `harness check`, so the loop is generated source
(as `collections.namedtuple` does): one `type(rec) is K` test per kind, most frequent first,
then straight-line calls of that kind's handlers. That saves a dict lookup, a call level and
a loop over handlers per record compared with a table of handler lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

__all__ = ["Dispatch", "Handler"]

Handler = Callable[[Any], None]
"""Called with one record of the type it was registered for."""


class Dispatch:
    """`run(records)` calls, for each record, the handlers of its type in registration order."""

    def __init__(self, handlers: Mapping[type, Sequence[Handler]], order: Sequence[type]) -> None:
        """`order`: every record type, most frequent first; types absent from `handlers` or
        with no handler are accepted and ignored."""
        namespace: dict[str, Any] = {"TypeError": TypeError}
        lines = ["def run(records):", "    for rec in records:", "        kind = type(rec)"]
        keyword = "if"
        quiet: list[str] = []
        for i, kind in enumerate(order):
            namespace[f"K{i}"] = kind
            calls = handlers.get(kind, ())
            if not calls:
                quiet.append(f"kind is K{i}")
                continue
            lines.append(f"        {keyword} kind is K{i}:")
            for j, handler in enumerate(calls):
                namespace[f"h{i}_{j}"] = handler
                lines.append(f"            h{i}_{j}(rec)")
            keyword = "elif"
        if quiet:
            lines.append(f"        {keyword} {' or '.join(quiet)}:")
            lines.append("            pass")
            keyword = "elif"
        if keyword == "if":  # no kinds at all
            lines.append("        if False:\n            pass")
        lines.append("        else:")
        lines.append("            raise TypeError(f'not a trace record: {rec!r}')")
        # Only generated identifiers reach the source; the objects travel in `namespace`.
        exec("\n".join(lines), namespace)
        self.run: Callable[[Iterable[Any]], None] = namespace["run"]
        self.source = "\n".join(lines)
