"""Jokes from a curated offline set; never the same joke twice in a row (checked against the
conversation's recent replies in the memory, so this holds across restarts too)."""

from __future__ import annotations

import random
import threading

from assistant.dialog.skill import Skill, SkillContext, SkillResult, skills

JOKES = (
    "Why don't scientists trust atoms? Because they make up everything.",
    "I told my computer I needed a break, and it said: no problem, I'll go to sleep.",
    "Why did the scarecrow win an award? Because he was outstanding in his field.",
    "What do you call a fake noodle? An impasta.",
    "Why did the bicycle fall over? Because it was two tired.",
    "How does a penguin build its house? Igloos it together.",
    "Why don't eggs tell jokes? They'd crack each other up.",
    "What do you call a bear with no teeth? A gummy bear.",
    "Why couldn't the leopard play hide and seek? Because he was always spotted.",
    "What did the ocean say to the beach? Nothing, it just waved.",
    "Why did the math book look so sad? Because it had too many problems.",
    "What do you call cheese that isn't yours? Nacho cheese.",
    "Why can't you give Elsa a balloon? Because she will let it go.",
    "How do you organize a space party? You planet.",
    "What did one wall say to the other? I'll meet you at the corner.",
    "Why did the golfer bring two pairs of pants? In case he got a hole in one.",
    "What do you call a sleeping dinosaur? A dino-snore.",
    "Why was the computer cold? It left its Windows open.",
    "What kind of tree fits in your hand? A palm tree.",
    "Why did the cookie go to the doctor? Because it felt crummy.",
    "What do you call a factory that makes okay products? A satisfactory.",
    "Why are skeletons so calm? Because nothing gets under their skin.",
    "What did the grape say when it got stepped on? Nothing, it just let out a little wine.",
    "Why do cows wear bells? Because their horns don't work.",
    "I'm reading a book about anti-gravity. It's impossible to put down.",
    "Why did the tomato turn red? Because it saw the salad dressing.",
    "What's orange and sounds like a parrot? A carrot.",
    "Why don't skeletons fight each other? They don't have the guts.",
    "I used to play piano by ear, but now I use my hands.",
    "What do you call an alligator in a vest? An investigator.",
)


@skills.register("jokes")
class JokesSkill(Skill):
    """Tells a joke from a curated set."""

    name = "jokes"
    intents = frozenset({"general_joke"})
    description = "tell you a joke"
    examples = ("tell me a joke",)
    priority = 80

    def __init__(self, settings) -> None:  # type: ignore[no-untyped-def]
        super().__init__(settings)
        self._last: dict[int, int] = {}  # conversation -> last joke index, for turns not stored yet
        self._lock = threading.Lock()
        self._random = random.Random()

    def claims(self, ctx: SkillContext) -> bool:
        return ctx.lower.rstrip(" ?.!") in (
            "tell me a joke",
            "tell me another joke",
            "another joke",
            "a joke please",
            "say something funny",
            "make me laugh",
            "tell a joke",
            "joke",
        )

    def handle(self, ctx: SkillContext) -> SkillResult:
        recent = {turn.reply_text for turn in ctx.memory.recent_turns(ctx.user_id, ctx.conversation_id, 3)}
        with self._lock:
            last = self._last.get(ctx.conversation_id)
            choices = [i for i, joke in enumerate(JOKES) if joke not in recent and i != last]
            index = self._random.choice(choices)
            self._last[ctx.conversation_id] = index
        return SkillResult(JOKES[index], {"joke_id": index})
