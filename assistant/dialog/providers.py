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

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from nlu.plugins import Registry

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
    # words without which a request is not clearly for this service: "what's the cost of bottled water" is
    # labelled qa_stock but is no stock quote, and the generator answers it better than "not connected"
    cue: re.Pattern[str] | None = None

    def is_requested(self, lower: str) -> bool:
        return self.cue is None or bool(self.cue.search(lower))


def _words(*alternatives: str) -> re.Pattern[str]:
    """Whole words or regex fragments; `*` allows any ending (`forecast*`), a space any whitespace."""
    body = "|".join(a.replace("*", r"\w*").replace(" ", r"\s+") for a in alternatives)
    return re.compile(rf"\b(?:{body})\b")


SERVICES = (
    Service("weather", frozenset({"weather_query"}), "check the weather", _words(
        "weather*", "forecast*", "rain*", "snow*", "sun*", "cloud*", "wind*", "storm*", "temperature*",
        "degrees", "hot", "cold*", "warm*", "chilly", "humid*", "umbrella*", "jacket*", "coat*", "freez*",
        "fog*", "hail*", "thunder*", "celsius", "fahrenheit", "outside", "drizzl*", "frost*", "heat*",
        "tornado*", "hurricane*", "sweater*", "shorts", "boots", "climate", "wear", "gloves", "hat", "scarf",
    )),
    Service("news", frozenset({"news_query"}), "read the news", _words(
        "news*", "headline*", "stor(?:y|ies)", "article*", "report*", "happening", "going on", "latest",
        "breaking", "current events", "update*", "bbc", "cnn", "fox", "times", "journal", "post", "press",
        "paper*", "magazine*", "politic*", "election*", "sports?", "scores?", "match", "trending",
        "what's new", "what is new", "world", "economy", "president*", "happen(?:ed|ing)? (?:today|yesterday|lately|recently|this|last)",
        "search", "topics?", "anything new",
    )),
    Service(
        "music",
        frozenset({"play_music", "music_query", "music_likeness", "music_dislikeness", "music_settings",
                   "play_radio", "play_podcasts", "play_audiobook"}),
        "play music, radio, podcasts or audiobooks",
        _words(
            "play*", "music*", "songs?", "tracks?", "album*", "artists?", "band", "singer*", "sings?",
            "sung", "playlists?", "radio", "stations?", "fm", "podcasts?", "episodes?", "audio-?books?", "audio books?", "read", "reading",
            "books?", "novels?", "chapters?", "listen*", "tunes?", "genres?", "shuffle", "repeat", "skip",
            "next", "previous", "pause", "resume", "rock", "jazz", "pop", "rap", "classical", "hip hop",
            "country", "spotify", "pandora", "itunes", "lyrics", "beats?", "melod(?:y|ies)",
        ),
    ),
    Service("stocks", frozenset({"qa_stock"}), "look up stock prices", _words(
        "stocks?", "shares?", "ticker*", "markets?", "nasdaq", "dow", "s&p", "s n p", "s and p", "sensex", "nifty", "closing", "close", "mutual funds?", "worth",
        "up today", "down today", "doing (?:good|well|today)", "going for", "nyse", "ftse", "dax",
        "nikkei", "trad(?:e|es|ed|ing)", "portfolio*", "invest*", "equit(?:y|ies)", "bitcoin", "crypto*",
        "index", "indices", "dividend*", "inc", "corp*", "company", "companies", "ipo", "value",
    )),
    Service("currency", frozenset({"qa_currency"}), "look up exchange rates"),
    Service("email", frozenset({"email_query", "email_sendemail", "email_querycontact", "email_addcontact"}),
            "read or send email", _words(
                "e-?mail*", "mail*", "inbox*", "messages?", "contacts?", "address*", "reply*", "replies",
                "send", "sent", "unread", "outlook", "gmail", "phone", "numbers?", "birthday", "details",
                "write", "forward*", "compose", "phonebook", "id", "received", "got", "gotten", "call",
                "text", "dial", "respond", "missed", "notifications?", "information", "info",
            )),
    Service("social", frozenset({"social_post", "social_query"}), "use social media", _words(
        "social", "facebook", "fb", "twitter", "tweet*", "instagram", "insta", "posts?", "posted", "status",
        "linkedin", "snapchat", "tiktok", "whatsapp", "complain*", "complaint*", "feed", "timeline",
        "friends?", "followers?", "like[sd]?", "comments?", "profile", "service", "snapchats?",
        "pinterest", "myspace", "moan", "online", "web", "uploaded", "pictures?", "photos?", "responded",
    )),
    Service("transport", frozenset({"transport_query", "transport_ticket", "transport_taxi", "transport_traffic"}),
            "check traffic, book tickets or call a taxi", _words(
                "trains?", "bus(?:es)?", "taxis?", "uber", "lyft", "cabs?", "tickets?", "flights?", "fly*",
                "plane", "traffic", "commute", "driv(?:e|ing)", "route", "roads?", "highway*", "freeway*",
                "stations?", "journey", "trips?", "travel*", "tube", "subway", "metro", "ride", "fares?",
                "platform", "delays?", "delayed", "departure*", "depart*", "arriv*", "leave", "leaves",
                "rail*", "tram", "ferry", "car", "motorway", "interstate", "accident*", "transport*",
                "book", "reservation", "amtrak", "greyhound", "directions?", "how (?:do|can|should) (?:i|we) get",
                "how far", "how long (?:to|will it|does it|until|is the)", "get (?:to|there|home|downtown)",
                "take me", "express", "walk", "bumper",
            )),
    Service("takeaway", frozenset({"takeaway_order", "takeaway_query"}), "order food", _words(
        "order*", "deliver*", "take-?away", "take away", "take-?out", "take out", "food", "pizza*", "restaurant*", "menu",
        "dominos", "meals?", "dinner", "lunch", "breakfast", "eat", "chinese", "indian", "thai", "sushi",
        "burgers?", "mcdonalds", "kfc", "curry", "noodles", "tacos?", "chicken", "grubhub", "ubereats",
        "just eat", "deliveroo", "hungry", "fries", "kebab*",
    )),
    Service("volume", frozenset({"audio_volume_up", "audio_volume_down", "audio_volume_mute"}),
            "change the speaker volume from here", _words(
                "volume", "loud*", "quiet*", "mute*", "unmute*", "sound*", "speakers?", "turn (?:it |this |that )?up",
                "turn (?:it |this |that )?down", "silen*", "hear", "noise", "audio", "low(?:er)?", "high(?:er)?", "soft*", "speak*",
            )),
    Service("games", frozenset({"play_game"}), "play games", _words(
        "games?", "play*", "chess", "quiz*", "trivia", "puzzles?", "riddles?", "cards?", "poker",
        "solitaire", "sudoku", "tic tac toe", "hangman", "crossword*",
    )),
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
