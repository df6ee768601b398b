from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from typer.testing import CliRunner

from assistant.cli import app
from assistant.memory import db
from assistant.memory.models import Base

TABLES = {
    "users",
    "conversations",
    "turns",
    "timers",
    "reminders",
    "calendar_events",
    "lists",
    "list_items",
    "user_facts",
    "accounts",
    "turn_vectors",
    "notices",
}


def _tables(url: str) -> set[str]:
    return set(inspect(db.get_engine(url)).get_table_names()) - {"alembic_version"}


def test_empty_head_base_head(settings) -> None:
    url = settings.database_url
    assert db.current_revision(url) is None
    db.upgrade(url)
    assert db.current_revision(url) == db.head_revision()
    assert _tables(url) == TABLES
    db.downgrade(url, "base")
    assert db.current_revision(url) is None
    assert _tables(url) == set()
    db.upgrade(url)
    assert _tables(url) == TABLES
    db.dispose_engine(url)


def test_models_and_migrations_agree(settings) -> None:
    url = settings.database_url
    db.upgrade(url)
    with db.get_engine(url).connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        assert compare_metadata(context, Base.metadata) == []
    db.dispose_engine(url)


def test_db_commands(settings) -> None:
    runner = CliRunner()
    url = settings.database_url
    args = ["--database-url", url, "db"]
    result = runner.invoke(app, [*args, "current"])
    assert result.exit_code == 0 and "needs" in result.stdout
    result = runner.invoke(app, [*args, "upgrade"])
    assert result.exit_code == 0, result.output
    assert db.current_revision(url) == db.head_revision()
    assert "up to date" in runner.invoke(app, [*args, "current"]).stdout
    assert runner.invoke(app, [*args, "downgrade", "base"]).exit_code == 0
    assert db.current_revision(url) is None
    db.dispose_engine(url)


def test_sqlite_pragmas(settings) -> None:
    from assistant.memory import open_memory

    memory = open_memory(settings)
    with memory.db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.BUSY_TIMEOUT_MS


def test_unusable_location_is_a_clear_error(tmp_path) -> None:
    import pytest

    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    with pytest.raises(db.DatabaseError, match="Cannot create the database folder"):
        db.get_engine(f"sqlite:///{blocker / 'sub' / 'x.db'}")
