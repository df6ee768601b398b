"""Wyoming events on a stream, read with limits.

A Wyoming event is a JSON header line, then optional extra JSON data (`data_length` bytes) and an optional
binary payload (`payload_length` bytes). The `wyoming` package's own reader trusts both lengths, so a
client could announce a 10 GB payload and the server would wait to buffer it; here every part is bounded
before it is read, and anything malformed is a `ProtocolError` (the connection cannot be resynchronised
after it, so the server answers with an `error` event and closes).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from wyoming.event import Event

MAX_HEADER_BYTES = 64 * 1024  # the StreamReader limit: one JSON header line
MAX_DATA_BYTES = 1024 * 1024  # extra JSON data of one event (synthesize text is capped far below this)
MAX_PAYLOAD_BYTES = 1024 * 1024  # one audio chunk: 32 s of 16 kHz 16-bit mono; clients send ~64 ms


class ProtocolError(ValueError):
    """The bytes are not a Wyoming event we accept; the message says what is wrong."""


@dataclass(frozen=True)
class Limits:
    header_bytes: int = MAX_HEADER_BYTES
    data_bytes: int = MAX_DATA_BYTES
    payload_bytes: int = MAX_PAYLOAD_BYTES


async def read_event(reader: asyncio.StreamReader, limits: Limits = Limits()) -> Event | None:
    """The next event, or None at the end of the stream (the client hung up, even mid-event)."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial.strip():
            return None
        raise ProtocolError("The stream ended in the middle of an event header.") from None
    except asyncio.LimitOverrunError:
        raise ProtocolError(f"An event header is longer than {limits.header_bytes:,} bytes.") from None
    if not line.strip():
        raise ProtocolError("An event header is empty (a blank line).")
    header = _json_object(line, "event header")
    kind = header.get("type")
    if not isinstance(kind, str) or not kind:
        raise ProtocolError("An event header has no `type` string.")
    data = header.get("data") or {}
    if not isinstance(data, dict):
        raise ProtocolError(f"The `data` of a {kind!r} event is not a JSON object.")
    data_length = _length(header, "data_length", limits.data_bytes, kind)
    payload_length = _length(header, "payload_length", limits.payload_bytes, kind)
    try:
        if data_length:
            data = {**data, **_json_object(await reader.readexactly(data_length), f"{kind!r} data")}
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        return None  # hung up mid-event: nothing to answer
    return Event(type=kind, data=data, payload=payload)


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(f"The {what} is not valid JSON.") from None
    if not isinstance(value, dict):
        raise ProtocolError(f"The {what} is not a JSON object.")
    return value


def _length(header: dict[str, Any], key: str, limit: int, kind: str) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError(f"`{key}` of a {kind!r} event is not a byte count: {value!r}.")
    if value > limit:
        raise ProtocolError(
            f"A {kind!r} event announces {value:,} bytes of {key[:-7]}; the most is {limit:,}."
        )
    return value


class RequestError(ValueError):
    """A request we cannot serve (bad audio, unknown voice, text too long): answered with an `error` event
    carrying `message` and `code`, then the connection is closed, as Home Assistant opens one per request."""

    def __init__(self, message: str, code: str = "bad-request") -> None:
        super().__init__(message)
        self.code = code
