"""The web app's sign-in check when accounts exist: each account's scrypt hash (`assistant.accounts`), and
the one account from settings (auth.username / auth.password), compared in constant time.

Gradio awaits the check only when it is a coroutine function (a plain callable's return value is taken as
the answer), so `SignIn.check` is `async def` and runs the slow hash in a worker thread.
"""

from __future__ import annotations

import hmac
from typing import Any

import anyio

from assistant.accounts import Accounts


class SignIn:
    def __init__(self, accounts: Accounts, legacy: tuple[str, str] | None = None) -> None:
        self.accounts = accounts
        self.legacy = legacy

    async def check(self, username: str, password: str) -> bool:
        return await anyio.to_thread.run_sync(self.verify, username, password)

    def verify(self, username: str, password: str) -> bool:
        legacy = False
        if self.legacy is not None:
            same_name = hmac.compare_digest(username.encode("utf-8"), self.legacy[0].encode("utf-8"))
            same_password = hmac.compare_digest(password.encode("utf-8"), self.legacy[1].encode("utf-8"))
            legacy = same_name and same_password
        return self.accounts.verify(username, password) or legacy


def gradio_auth(auth: tuple[str, str] | None, accounts: Accounts | None) -> Any:
    """What to hand Gradio's `launch(auth=...)`: the settings' pair alone, or (with accounts) `SignIn.check`."""
    if accounts is None or accounts.count() == 0:
        return auth
    return SignIn(accounts, auth).check
