"""Nightly runs of a test plan: cells scheduled on machine slots, results in the results
store, resumable after any kill; history, flakiness, sign-off and the dashboard over it
(docs/nightly.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.plan.load import LoadedPlan

__all__ = ["store_url"]


def store_url(loaded: LoadedPlan, override: str | None = None) -> str:
    """The plan's store: `override`, else the plan's `store` (a relative sqlite path is
    relative to the plan file), else results.sqlite in its runs directory."""
    from pathlib import Path

    from harness.store import default_url

    url = override or loaded.plan.store
    if not url:
        return default_url(loaded.base / loaded.plan.runs)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        return f"sqlite:///{(loaded.base / Path(url[len('sqlite:///') :])).resolve()}"
    return url
