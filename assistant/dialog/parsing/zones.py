"""Place names -> IANA time zones (zoneinfo, offline via the tzdata package or the system database).

A hand-made table covers countries, US zone names and common cities that are not zone names themselves;
every city that *is* a zone name ("Kathmandu", "Sao Paulo", "Los Angeles") is found from zoneinfo itself.
A country with several zones maps to its capital's zone, and replies name the zone so this is visible.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

PLACES = {
    # US and common zone names
    "eastern": "America/New_York", "eastern time": "America/New_York", "est": "America/New_York",
    "edt": "America/New_York", "central": "America/Chicago", "central time": "America/Chicago",
    "cst": "America/Chicago", "mountain": "America/Denver", "mountain time": "America/Denver",
    "mst": "America/Denver", "pacific": "America/Los_Angeles", "pacific time": "America/Los_Angeles",
    "pst": "America/Los_Angeles", "pdt": "America/Los_Angeles", "utc": "UTC", "gmt": "Etc/GMT",
    "greenwich": "Etc/GMT", "cet": "Europe/Paris", "ist": "Asia/Kolkata", "jst": "Asia/Tokyo",
    "east coast": "America/New_York", "west coast": "America/Los_Angeles",
    # countries (capital's zone where a country has several)
    "usa": "America/New_York", "the us": "America/New_York", "u s": "America/New_York",
    "new jersey": "America/New_York", "new mexico": "America/Denver", "new england": "America/New_York", "united states": "America/New_York",
    "america": "America/New_York", "uk": "Europe/London", "united kingdom": "Europe/London",
    "britain": "Europe/London", "great britain": "Europe/London", "england": "Europe/London",
    "scotland": "Europe/London", "wales": "Europe/London", "ireland": "Europe/Dublin",
    "france": "Europe/Paris", "germany": "Europe/Berlin", "spain": "Europe/Madrid", "italy": "Europe/Rome",
    "portugal": "Europe/Lisbon", "netherlands": "Europe/Amsterdam", "holland": "Europe/Amsterdam",
    "belgium": "Europe/Brussels", "switzerland": "Europe/Zurich", "austria": "Europe/Vienna",
    "poland": "Europe/Warsaw", "sweden": "Europe/Stockholm", "norway": "Europe/Oslo",
    "denmark": "Europe/Copenhagen", "finland": "Europe/Helsinki", "greece": "Europe/Athens",
    "turkey": "Europe/Istanbul", "russia": "Europe/Moscow", "ukraine": "Europe/Kyiv",
    "czech republic": "Europe/Prague", "hungary": "Europe/Budapest", "romania": "Europe/Bucharest",
    "iceland": "Atlantic/Reykjavik", "india": "Asia/Kolkata", "china": "Asia/Shanghai",
    "japan": "Asia/Tokyo", "korea": "Asia/Seoul", "south korea": "Asia/Seoul", "taiwan": "Asia/Taipei",
    "vietnam": "Asia/Ho_Chi_Minh", "thailand": "Asia/Bangkok", "indonesia": "Asia/Jakarta",
    "philippines": "Asia/Manila", "malaysia": "Asia/Kuala_Lumpur", "pakistan": "Asia/Karachi",
    "bangladesh": "Asia/Dhaka", "nepal": "Asia/Kathmandu", "sri lanka": "Asia/Colombo",
    "israel": "Asia/Jerusalem", "iran": "Asia/Tehran", "iraq": "Asia/Baghdad", "uae": "Asia/Dubai",
    "united arab emirates": "Asia/Dubai", "saudi arabia": "Asia/Riyadh", "qatar": "Asia/Qatar",
    "egypt": "Africa/Cairo", "nigeria": "Africa/Lagos", "kenya": "Africa/Nairobi",
    "south africa": "Africa/Johannesburg", "morocco": "Africa/Casablanca", "ghana": "Africa/Accra",
    "ethiopia": "Africa/Addis_Ababa", "ivory coast": "Africa/Abidjan", "australia": "Australia/Sydney",
    "new zealand": "Pacific/Auckland", "canada": "America/Toronto", "mexico": "America/Mexico_City",
    "brazil": "America/Sao_Paulo", "argentina": "America/Argentina/Buenos_Aires",
    "chile": "America/Santiago", "colombia": "America/Bogota", "peru": "America/Lima",
    "venezuela": "America/Caracas", "cuba": "America/Havana", "hawaii": "Pacific/Honolulu",
    "alaska": "America/Anchorage", "california": "America/Los_Angeles", "texas": "America/Chicago",
    "florida": "America/New_York", "singapore": "Asia/Singapore", "hong kong": "Asia/Hong_Kong",
    # cities that are not zone names
    "new york city": "America/New_York", "nyc": "America/New_York", "washington": "America/New_York",
    "washington dc": "America/New_York", "boston": "America/New_York", "miami": "America/New_York",
    "atlanta": "America/New_York", "philadelphia": "America/New_York", "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles", "las vegas": "America/Los_Angeles", "san diego": "America/Los_Angeles",
    "dallas": "America/Chicago", "houston": "America/Chicago", "austin": "America/Chicago",
    "san antonio": "America/Chicago", "new orleans": "America/Chicago", "minneapolis": "America/Chicago",
    "salt lake city": "America/Denver", "montreal": "America/Toronto", "ottawa": "America/Toronto",
    "munich": "Europe/Berlin", "frankfurt": "Europe/Berlin", "hamburg": "Europe/Berlin",
    "barcelona": "Europe/Madrid", "milan": "Europe/Rome", "venice": "Europe/Rome", "florence": "Europe/Rome",
    "geneva": "Europe/Zurich", "manchester": "Europe/London", "edinburgh": "Europe/London",
    "st petersburg": "Europe/Moscow", "saint petersburg": "Europe/Moscow", "beijing": "Asia/Shanghai",
    "shenzhen": "Asia/Shanghai", "guangzhou": "Asia/Shanghai", "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata", "delhi": "Asia/Kolkata", "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata", "bengaluru": "Asia/Kolkata", "chennai": "Asia/Kolkata",
    "hyderabad": "Asia/Kolkata", "osaka": "Asia/Tokyo", "kyoto": "Asia/Tokyo", "abu dhabi": "Asia/Dubai",
    "hanoi": "Asia/Bangkok", "beirut": "Asia/Beirut", "tel aviv": "Asia/Jerusalem", "rio": "America/Sao_Paulo",
    "rio de janeiro": "America/Sao_Paulo", "canberra": "Australia/Sydney", "cape town": "Africa/Johannesburg",
    "auckland": "Pacific/Auckland", "wellington": "Pacific/Auckland", "here": "",
}  # fmt: skip


# zone cities that are also everyday words: only the table can map these
AMBIGUOUS = frozenset(
    [
        "act",
        "center",
        "general",
        "east",
        "west",
        "north",
        "south",
        "oral",
        "knox",
        "christmas",
        "easter",
        "wake",
        "resolute",
        "stanley",
        "victoria",
        "acre",
        "virgin",
        "atlantic",
        "continental",
        "nsw",
        "lhi",
        "midway",
        "davis",
        "casey",
        "palmer",
        "troll",
        "vevay",
        "marengo",
        "monticello",
        "beulah",
        "creston",
        "regina",
        "mendoza",
        "rio",
        "chatham",
        "nome",
        "reunion",
        "comoro",
    ]
)


@dataclass(frozen=True)
class Place:
    name: str  # as the user said it (title-cased)
    zone: str  # IANA key


def _fold(text: str) -> str:
    """Lowercase, accents off, punctuation to spaces: 'São Paulo' -> 'sao paulo'."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    """Place name -> zone: zoneinfo's own city names, then the table (which wins)."""
    index: dict[str, str] = {}
    for key in sorted(available_timezones()):
        if key.startswith(("Etc/", "SystemV/", "US/")) or "/" not in key:
            continue
        city = _fold(key.rsplit("/", 1)[1].replace("_", " "))
        if city not in AMBIGUOUS:
            index.setdefault(city, key)
    index.update({name: zone for name, zone in PLACES.items() if zone})
    return index


def zone(key: str) -> ZoneInfo:
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"Unknown time zone {key!r}.") from exc


def find_places(text: str, limit: int = 4) -> list[Place]:
    """Places in text, in order, longest names first at each position (max 4 words per name)."""
    words = _fold(text).split()[:200]
    index = _index()
    found: list[Place] = []
    i = 0
    while i < len(words) and len(found) < limit:
        for size in (4, 3, 2, 1):
            name = " ".join(words[i : i + size])
            if len(words[i : i + size]) == size and name in index:
                found.append(Place(name.title() if len(name) > 3 else name.upper(), index[name]))
                i += size
                break
        else:
            i += 1
    return found
