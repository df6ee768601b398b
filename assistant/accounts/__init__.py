"""Accounts (names, scrypt password hashes, per-user API tokens) and which user each door acts for."""

from __future__ import annotations

from assistant.accounts.store import AccountError, AccountRecord, Accounts
from assistant.config import Settings

__all__ = ["AccountError", "AccountRecord", "Accounts", "open_accounts"]


def open_accounts(settings: Settings) -> Accounts:
    """The accounts in the configured database (migrated to head first)."""
    from assistant.memory.db import open_database

    return Accounts(open_database(settings))
