"""Outside services (weather, news, music...) behind one small interface, chosen by service name.

Nothing is connected by default, and the assistant says so plainly instead of making an answer up.
A real integration registers a provider under the service's name:

    @providers.register("weather")
    class MyWeather:
        service = "weather"
        def __init__(self, settings): ...
        def answer(self, ctx: SkillContext) -> SkillResult: ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from assistant.registry import Registry

if TYPE_CHECKING:
    from assistant.dialog.skill import SkillContext, SkillResult


@runtime_checkable
class Provider(Protocol):
    service: str

    def answer(self, ctx: SkillContext) -> SkillResult: ...


providers: Registry[Provider] = Registry("provider")


@dataclass(frozen=True)
class Service:
    name: str
    intents: frozenset[str]
    cannot: str  # what the assistant cannot do without it, as "I can't ..."


SERVICES = (
    Service("weather", frozenset({"weather_query"}), "check the weather"),
    Service("news", frozenset({"news_query"}), "read the news"),
    Service(
        "music",
        frozenset({"play_music", "music_query", "music_likeness", "music_dislikeness", "music_settings",
                   "play_radio", "play_podcasts", "play_audiobook"}),
        "play music, radio, podcasts or audiobooks",
    ),
    Service("stocks", frozenset({"qa_stock"}), "look up stock prices"),
    Service("currency", frozenset({"qa_currency"}), "look up exchange rates"),
    Service("email", frozenset({"email_query", "email_sendemail", "email_querycontact", "email_addcontact"}),
            "read or send email"),
    Service("social", frozenset({"social_post", "social_query"}), "use social media"),
    Service("transport", frozenset({"transport_query", "transport_ticket", "transport_taxi", "transport_traffic"}),
            "check traffic, book tickets or call a taxi"),
    Service("takeaway", frozenset({"takeaway_order", "takeaway_query"}), "order food"),
    Service("volume", frozenset({"audio_volume_up", "audio_volume_down", "audio_volume_mute"}),
            "change the speaker volume from here"),
    Service("games", frozenset({"play_game"}), "play games"),
)  # fmt: skip


class NotConnected:
    """The default provider: an honest answer that the service is not connected."""

    def __init__(self, service: Service) -> None:
        self.service = service.name
        self._cannot = service.cannot

    def answer(self, ctx: SkillContext) -> SkillResult:
        from assistant.dialog.skill import SkillResult

        return SkillResult(
            f"I can't {self._cannot}: no {self.service} service is connected to me.",
            {"service": self.service, "connected": False},
        )
