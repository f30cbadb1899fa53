"""Reports of a run: JUnit XML for CI, one static HTML page, live terminal progress and summary.

Everything here renders a `harness.results.RunResult` (or a `SelftestMatrix`) with the
standard library only, so reports work on a base install.
"""

from harness.report.html import write_html, write_selftest_html
from harness.report.junit import write_junit
from harness.report.terminal import Progress, summary

__all__ = ["Progress", "summary", "write_html", "write_junit", "write_selftest_html"]
