"""Who each door of the assistant acts for.

On this machine without sign-in, every door (the web app, `chat`, `talk`, the OpenAI-compatible API and,
through `wyoming.user`, Wyoming) acts for one owner, `settings.owner` (the login name by default), so what
you told one is known to the others and survives a page reload. A server reachable from other machines
never hands the owner's memory to whoever connects: there, people sign in to accounts (`Accounts`) or, with
--insecure-no-auth, each page load is its own throwaway guest.
"""

from __future__ import annotations

from assistant.config import Settings
from assistant.net import is_loopback


def exposed(host: str, share: bool) -> bool:
    """The server can be reached from other machines."""
    return share or not is_loopback(host)


def web_owner(settings: Settings) -> str | None:
    """The user every web tab acts for when nobody signs in, or None: each tab is its own guest (an exposed
    server, or web.guest_tabs)."""
    if settings.web.guest_tabs or exposed(settings.host, settings.share):
        return None
    return settings.owner
