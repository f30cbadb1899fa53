"""The HTML page shell shared by the run and selftest reports: inline stylesheet, head, escaping.

Reports are opened from CI artefacts, mail attachments and air-gapped labs, so a page is
one file that loads nothing: no external CSS, scripts, fonts or images.
"""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote

from harness.files import write_atomic
from harness.report.charset import printable
from harness.report.palette import look
from harness.results.model import Verdict

__all__ = ["chip", "esc", "href", "write_page"]

_CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#f6f8fa;
  --pass:#1a7f37; --pass-bg:#dafbe1; --violation:#cf222e; --violation-bg:#ffebe9;
  --na:#59636e; --na-bg:#eaeef2; --infra:#9a6700; --infra-bg:#fff8c5;
  --crash:#8250df; --crash-bg:#fbefff; }
* { box-sizing:border-box; }
body { font:14px/1.45 system-ui,-apple-system,"Segoe UI","DejaVu Sans",sans-serif;
  color:var(--fg); margin:0 auto; padding:24px 32px; max-width:1200px;
  -webkit-print-color-adjust:exact; print-color-adjust:exact; }
h1 { font-size:22px; margin:0 0 4px; } h2 { font-size:17px; margin:28px 0 10px;
  padding-bottom:4px; border-bottom:1px solid var(--line); }
h3 { font-size:15px; margin:0 0 6px; } h3 code { font-size:14px; }
code, pre, .mono { font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;
  font-size:0.9em; }
a { color:#0969da; }
.muted { color:var(--muted); }
header.top { display:flex; gap:24px; align-items:flex-start; justify-content:space-between;
  border-bottom:1px solid var(--line); padding-bottom:16px; }
dl.meta { display:grid; grid-template-columns:max-content auto; gap:2px 14px; margin:10px 0 0; }
dl.meta dt { color:var(--muted); } dl.meta dd { margin:0; }
.badge { border-radius:10px; padding:14px 22px; text-align:center; min-width:200px;
  border:2px solid currentColor; }
.badge .big { font-size:34px; font-weight:800; letter-spacing:1px; display:block; }
.chips { display:flex; flex-wrap:wrap; gap:8px; }
.chip { border-radius:14px; padding:3px 12px; border:1px solid currentColor; white-space:nowrap; }
.chip b { font-size:15px; } .chip.zero { opacity:0.45; }
.v-pass { color:var(--pass); background:var(--pass-bg); }
.v-violation { color:var(--violation); background:var(--violation-bg); }
.v-na { color:var(--na); background:var(--na-bg); }
.v-infra { color:var(--infra); background:var(--infra-bg); }
.v-crash { color:var(--crash); background:var(--crash-bg); }
.v-none { color:var(--muted); background:#fff; }
table { border-collapse:collapse; }
th, td { border:1px solid var(--line); padding:4px 8px; text-align:left; vertical-align:top; }
thead th { background:var(--bg); font-weight:600; }
table.matrix td.cell { text-align:center; padding:0; min-width:38px; font-weight:700; }
table.matrix td.cell a, table.matrix td.cell span { display:block; padding:4px 6px;
  color:inherit; text-decoration:none; }
table.matrix td.cell a:hover { outline:2px solid currentColor; }
table.matrix tbody th { font-weight:400; }
table.matrix tbody th .muted { font-size:12.5px; }
table.matrix thead th { vertical-align:bottom; }
table.matrix tr.survived th, table.matrix tr.survived td.cell { background:var(--violation-bg); }
table.matrix th.vert { writing-mode:vertical-rl; transform:rotate(180deg); padding:8px 4px;
  font-weight:500; white-space:nowrap; }
table.matrix tr.baseline th { background:var(--bg); }
table.matrix th.rot { font-weight:600; font-size:12px; white-space:nowrap; }
.legend { margin-top:8px; font-size:12.5px; }
tr.differs td { background:var(--violation-bg); } tr.differs td.val { color:var(--violation);
  font-weight:700; }
.bars { display:grid; grid-template-columns:minmax(180px,max-content) 1fr max-content;
  gap:4px 12px; align-items:center; }
.bar { height:14px; border-radius:3px; background:var(--bg); position:relative; }
.bar span { display:block; height:100%; border-radius:3px; min-width:2px; }
.bar span.v-pass { background:var(--pass); } .bar span.v-violation { background:var(--violation); }
.bar span.v-na { background:#8c959f; } .bar span.v-infra { background:#d4a72c; }
.bar span.v-crash { background:var(--crash); }
section.case { border:1px solid var(--line); border-left:6px solid currentColor;
  border-radius:6px; padding:12px 16px; margin:12px 0; background:#fff; }
section.case .body { color:var(--fg); }
section.case:target { box-shadow:0 0 0 3px #0969da55; }
.violation { margin:10px 0 0; } .violation p { margin:2px 0 6px; }
pre { background:var(--bg); border:1px solid var(--line); border-radius:6px; padding:8px 10px;
  margin:4px 0 0; overflow-x:auto; white-space:pre-wrap; word-break:break-all; }
footer { margin-top:32px; color:var(--muted); font-size:12px; }
@media print { body { padding:0; max-width:none; font-size:11px; }
  section.case, table, .bars { break-inside:avoid; } a { color:inherit; }
  section.case:target { box-shadow:none; } }
"""


def esc(text: object) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(printable(str(text)), quote=True)


def href(path: str) -> str:
    """A relative link to a file next to the report; percent-encoding also defuses `scheme:`."""
    return esc(quote(printable(path).replace("\\", "/"), safe="/"))


def chip(verdict: Verdict, count: int) -> str:
    shape = look(verdict)
    zero = " zero" if count == 0 else ""
    return (
        f'<span class="chip {shape.css}{zero}">{esc(shape.symbol)} <b>{count}</b> '
        f"{esc(shape.label)}</span>"
    )


def write_page(path: Path, title: str, body: str) -> None:
    text = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n"
        f"<body>\n{body}\n</body>\n</html>\n"
    )
    write_atomic(path, text)
