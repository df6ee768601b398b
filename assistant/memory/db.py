"""Engine set-up and migrations. One engine per database URL per process; SQLite configured for threads.

SQLite: WAL (readers never block the writer), foreign keys on, a busy timeout, and write transactions
opened with BEGIN IMMEDIATE so two writers queue on the lock instead of failing with "database is locked"
when a deferred read transaction tries to upgrade. PostgreSQL URLs go through the same code unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from assistant.config import Settings

BUSY_TIMEOUT_MS = 30_000
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()


class DatabaseError(RuntimeError):
    """The database cannot be opened or written; the message says which file and what to do."""


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_file(url: str) -> Path | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _prepare_sqlite_path(url: str) -> None:
    """Create the parent folder; fail fast with a clear message on a read-only or missing location."""
    path = _sqlite_file(url)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseError(f"Cannot create the database folder {path.parent}: {exc.strerror}.") from exc
    if path.exists() and not _writable(path):
        raise DatabaseError(
            f"The database file {path} is read-only. Fix its permissions or set database_url."
        )
    if not path.exists() and not _writable(path.parent):
        raise DatabaseError(
            f"The folder {path.parent} is not writable. Set database_url to a writable place."
        )


def _writable(path: Path) -> bool:
    import os

    return os.access(path, os.W_OK)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")  # durable across process crashes in WAL mode
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection) -> None:  # type: ignore[no-untyped-def]
        immediate = connection.get_execution_options().get("sqlite_begin_immediate", False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def get_engine(url: str) -> Engine:
    """The process-wide engine for `url` (created on first use)."""
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            if is_sqlite(url):
                _prepare_sqlite_path(url)
                engine = create_engine(
                    url,
                    connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
                    pool_size=8,
                    max_overflow=16,
                    pool_pre_ping=False,
                )
                _configure_sqlite(engine)
            else:
                engine = create_engine(url, pool_pre_ping=True)
            _engines[url] = engine
        return engine


def dispose_engine(url: str) -> None:
    """Close and forget the engine (tests, and before a database file is moved or deleted)."""
    with _engines_lock:
        engine = _engines.pop(url, None)
    if engine is not None:
        engine.dispose()


class Database:
    """Sessions on one engine: `read()` for queries, `write()` for short write transactions."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = get_engine(url)
        write_engine = self.engine.execution_options(sqlite_begin_immediate=True)
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(write_engine, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._guard(), self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._guard(), self._write() as session, session.begin():
            yield session

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            yield
        except OperationalError as exc:
            raise DatabaseError(_explain_operational_error(self.url, exc)) from exc

    def integrity_check(self) -> str:
        if not is_sqlite(self.url):
            return "ok"
        with self.engine.connect() as conn:
            return str(conn.exec_driver_sql("PRAGMA integrity_check").scalar())


def _explain_operational_error(url: str, exc: OperationalError) -> str:
    message = str(exc.orig) if exc.orig is not None else str(exc)
    where = _sqlite_file(url) or make_url(url).render_as_string(hide_password=True)
    if "readonly" in message or "read-only" in message:
        return f"The database {where} is read-only ({message}). Fix its permissions or set database_url."
    if "disk is full" in message or "database or disk is full" in message:
        return f"The disk holding {where} is full ({message}). Free space or move the database."
    if "unable to open" in message:
        return f"Cannot open the database {where} ({message}). Check the path and permissions."
    if "no such table" in message:
        return f"The database {where} is not migrated ({message}). Run `assistant db upgrade`."
    return f"Database error on {where}: {message}"


# --- migrations --------------------------------------------------------------------------------------


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["engine"] = get_engine(url)
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    _run_migration(lambda: command.upgrade(alembic_config(url), revision), url)


def downgrade(url: str, revision: str = "-1") -> None:
    from alembic import command

    _run_migration(lambda: command.downgrade(alembic_config(url), revision), url)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def _run_migration(action, url: str) -> None:  # type: ignore[no-untyped-def]
    try:
        action()
    except OperationalError as exc:
        raise DatabaseError(_explain_operational_error(url, exc)) from exc
    except SQLAlchemyError as exc:
        raise DatabaseError(f"Migration failed on {url}: {exc}") from exc


def open_database(settings: Settings) -> Database:
    """Open the configured database and migrate it to head (the app does this on start)."""
    url = settings.database_url
    if current_revision_safe(url) != head_revision():
        upgrade(url)
    return Database(url)


def current_revision_safe(url: str) -> str | None:
    try:
        return current_revision(url)
    except OperationalError as exc:
        raise DatabaseError(_explain_operational_error(url, exc)) from exc


def prepare_database(settings: Settings) -> str:
    """Set-up step: create or migrate the database to head."""
    database = open_database(settings)
    with database.read() as session:
        session.execute(text("SELECT 1"))
    return f"{database.url} at revision {head_revision()}"
