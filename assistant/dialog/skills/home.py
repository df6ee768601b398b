"""Lights, switches, the vacuum and the coffee machine through Home Assistant (the one real outside
integration that needs no paid key). Replies name exactly the entities Home Assistant acted on."""

from __future__ import annotations

import re
from typing import Any

from assistant.dialog.homeassistant import HomeAssistant, HomeAssistantError
from assistant.dialog.skill import Skill, SkillContext, SkillResult, skills
from assistant.dialog.skills.common import is_general_question, spoken_list

COLORS = (
    "red", "green", "blue", "yellow", "orange", "purple", "pink", "white", "warm white", "cyan", "magenta",
    "violet", "turquoise", "gold", "lime", "teal", "indigo", "lavender", "coral", "crimson", "salmon",
)  # fmt: skip
_GENERIC = {
    "light", "lights", "lamp", "lamps", "switch", "switches", "plug", "plugs", "socket", "turn", "on", "off",
    "the", "a", "my", "all", "please", "in", "of", "and", "to", "room", "bulb", "bulbs", "set", "make",
}  # fmt: skip
_ACTIONS: dict[str, tuple[str, str, str]] = {  # intent -> (domain, service, past tense)
    "iot_hue_lighton": ("light", "turn_on", "Turned on"),
    "iot_hue_lightoff": ("light", "turn_off", "Turned off"),
    "iot_hue_lightup": ("light", "turn_on", "Brightened"),
    "iot_hue_lightdim": ("light", "turn_on", "Dimmed"),
    "iot_hue_lightchange": ("light", "turn_on", "Changed"),
    "iot_wemo_on": ("switch", "turn_on", "Turned on"),
    "iot_wemo_off": ("switch", "turn_off", "Turned off"),
    "iot_cleaning": ("vacuum", "start", "Started"),
    "iot_coffee": ("switch", "turn_on", "Turned on"),
}
STEP_PCT = 25
_NOT_THE_HOME = re.compile(
    r"\b(?:photos?|photographs?|pictures?|images?|pics?|screens?|monitors?|displays?|phones?|laptops?|"
    r"computers?|cars?|contrast|suede)\b"
)


def _name(state: dict[str, Any]) -> str:
    return str(
        state.get("attributes", {}).get("friendly_name")
        or state["entity_id"].split(".", 1)[-1].replace("_", " ")
    )


def _words(text: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", text.lower())) - _GENERIC


@skills.register("home")
class HomeSkill(Skill):
    """Controls lights and switches through Home Assistant."""

    name = "home"
    intents = frozenset(_ACTIONS)
    description = "control your lights and plugs through Home Assistant"
    examples = ("turn on the kitchen lights", "dim the lights", "make the lights blue")
    priority = 70

    def available(self) -> bool:
        return HomeAssistant.from_settings(self.settings) is not None

    def accepts(self, ctx: SkillContext) -> bool:
        """Not about a picture, a screen or a car ("colorize a black and white photo", "vacuum out the car"),
        which the home's lights and vacuum cannot act on; nor a question about the subject."""
        return not (_NOT_THE_HOME.search(ctx.lower) or is_general_question(ctx.lower))

    def handle(self, ctx: SkillContext) -> SkillResult | None:
        label = ctx.label if ctx.label in _ACTIONS else None
        if label is None:
            return None
        client = HomeAssistant.from_settings(ctx.settings)
        if client is None:
            return SkillResult(
                "Home Assistant isn't set up, so I can't control your devices. "
                "Set home_assistant.url and home_assistant.token in the settings.",
                {"error": "not_configured"},
            )
        try:
            return self._act(ctx, client, label)
        except HomeAssistantError as exc:
            return SkillResult(str(exc), {"error": "home_assistant"})
        finally:
            client.close()

    def _act(self, ctx: SkillContext, client: HomeAssistant, label: str) -> SkillResult:
        domain, service, done = _ACTIONS[label]
        entities = [s for s in client.states() if s["entity_id"].startswith(f"{domain}.")]
        noun = {"light": "lights", "switch": "switches", "vacuum": "vacuum cleaners"}[domain]
        if label == "iot_coffee":
            entities = [s for s in entities if "coffee" in s["entity_id"] or "coffee" in _name(s).lower()]
            noun = "coffee machine"
        if not entities:
            return SkillResult(f"Home Assistant has no {noun} I can control.", {"error": "no_entities"})
        wanted = _words(ctx.slot("house_place", "device_type", "room") or ctx.text[:300])
        named = [s for s in entities if wanted & _words(_name(s) + " " + s["entity_id"].split(".", 1)[1])]
        if named:
            targets = named
        elif domain == "light" or len(entities) == 1:
            targets = entities
        else:
            names = spoken_list([_name(s) for s in entities], "or")
            return SkillResult(f"Which one: {names}?", {"entities": [s["entity_id"] for s in entities]})
        data: dict[str, Any] = {"entity_id": [s["entity_id"] for s in targets]}
        detail = ""
        percent = re.search(r"\b(\d{1,3})\s*(?:%|percent)", ctx.lower)
        if label in ("iot_hue_lightup", "iot_hue_lightdim"):
            if percent:
                data["brightness_pct"] = max(0, min(100, int(percent.group(1))))
                done, detail = "Set", f" to {data['brightness_pct']}% brightness"
            else:
                data["brightness_step_pct"] = STEP_PCT if label == "iot_hue_lightup" else -STEP_PCT
        if label == "iot_hue_lightchange":
            said = (ctx.slot("color_type", "color") or ctx.lower).lower()
            color = next(
                (c for c in sorted(COLORS, key=len, reverse=True) if re.search(rf"\b{c}\b", said)), None
            )
            if color is None and not percent:
                return SkillResult("Which color? For example red, blue or warm white.", {"asking": "color"})
            if color:
                data["color_name"] = color.replace(" ", "")
                detail = f" to {color}"
            else:
                data["brightness_pct"] = max(0, min(100, int(percent.group(1))))  # type: ignore[union-attr]
                detail = f" to {data['brightness_pct']}% brightness"
        changed = client.call(domain, service, data)
        names = [_name(s) for s in targets]
        text = f"{done} {spoken_list(names)}{detail}."
        return SkillResult(
            text,
            {
                "domain": domain,
                "service": service,
                "service_data": data,
                "entities": data["entity_id"],
                "changed": [{"entity_id": s.get("entity_id"), "state": s.get("state")} for s in changed],
            },
        )
