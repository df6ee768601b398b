"""Where the Wyoming server may listen: the rules of `assistant serve`, for a protocol without a login.

`serve` answers on localhost without a login and asks for one anywhere else unless the operator passes
--insecure-no-auth (or sets auth.disable). Wyoming has no login at all (Home Assistant just connects), so
any interface other than loopback takes that explicit flag, with a warning of what it exposes; configured
web credentials do not protect it. A unix socket is local by nature (its file permissions guard it).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlparse

from assistant.config import Settings
from assistant.net import is_loopback

EXPOSE_HINT = (
    "Keep it on 127.0.0.1 (the default) and run Home Assistant on the same machine, or reach it through an "
    "SSH tunnel; or pass --insecure-no-auth if this network is trusted."
)


class BindError(ValueError):
    """The requested address is malformed or unsafe; the message says how to fix it."""


@dataclass(frozen=True)
class Binding:
    scheme: str  # "tcp" or "unix"
    host: str = ""
    port: int = 0
    path: str = ""

    @property
    def where(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"tcp://{host}:{self.port}"


@dataclass(frozen=True)
class WyomingPlan:
    binding: Binding
    warnings: tuple[str, ...] = ()


def parse_uri(uri: str) -> Binding:
    """tcp://HOST:PORT or unix://PATH, as the reference servers take them (--uri)."""
    try:
        parsed = urlparse(uri.strip())
        port = parsed.port
    except ValueError as exc:
        raise BindError(
            f"Cannot read the address {uri!r}: {exc}. Use tcp://HOST:PORT or unix://PATH."
        ) from None
    if parsed.scheme == "tcp":
        if not parsed.hostname or port is None:
            raise BindError(f"{uri!r} needs a host and a port, e.g. tcp://127.0.0.1:10700.")
        if not 0 < port < 65536:
            raise BindError(f"Port {port} is out of range (1-65535).")
        return Binding("tcp", host=parsed.hostname, port=port)
    if parsed.scheme == "unix":
        path = (parsed.netloc + parsed.path) if parsed.netloc else parsed.path
        if not path:
            raise BindError(f"{uri!r} needs a socket path, e.g. unix:///run/assistant-wyoming.sock.")
        return Binding("unix", path=path)
    raise BindError(f"Unsupported address {uri!r}: use tcp://HOST:PORT or unix://PATH.")


def plan(settings: Settings, uri: str, insecure_no_auth: bool = False) -> WyomingPlan:
    """Where to listen, refusing a network interface unless the operator explicitly allowed it."""
    binding = parse_uri(uri)
    if binding.scheme == "unix" or is_loopback(binding.host):
        return WyomingPlan(binding)
    if not (insecure_no_auth or settings.auth.disable):
        raise BindError(
            f"Refusing to serve Wyoming on {binding.host} (reachable from other machines): the protocol has "
            "no login, so anyone who can reach the port could talk to the assistant and use its memory. "
            + EXPOSE_HINT
        )
    return WyomingPlan(
        binding,
        (
            f"Serving Wyoming on {binding.where} WITHOUT a login (the protocol has none): anyone who can reach "
            "it can use the assistant, its skills and its memory as the Home Assistant user.",
        ),
    )
