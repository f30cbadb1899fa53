from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from harness.report.html import write_html
from harness.results.model import RunResult
from tests.unit.report.conftest import HOSTILE, case, run_of

VOID = {"meta", "br", "img", "hr", "input", "link"}


class Page(HTMLParser):
    """Collects elements and checks that every opened tag is closed in order."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.problems: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def find(self, tag: str, cls: str = "") -> list[dict[str, str]]:
        return [
            a for t, a in self.elements if t == tag and cls in [*a.get("class", "").split(), ""]
        ]


def _render(run: RunResult, tmp_path: Path) -> tuple[str, Page]:
    path = tmp_path / "report.html"
    write_html(run, path)
    raw = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(raw)
    page.close()
    assert page.problems == []
    assert page.stack == []
    return raw, page


def test_matrix_has_one_cell_per_case_with_its_verdict_class(
    mixed_run: RunResult, tmp_path: Path
) -> None:
    _, page = _render(mixed_run, tmp_path)
    cells = page.find("td", "cell")
    # 6 scenarios x 3 repetitions; the 4 single-shot scenarios leave 8 empty cells.
    assert len(cells) == 18
    classes = [c["class"].split()[1] for c in cells]
    assert classes.count("v-none") == 8
    assert classes.count("v-violation") == 1
    assert classes.count("v-infra") == 1
    assert classes.count("v-crash") == 1
    assert classes.count("v-na") == 1
    assert classes.count("v-pass") == 6


def test_cells_link_to_details_and_details_exist(mixed_run: RunResult, tmp_path: Path) -> None:
    _, page = _render(mixed_run, tmp_path)
    ids = {a["id"] for t, a in page.elements if "id" in a}
    fragments = [a["href"][1:] for a in page.find("a") if a.get("href", "").startswith("#")]
    assert len(fragments) == 4  # violation, n/a, infra, crash
    assert set(fragments) <= ids
    assert len(page.find("section", "case")) == 4
    hrefs = {a["href"] for a in page.find("a")}
    assert "traces/swap_while_idle-1.jsonl" in hrefs


def test_violation_explanation_and_excerpt_are_shown(mixed_run: RunResult, tmp_path: Path) -> None:
    raw, page = _render(mixed_run, tmp_path)
    text = "".join(page.text)
    assert "old_version_after_swap" in text
    assert "After a completed swap only the new version may run." in text
    assert '{"seq":42,"kind":"swap_done","version":2}' in text
    assert re.search(r"<pre>[^<]*&quot;seq&quot;:41", raw)


def test_header_and_overall_verdict(mixed_run: RunResult, tmp_path: Path) -> None:
    _, page = _render(mixed_run, tmp_path)
    text = "".join(page.text)
    for value in ("sim", "20261121-193704-abc", "2026-11-21T19:37:04Z", "0.1.0", "documented"):
        assert value in text
    assert page.find("div", "badge")[0]["class"] == "badge v-violation"
    assert "FAIL" in text and "worst: crash" in text


def test_all_passing_run_says_pass(tmp_path: Path) -> None:
    _, page = _render(run_of([case("a"), case("b")]), tmp_path)
    assert page.find("div", "badge")[0]["class"] == "badge v-pass"
    assert "PASS" in "".join(page.text)
    assert page.find("section", "case") == []


def test_differing_convention_is_highlighted(mixed_run: RunResult, tmp_path: Path) -> None:
    _, page = _render(mixed_run, tmp_path)
    assert len(page.find("tr", "differs")) == 1
    matching = run_of([case("convention", facts={"convention": "documented"})])
    _, page = _render(matching, tmp_path)
    assert page.find("tr", "differs") == []
    assert "as expected" in "".join(page.text)


def test_timings_are_drawn_as_bars_in_proportion(mixed_run: RunResult, tmp_path: Path) -> None:
    _, page = _render(mixed_run, tmp_path)
    bars = [a for t, a in page.elements if t == "span" and "width:" in a.get("style", "")]
    assert len(bars) == 6
    widths = [float(re.findall(r"width:([\d.]+)%", b["style"])[0]) for b in bars]
    assert max(widths) == 100.0  # swap_while_idle, mean 0.2 s
    assert widths[0] == 10.0  # feature_probe, 0.02 s


def test_hostile_text_cannot_inject_markup(hostile_run: RunResult, tmp_path: Path) -> None:
    raw, page = _render(hostile_run, tmp_path)
    assert "<script" not in raw
    assert "<img" not in raw
    assert "<b>x</b>" not in raw
    assert "\x00" not in raw and "\x1b" not in raw
    assert not {tag for tag, _ in page.elements} & {"script", "img"}
    # The hostile text is still there, as text.
    assert '<script>alert("x")</script>' in "".join(page.text)
    trace_links = [a["href"] for a in page.find("a") if "jsonl" in a.get("href", "")]
    assert trace_links and all('"' not in h and "<" not in h for h in trace_links)
    assert HOSTILE.split("\x00")[0] in "".join(page.text)


def test_no_external_resources(mixed_run: RunResult, tmp_path: Path) -> None:
    raw, page = _render(mixed_run, tmp_path)
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", raw, re.IGNORECASE)
    assert "@import" not in raw and "url(" not in raw
    assert page.find("script") == [] and page.find("link") == []


def test_empty_run_renders(tmp_path: Path) -> None:
    _, page = _render(run_of([], duration=0.0), tmp_path)
    assert page.find("div", "badge")[0]["class"] == "badge v-none"
    assert page.find("td", "cell") == []


def test_guest_and_driver_section_groups_cases_by_environment(tmp_path: Path) -> None:
    from harness.report import write_html, write_junit

    def env(machine: str, sha: str) -> dict[str, str]:
        return {"guest_build": "6.1.0-57-cloud-amd64", "machine": machine, "sha256 hsprobe.ko": sha}

    run = run_of(
        [
            case("a", environment=env("hs-x-0", "ab" * 32)),
            case("b", environment=env("hs-x-1", "ab" * 32)),
            case("c", environment=env("hs-x-0", "cd" * 32)),
        ],
        target="lab:l.toml",
    )
    write_html(run, tmp_path / "report.html")
    page = (tmp_path / "report.html").read_text()
    section = page.split("<h2>Guest and driver</h2>")[1]
    assert section.count("<table>") == 2  # two builds of the driver, machines aside
    assert "2 case(s) on hs-x-0, hs-x-1" in section and "ab" * 32 in section
    write_junit(run, tmp_path / "junit.xml")
    assert "sha256 hsprobe.ko: " + "cd" * 32 in (tmp_path / "junit.xml").read_text()
    write_html(run_of([case("a")]), tmp_path / "sim.html")
    assert "Guest and driver" not in (tmp_path / "sim.html").read_text()
