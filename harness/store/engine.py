"""Opening a results store by URL: the engine (SQLite tuned for one writer and many readers,
PostgreSQL with a pre-ping), the schema brought to this harness's version by Alembic, and a
store of a newer schema refused with a message that says what to do.

    sqlite:///PATH                      the embedded default (a file beside the runs)
    postgresql+psycopg://USER@HOST/DB   the shared store of a lab
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from harness.errors import BackendUnavailableError, ConfigError, InfrastructureError

__all__ = ["HEAD", "connect", "schema_version"]

HEAD = "0001"
"""The schema version this harness writes (the newest Alembic revision)."""
_MIGRATIONS = Path(__file__).parent / "migrations"


def _import_sqlalchemy() -> Any:
    try:
        import sqlalchemy
    except ImportError:
        raise BackendUnavailableError(
            "the results store needs SQLAlchemy and Alembic: pip install 'hotswap-harness[store]'"
        ) from None
    return sqlalchemy


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers (history, dashboards) never block the nightly's writer; NORMAL sync is
    # durable across a process kill (SIGKILL), which is what resumption needs
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "busy_timeout=60000",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _engine(url: str) -> Any:
    sa = _import_sqlalchemy()
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        raise ConfigError(
            f"store {url!r} is not a database URL; use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DB"
        ) from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ConfigError(
                "store: an in-memory SQLite store keeps nothing; name a file: sqlite:///PATH"
            )
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed, connect_args={"timeout": 60})
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql":
        try:
            return sa.create_engine(
                parsed, pool_pre_ping=True, pool_size=4, connect_args={"connect_timeout": 10}
            )
        except ImportError:
            raise BackendUnavailableError(
                "the PostgreSQL store needs psycopg: pip install 'hotswap-harness[store]'"
            ) from None
    raise ConfigError(
        f"store {parsed.render_as_string(hide_password=True)}: the "
        f"{parsed.get_backend_name()} backend is not supported; use sqlite or "
        "postgresql"
    )


def schema_version(connection: Any) -> str | None:
    """The store's Alembic revision (None for an empty database)."""
    sa = _import_sqlalchemy()
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    row = connection.execute(sa.text("SELECT version_num FROM alembic_version")).first()
    return str(row[0]) if row else None


def _check_version(found: str | None, where: str) -> None:
    if found is None or found == HEAD:
        return
    if not re.fullmatch(r"\d{4}", found):
        raise ConfigError(
            f"store {where}: schema version {found!r} is not one of this "
            "harness's; name a results store (or a new database)"
        )
    if int(found) > int(HEAD):
        raise ConfigError(
            f"store {where}: schema version {found} is newer than this harness "
            f"knows ({HEAD}); upgrade the harness (pip install -U "
            "hotswap-harness) or use another store"
        )


def _upgrade(connection: Any) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def connect(url: str) -> Any:
    """An engine on `url` whose schema is this harness's (migrated forward if older)."""
    sa = _import_sqlalchemy()
    engine = _engine(url)
    where = engine.url.render_as_string(hide_password=True)
    try:
        with engine.begin() as connection:
            found = schema_version(connection)
            _check_version(found, where)
            if found != HEAD:
                if engine.dialect.name == "postgresql":  # one migrator at a time
                    connection.execute(sa.text("SELECT pg_advisory_xact_lock(7305001)"))
                    found = schema_version(connection)
                if found != HEAD:
                    _upgrade(connection)
    except sa.exc.OperationalError as e:
        engine.dispose()
        raise InfrastructureError(
            f"store {where}: cannot connect ({_reason(e)}); check the "
            "URL and that the database is running"
        ) from None
    except sa.exc.DatabaseError as e:
        engine.dispose()
        raise ConfigError(f"store {where}: not a results store ({_reason(e)})") from None
    return engine


def _reason(e: Exception) -> str:
    text = str(getattr(e, "orig", e)).strip().splitlines()
    return text[0] if text else type(e).__name__
