"""Who may call the OpenAI-compatible API, and as whom: a bearer token.

Two kinds of token. An account's own token (`assistant users token NAME`, stored hashed) acts for that
account only: its requests may not name another `user`. The shared token, auth.api_token or else
auth.password (the web app's), is the operator's and acts for the request's `user` field, else
auth.username, else the owner. A token is required whenever one is configured or an account exists
(configured credentials are always enforced, as in the web app) and whenever the server can be reached
from other machines (a non-localhost interface or a share link): an exposed server with no token at all
answers every API call with 401 and says how to make one, even when the page itself was served with
--insecure-no-auth. Without any, on localhost, calls act for the owner unless they name a `user`. Wrong
tokens are throttled per client like failed sign-ins (`ui.throttle`), and only per client: a token is no
account name a crowd could lock out for everyone (an exposed server's shared token has at least
auth.min_password_chars characters, accounts' tokens are random). A refused call runs nothing.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from assistant.config import Settings
from ui.throttle import LoginThrottle

THROTTLE_PREFIX = "openai-api "  # wrong tokens count per client: one client's guesses never lock out others
TOKEN_HINT = (
    "Make a token for an account with `assistant users token NAME`, or set a shared one with "
    "`export ASSISTANT_AUTH__API_TOKEN=...` (or auth.api_token in assistant.toml; auth.password also "
    "works), and send it as `Authorization: Bearer <token>`."
)


@dataclass(frozen=True)
class TokenPolicy:
    token: str | None  # the shared secret callers may send; None = none configured
    required: bool  # False only for a localhost server with no shared token (accounts are checked live)

    @classmethod
    def from_settings(cls, settings: Settings, exposed: bool) -> TokenPolicy:
        auth = settings.auth
        secret = auth.api_token or auth.password
        token = secret.get_secret_value() if secret is not None else None
        token = token or None
        return cls(token=token, required=exposed or token is not None)


@dataclass(frozen=True)
class Caller:
    """Who a request came from: `account` when it sent an account's own token, else None (the shared
    token, or a localhost server that needs none), which may act for any user it names."""

    account: str | None = None


class Unauthorized(Exception):
    """The request may not use the API; `status` is 401 (or 429 while wrong tokens are throttled)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class BearerAuth:
    """Checks `Authorization: Bearer ...` against the shared token and the accounts' tokens, in constant
    time. `accounts`: an `assistant.accounts.Accounts` (None: the shared token only)."""

    def __init__(self, policy: TokenPolicy, throttle: LoginThrottle, accounts: Any = None) -> None:
        self.policy = policy
        self.throttle = throttle
        self.accounts = accounts

    def check(self, authorization: str | None, client: str) -> Caller:
        """The caller when they may proceed; raise `Unauthorized` with a sentence otherwise."""
        has_accounts = self.accounts is not None and self.accounts.count() > 0
        if not (self.policy.required or has_accounts):
            return Caller()
        if self.policy.token is None and not (has_accounts and self.accounts.has_tokens()):
            reason = (
                "This server is reachable from other machines, so its API needs a token. "
                if not has_accounts
                else "This server has accounts, so its API needs a token and none has one yet. "
            )
            raise Unauthorized(401, reason + TOKEN_HINT)
        wait = self.throttle.wait_s(client, THROTTLE_PREFIX + client)
        if wait > 0:
            raise Unauthorized(429, f"Too many wrong API tokens; try again in {wait:.0f} s.")
        scheme, _, sent = (authorization or "").strip().partition(" ")
        sent = sent.strip()
        if scheme.lower() != "bearer" or not sent:
            raise Unauthorized(401, "This API needs a token: send `Authorization: Bearer <token>`.")
        shared = self.policy.token is not None and hmac.compare_digest(
            sent.encode("utf-8"), self.policy.token.encode("utf-8")
        )
        account = None if shared or not has_accounts else self.accounts.name_for_token(sent)
        if not shared and account is None:
            self.throttle.failed(client, THROTTLE_PREFIX + client)
            raise Unauthorized(401, "The API token is wrong.")
        self.throttle.succeeded(client)
        return Caller(account=account)
