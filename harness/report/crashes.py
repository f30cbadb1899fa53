"""The crashes section of the HTML report: one row per bucket (new or seen before, how often,
which scenarios and driver builds), and per bucket its top frames and each crash with the
DriverProxy context at the time (swap phase, image version, workers in flight).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from harness.report.page import esc, href, write_page
from harness.triage.store import Bucket, CrashStore, Occurrence

__all__ = ["crashes_section", "triage_run", "write_crashes_html"]


def _link(path: str | None, base: Path) -> str:
    if not path:
        return '<span class="muted">not kept</span>'
    try:
        rel = os.path.relpath(path, base)
    except ValueError:  # another drive (Windows)
        rel = path
    return f'<a href="{href(rel)}">{esc(Path(path).name)}</a>'


def _bucket(bucket: Bucket, occurrences: list[Occurrence], base: Path) -> str:
    crash = occurrences[-1].crash
    frames = "\n".join(f"{f}  ({f.how})" for f in crash.frames[:8]) or "(no frames)"
    facts = [
        f"<b>{bucket.count}</b> crash{'es' if bucket.count != 1 else ''}",
        f"first seen {esc(bucket.first_seen)}",
        f"last seen {esc(bucket.last_seen)}",
    ]
    if crash.bugcheck is not None:
        facts.append("parameters " + esc(", ".join(f"{p:#x}" for p in crash.params)))
    if crash.failure_bucket:
        facts.append(f"FAILURE_BUCKET_ID <code>{esc(crash.failure_bucket)}</code>")
    rows = "".join(
        f'<tr><td class="mono">{esc(o.time)}</td><td><code>{esc(o.scenario or "-")}</code>'
        f' #{o.repetition}</td><td class="mono">{esc(o.driver_build or "-")}</td>'
        f"<td>{esc(o.context or 'no trace tail')}</td><td>{_link(o.dump, base)}</td></tr>"
        for o in occurrences
    )
    corrupted = (
        f'<p class="muted">Read in part: {esc(crash.corrupted)}</p>' if crash.corrupted else ""
    )
    return (
        f'<section class="case v-crash" id="bucket-{esc(bucket.id)}"><h3>'
        f'<code>{esc(bucket.id)}</code> — {esc(bucket.title)}</h3><div class="body">'
        f"<p>{' · '.join(facts)}</p>{corrupted}<pre>{esc(frames)}</pre>"
        "<table><thead><tr><th>time</th><th>scenario</th><th>driver build</th>"
        f"<th>DriverProxy at the crash</th><th>dump</th></tr></thead><tbody>{rows}</tbody>"
        "</table></div></section>"
    )


def crashes_section(
    store: CrashStore, base: Path, only: Collection[str] | None = None, new: Collection[str] = ()
) -> str:
    """The section for the buckets in `only` (all when None); dump links relative to `base`."""
    buckets = [b for b in store.buckets() if only is None or b.id in only]
    if not buckets:
        return '<h2>Crashes</h2><p class="muted">No guest crashed.</p>'
    head = "".join(
        f'<tr><td><a href="#bucket-{esc(b.id)}"><code>{esc(b.id)}</code></a></td>'
        f"<td>{esc(b.title)}{' <b>new</b>' if b.id in new else ''}</td><td>{b.count}</td>"
        f"<td>{esc(', '.join(b.scenarios) or '-')}</td>"
        f'<td class="mono">{esc(", ".join(b.driver_builds) or "-")}</td></tr>'
        for b in buckets
    )
    details = "".join(_bucket(b, store.occurrences(b.id), base) for b in buckets)
    return (
        f'<h2>Crashes <span class="muted">({len(buckets)} bucket'
        f"{'s' if len(buckets) != 1 else ''})</span></h2>"
        "<table><thead><tr><th>bucket</th><th>signature</th><th>crashes</th>"
        f"<th>scenarios</th><th>driver builds</th></tr></thead><tbody>{head}</tbody></table>"
        + details
    )


def write_crashes_html(
    path: Path, store: CrashStore, only: Collection[str] | None = None, new: Collection[str] = ()
) -> None:
    """A page of its own with the crashes section (`harness triage --html`)."""
    body = "<h1>Crash triage</h1>" + crashes_section(store, path.parent.resolve(), only, new)
    write_page(path, "crash triage", body)


def triage_run(out: Path, store: CrashStore) -> str:
    """Analyse the crash directories of run `out`, remember them in `store`, and return the
    report's crashes section for them (buckets never seen before marked new)."""
    from harness.triage.analysis import analyse_path, occurrence_of

    touched, new = set(), set()
    for finding in analyse_path(out):
        occurrence = occurrence_of(finding)
        if occurrence is not None:
            touched.add(occurrence.crash.bucket)
            if store.add(occurrence):
                new.add(occurrence.crash.bucket)
    return crashes_section(store, out.resolve(), touched, new)
