"""The Home Assistant skill against a local HTTP server that imitates its REST API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from assistant.config import load_settings
from assistant.dialog.manager import DialogManager

from .conftest import Chat

TOKEN = "test-token"


class FakeHomeAssistant:
    def __init__(self) -> None:
        self.states = {
            "light.kitchen": {
                "entity_id": "light.kitchen",
                "state": "off",
                "attributes": {"friendly_name": "Kitchen Light"},
            },
            "light.living_room": {
                "entity_id": "light.living_room",
                "state": "on",
                "attributes": {"friendly_name": "Living Room Lamp"},
            },
            "switch.coffee_maker": {
                "entity_id": "switch.coffee_maker",
                "state": "off",
                "attributes": {"friendly_name": "Coffee Maker"},
            },
            "switch.fan": {
                "entity_id": "switch.fan",
                "state": "off",
                "attributes": {"friendly_name": "Desk Fan"},
            },
            "sensor.temp": {"entity_id": "sensor.temp", "state": "21", "attributes": {}},
        }
        self.calls: list[tuple[str, str, dict]] = []

    def handler(self):  # type: ignore[no-untyped-def]
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def _send(self, status: int, body) -> None:  # type: ignore[no-untyped-def]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    self._send(401, {"message": "Invalid authentication"})
                    return False
                return True

            def do_GET(self) -> None:
                if not self._authorized():
                    return
                if self.path == "/api/states":
                    self._send(200, list(fake.states.values()))
                else:
                    self._send(404, {"message": "Not found"})

            def do_POST(self) -> None:
                if not self._authorized():
                    return
                parts = self.path.strip("/").split("/")
                if len(parts) != 4 or parts[:2] != ["api", "services"]:
                    self._send(404, {"message": "Not found"})
                    return
                domain, service = parts[2], parts[3]
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
                fake.calls.append((domain, service, body))
                ids = body.get("entity_id", [])
                ids = [ids] if isinstance(ids, str) else ids
                changed = []
                for entity_id in ids:
                    if entity_id in fake.states:
                        fake.states[entity_id]["state"] = "off" if service == "turn_off" else "on"
                        changed.append(fake.states[entity_id])
                self._send(200, changed)

        return Handler


@pytest.fixture
def fake_ha() -> Iterator[tuple[FakeHomeAssistant, str]]:
    fake = FakeHomeAssistant()
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake.handler())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield fake, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _chat(settings, memory, url: str | None, token: str | None) -> Chat:
    section = {"url": url, "token": token} if url else {}
    configured = load_settings({**settings.model_dump(exclude={"home_assistant"}), "home_assistant": section})
    manager = DialogManager(memory, configured)
    user = memory.user("ana")
    return Chat(manager, memory, user.id, memory.start_conversation(user.id).id)


def test_lights_and_switches(fake_ha, settings, memory) -> None:
    fake, url = fake_ha
    chat = _chat(settings, memory, url, TOKEN)
    on = chat.say("turn on the kitchen lights", "iot_hue_lighton")
    assert on.skill == "home" and on.result.text == "Turned on Kitchen Light."
    assert fake.calls[-1] == ("light", "turn_on", {"entity_id": ["light.kitchen"]})
    assert fake.states["light.kitchen"]["state"] == "on"
    assert on.result.data["changed"] == [{"entity_id": "light.kitchen", "state": "on"}]

    assert (
        chat.reply("turn off the lights", "iot_hue_lightoff")
        == "Turned off Kitchen Light and Living Room Lamp."
    )
    assert fake.calls[-1] == ("light", "turn_off", {"entity_id": ["light.kitchen", "light.living_room"]})

    assert chat.reply("dim the living room lights", "iot_hue_lightdim") == "Dimmed Living Room Lamp."
    assert fake.calls[-1][2] == {"entity_id": ["light.living_room"], "brightness_step_pct": -25}
    assert (
        chat.reply("set the kitchen light to 40 percent", "iot_hue_lightup")
        == "Set Kitchen Light to 40% brightness."
    )
    assert fake.calls[-1][2]["brightness_pct"] == 40
    assert (
        chat.reply("make the kitchen light blue", "iot_hue_lightchange") == "Changed Kitchen Light to blue."
    )
    assert fake.calls[-1][2] == {"entity_id": ["light.kitchen"], "color_name": "blue"}

    assert chat.reply("turn on the coffee machine", "iot_coffee") == "Turned on Coffee Maker."
    assert fake.calls[-1] == ("switch", "turn_on", {"entity_id": ["switch.coffee_maker"]})
    assert chat.reply("turn off the desk fan", "iot_wemo_off") == "Turned off Desk Fan."
    which = chat.reply("turn on the plug", "iot_wemo_on")
    assert which == "Which one: Coffee Maker or Desk Fan?"
    assert (
        chat.reply("start the vacuum", "iot_cleaning")
        == "Home Assistant has no vacuum cleaners I can control."
    )


def test_not_configured_bad_token_and_unreachable(fake_ha, settings, memory) -> None:
    fake, url = fake_ha
    missing = _chat(settings, memory, None, None)
    assert missing.reply("turn on the lights", "iot_hue_lighton").startswith("Home Assistant isn't set up")
    bad_token = _chat(settings, memory, url, "wrong")
    assert bad_token.reply("turn on the lights", "iot_hue_lighton") == (
        "Home Assistant refused the access token. Check home_assistant.token."
    )
    assert fake.calls == []
    # a closed port on this machine: nothing listens there
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = _chat(settings, memory, f"http://127.0.0.1:{port}", TOKEN)
    assert (
        down.reply("turn on the lights", "iot_hue_lighton")
        == f"I can't reach Home Assistant at http://127.0.0.1:{port}."
    )
