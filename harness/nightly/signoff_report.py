"""The sign-off page, one page in Markdown and in HTML: the answer, the blockers when it is
no, and the evidence (each required cell's verdicts in the runs counted, the open crash
buckets, the driver files and their hashes)."""

from __future__ import annotations

from pathlib import Path

from harness.files import write_atomic
from harness.nightly.signoff import Decision
from harness.report.page import esc, write_page

__all__ = ["write_signoff"]

_CSS_CLASS = {
    "pass": "v-pass",
    "not_applicable": "v-na",
    "violation": "v-violation",
    "infrastructure_error": "v-infra",
    "crash": "v-crash",
}


def _markdown(d: Decision) -> str:
    answer = "YES" if d.ship else "NO"
    lines = [
        f"# Sign-off: build {d.build} ({d.build_id}): {answer}",
        "",
        f"Plan **{d.plan}**; every required cell must have passed in each of the last "
        f"{d.window} finished run(s).",
        "",
    ]
    if d.blockers:
        lines += ["## Blockers", ""] + [f"- {b}" for b in d.blockers] + [""]
    lines += ["## Required cells", "", "| cell | runs (newest first) |", "|---|---|"]
    for cell in d.cells:
        runs = ", ".join(f"{v} ({r})" for r, v in cell.runs) or "never run"
        lines.append(f"| `{cell.key}` | {runs} |")
    lines += ["", "## Open crash buckets", ""]
    lines += [
        f"- `{b.id}` {b.title}: {b.count} crash(es), last {b.last_seen}" for b in d.buckets
    ] or ["none"]
    lines += ["", "## Driver files", ""]
    lines += [f"- `{name}` sha256 `{digest}`" for name, digest in sorted(d.driver.items())] or [
        "the simulator's own model (no driver files)"
    ]
    return "\n".join(lines) + "\n"


def _html(d: Decision) -> str:
    answer = "YES" if d.ship else "NO"
    look = "v-pass" if d.ship else "v-violation"
    parts = [
        f'<header class="top"><div><h1>Sign-off: build {esc(d.build)}</h1>'
        f'<p class="muted">build id <code>{esc(d.build_id)}</code>, plan {esc(d.plan)}, '
        f"the last {d.window} finished run(s)</p></div>"
        f'<div class="badge {look}" id="answer"><span class="big">{answer}</span>'
        f"{len(d.blockers)} blocker(s)</div></header>"
    ]
    if d.blockers:
        items = "".join(f"<li>{esc(b)}</li>" for b in d.blockers)
        parts.append(f'<h2>Blockers</h2><ul id="blockers">{items}</ul>')
    rows = []
    for cell in d.cells:
        runs = "".join(
            f'<td class="{_CSS_CLASS.get(v, "v-none")}" title="{esc(r)}">{esc(v)}</td>'
            for r, v in cell.runs
        )
        rows.append(f"<tr><th><code>{esc(cell.key)}</code></th>{runs}</tr>")
    parts.append(
        f'<h2>Required cells</h2><table id="cells"><tbody>{"".join(rows)}</tbody>'
        '</table><p class="muted">newest run first; hover a verdict for its run</p>'
    )
    buckets = (
        "".join(
            f"<li><code>{esc(b.id)}</code> {esc(b.title)}: {b.count} crash(es), "
            f"last {esc(b.last_seen)}</li>"
            for b in d.buckets
        )
        or "<li>none</li>"
    )
    parts.append(f"<h2>Open crash buckets</h2><ul>{buckets}</ul>")
    files = "".join(
        f"<li><code>{esc(n)}</code> <code>{esc(h)}</code></li>" for n, h in sorted(d.driver.items())
    )
    parts.append(
        f"<h2>Driver files</h2><ul>{files or '<li>the simulator model (no driver files)</li>'}</ul>"
    )
    return "\n".join(parts)


def write_signoff(decision: Decision, out: Path) -> tuple[Path, Path]:
    """signoff.md and signoff.html in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    md, page = out / "signoff.md", out / "signoff.html"
    write_atomic(md, _markdown(decision))
    write_page(page, f"sign-off {decision.build}", _html(decision))
    return md, page
