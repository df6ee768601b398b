"""One skill per outside service (weather, news, music...), answering through its provider: a registered
integration, or the honest "not connected" default."""

from __future__ import annotations

import re

from assistant.config import Settings
from assistant.dialog.parsing.units import currency_mentions
from assistant.dialog.providers import SERVICES, NotConnected, Provider, Service, providers
from assistant.dialog.skill import Skill, SkillContext, SkillResult, skills
from assistant.dialog.skills.common import is_general_question

_CONVERSION = re.compile(r"\b(?:convert\w*|conversion|exchange|rates?)\b")


class ServiceSkill(Skill):
    """Answers an outside-service intent through that service's provider."""

    description = ""
    priority = 90

    def __init__(self, settings: Settings, service: Service) -> None:
        super().__init__(settings)
        self.name = service.name  # type: ignore[misc]
        self.intents = service.intents  # type: ignore[misc]
        self.service = service
        self.provider: Provider = (
            providers.create(service.name, settings) if service.name in providers else NotConnected(service)
        )
        self.description = f"{service.cannot} (through the {service.name} service)"  # type: ignore[misc]

    def available(self) -> bool:
        return not isinstance(self.provider, NotConnected)

    def accepts(self, ctx: SkillContext) -> bool:
        """A clear request for the service: not a question about its subject ("why do news channels lean
        one way", "how did the beatles change music") nor one that only sounds like its requests ("what's
        the cost of bottled water" is no stock quote); those are the generator's to answer."""
        return self.service.is_requested(ctx.lower) and not is_general_question(ctx.lower)

    def claims(self, ctx: SkillContext) -> bool:
        if self.service.name != "currency" or len(ctx.text) > 200 or not self.accepts(ctx):
            return False
        # a conversion: two currencies ("100 dollars in euros") or one with the word for it; a price alone
        # ("a black suit under $100") is not one
        currencies = currency_mentions(ctx.text)
        return (
            (currencies >= 2 or (currencies == 1 and bool(_CONVERSION.search(ctx.lower))))
            and bool(re.search(r"\b(?:convert|exchange|rate|in|into|to|worth)\b", ctx.lower))
            and bool(re.search(r"\d|\b(?:one|a|an)\b", ctx.lower))
        )

    def handle(self, ctx: SkillContext) -> SkillResult:
        return self.provider.answer(ctx)


def _factory(service: Service):  # type: ignore[no-untyped-def]
    def create(settings: Settings) -> Skill:
        return ServiceSkill(settings, service)

    create.__doc__ = f"{service.name}: {service.cannot} (needs a provider)"
    return create


for _service in SERVICES:
    skills.register(_service.name)(_factory(_service))
