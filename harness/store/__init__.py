"""The results store: runs, cells, scenario results, violations, driver builds, crashes and
trace locations, on SQLite (embedded default) or PostgreSQL (a lab's shared store), behind
SQLAlchemy Core with Alembic migrations (docs/nightly.md).

Importing this package imports nothing heavy; `open_results_store` says which extra to
install when SQLAlchemy is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.store.results import ResultsStore

__all__ = ["default_url", "open_results_store", "require_extra"]

_EXTRA = ("sqlalchemy", "alembic", "psycopg", "procrastinate", "plotly")


def require_extra(command: str) -> None:
    """Refuse `command` with how to fix it when the `store` extra is not installed."""
    import importlib.util

    from harness.errors import BackendUnavailableError

    missing = [m for m in _EXTRA if importlib.util.find_spec(m) is None]
    if missing:
        raise BackendUnavailableError(
            f"harness {command} needs the store extra ({', '.join(missing)} missing): "
            "pip install 'hotswap-harness[store]'"
        )


def default_url(runs: Path) -> str:
    """The embedded store of a plan: results.sqlite in its runs directory."""
    return f"sqlite:///{(runs / 'results.sqlite').resolve()}"


def open_results_store(url: str, *, patience: float = 120.0) -> ResultsStore:
    """The store at `url`, its schema migrated to this harness's version (a newer one is
    refused); `patience`: seconds a write retries a lost connection."""
    from harness.store.engine import connect

    engine = connect(url)
    from harness.store.results import ResultsStore

    return ResultsStore(engine, patience=patience)
