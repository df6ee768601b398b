"""A small client for Home Assistant's REST API (https://developers.home-assistant.io/docs/api/rest/):
GET /api/states lists entities; POST /api/services/<domain>/<service> acts on them. Bearer-token auth."""

from __future__ import annotations

from typing import Any

import httpx

from assistant.config import Settings


class HomeAssistantError(RuntimeError):
    """Home Assistant is not set up, unreachable, or refused the request; the message says which."""


class HomeAssistant:
    def __init__(self, url: str, token: str, timeout: float = 5.0) -> None:
        self.url = url.rstrip("/")
        self._client = httpx.Client(
            base_url=self.url,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=timeout,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> HomeAssistant | None:
        """A client, or None when home_assistant.url or .token is not set."""
        section = settings.home_assistant
        if not section.url or section.token is None or not section.token.get_secret_value():
            return None
        return cls(section.url, section.token.get_secret_value())

    def close(self) -> None:
        self._client.close()

    def _request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        try:
            response = self._client.request(method, path, json=payload)
        except httpx.TimeoutException as exc:
            raise HomeAssistantError(f"Home Assistant at {self.url} did not answer in time.") from exc
        except httpx.HTTPError as exc:
            raise HomeAssistantError(f"I can't reach Home Assistant at {self.url}.") from exc
        if response.status_code == 401:
            raise HomeAssistantError("Home Assistant refused the access token. Check home_assistant.token.")
        if response.status_code == 404:
            raise HomeAssistantError(f"Home Assistant has no {path.removeprefix('/api/')}.")
        if response.status_code >= 400:
            detail = response.text[:200].strip()
            raise HomeAssistantError(
                f"Home Assistant answered {response.status_code}: {detail or 'no details'}."
            )
        try:
            return response.json()
        except ValueError as exc:
            raise HomeAssistantError("Home Assistant sent a reply I could not read.") from exc

    def states(self) -> list[dict[str, Any]]:
        data = self._request("GET", "/api/states")
        if not isinstance(data, list):
            raise HomeAssistantError("Home Assistant sent an unexpected list of states.")
        return [item for item in data if isinstance(item, dict) and "entity_id" in item]

    def call(self, domain: str, service: str, data: dict[str, Any]) -> list[dict[str, Any]]:
        """Call a service; returns the states that changed."""
        result = self._request("POST", f"/api/services/{domain}/{service}", data)
        return result if isinstance(result, list) else []
