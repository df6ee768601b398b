"""`Accounts`: who may sign in to the web app and who owns each API token, in the memory's database.

An account is a name (the memory's user of the same name holds its data), a salted scrypt password hash
and at most one API token, stored as a SHA-256 digest and shown only when it is made. Every check is in
constant time and costs the same whether or not the name exists.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select

from assistant.accounts.hashing import (
    decoy_hash,
    hash_password,
    new_token,
    token_digest,
    verify_password,
)
from assistant.memory.checks import MAX_NAME_CHARS
from assistant.memory.db import Database
from assistant.memory.models import Account, utcnow

GUEST_PREFIX = "guest-"  # the web app's throwaway users (ui.session); no account may look like one
MAX_PASSWORD_CHARS = 1024  # scrypt's cost grows with the input; nobody types more


class AccountError(ValueError):
    """A bad name or password, or a missing or duplicate account; the message is meant for the user."""


@dataclass(frozen=True)
class AccountRecord:
    name: str
    has_token: bool
    created_at: datetime
    token_created_at: datetime | None


def check_name(name: str) -> str:
    """The account name as stored, or `AccountError` saying what is wrong with it."""
    name = (name or "").strip()
    if not name:
        raise AccountError("An account name cannot be empty.")
    if len(name) > MAX_NAME_CHARS:
        raise AccountError(f"An account name has at most {MAX_NAME_CHARS} characters.")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise AccountError("An account name cannot contain control characters.")
    if name.lower().startswith(GUEST_PREFIX):
        raise AccountError(f"Names starting with {GUEST_PREFIX!r} belong to the web app's guests.")
    return name


def check_password(password: str, min_chars: int) -> str:
    if len(password) < min_chars:
        raise AccountError(
            f"The password is too short ({len(password)} characters; at least {min_chars}, "
            "setting auth.min_password_chars)."
        )
    if len(password) > MAX_PASSWORD_CHARS:
        raise AccountError(f"The password is too long (at most {MAX_PASSWORD_CHARS} characters).")
    return password


class Accounts:
    """Accounts over one `Database`. Each method is one short transaction."""

    def __init__(self, database: Database) -> None:
        self.db = database

    def add(self, name: str, password: str, min_chars: int) -> AccountRecord:
        name, password = check_name(name), check_password(password, min_chars)
        hashed = hash_password(password)  # slow: outside the write transaction
        with self.db.write() as session:
            if session.scalar(select(Account.id).where(Account.name == name)) is not None:
                raise AccountError(f"There is already an account called {name!r}.")
            row = Account(name=name, password_hash=hashed)
            session.add(row)
            session.flush()
            return _record(row)

    def list(self) -> list[AccountRecord]:
        with self.db.read() as session:
            return [_record(row) for row in session.scalars(select(Account).order_by(Account.name))]

    def count(self) -> int:
        with self.db.read() as session:
            return int(session.scalar(select(func.count(Account.id))) or 0)

    def exists(self, name: str) -> bool:
        with self.db.read() as session:
            return session.scalar(select(Account.id).where(Account.name == name.strip())) is not None

    def remove(self, name: str) -> None:
        with self.db.write() as session:
            if not session.execute(delete(Account).where(Account.name == name.strip())).rowcount:
                raise AccountError(f"There is no account called {name.strip()!r}.")

    def set_password(self, name: str, password: str, min_chars: int) -> None:
        password = check_password(password, min_chars)
        hashed = hash_password(password)
        with self.db.write() as session:
            row = session.scalar(select(Account).where(Account.name == name.strip()))
            if row is None:
                raise AccountError(f"There is no account called {name.strip()!r}.")
            row.password_hash = hashed
            row.updated_at = utcnow()

    def rotate_token(self, name: str) -> str:
        """A new API token for `name` (the old one stops working); only its digest is kept."""
        token = new_token()
        with self.db.write() as session:
            row = session.scalar(select(Account).where(Account.name == name.strip()))
            if row is None:
                raise AccountError(f"There is no account called {name.strip()!r}.")
            row.token_hash = token_digest(token)
            row.token_created_at = row.updated_at = utcnow()
        return token

    def revoke_token(self, name: str) -> bool:
        with self.db.write() as session:
            row = session.scalar(select(Account).where(Account.name == name.strip()))
            if row is None:
                raise AccountError(f"There is no account called {name.strip()!r}.")
            had = row.token_hash is not None
            row.token_hash = row.token_created_at = None
            row.updated_at = utcnow()
            return had

    def verify(self, name: str, password: str) -> bool:
        """Whether `password` is `name`'s (as slow for an unknown name as for a known one)."""
        name = (name or "").strip()
        with self.db.read() as session:
            stored = session.scalar(select(Account.password_hash).where(Account.name == name))
        if len(password or "") > MAX_PASSWORD_CHARS:
            return False
        matched = verify_password(password or "", stored or decoy_hash())
        return matched and stored is not None

    def name_for_token(self, token: str) -> str | None:
        """The account whose API token this is, or None."""
        if not token:
            return None
        with self.db.read() as session:
            return session.scalar(select(Account.name).where(Account.token_hash == token_digest(token)))

    def has_tokens(self) -> bool:
        with self.db.read() as session:
            return (
                session.scalar(select(Account.id).where(Account.token_hash.is_not(None)).limit(1)) is not None
            )


def _record(row: Account) -> AccountRecord:
    return AccountRecord(row.name, row.token_hash is not None, row.created_at, row.token_created_at)
