"""Scripted long conversations for the recall benchmark: a detail said once, far back, in passing (never
"remember that ..."), lots of ordinary chat after it, then a question about it in a later conversation.

Each scenario is (what the user said, the question asked much later, words a right answer contains: any
one of them counts). The filler is small talk with short canned replies, as stored turns would be.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    said: str
    question: str
    detail: tuple[str, ...]  # lower-case words; the detail is "there" when any one appears


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        "We're flying to Lisbon on the twelfth of June for my sister's wedding, I'm so excited.",
        "What did I tell you about my trip?",
        ("lisbon",),
    ),
    Scenario(
        "My dog Biscuit has been limping a bit since our walk in the woods on Sunday.",
        "How did I say my dog has been doing?",
        ("limp",),
    ),
    Scenario(
        "I finally started learning the cello, my teacher is called Margaret.",
        "Which instrument did I say I was learning?",
        ("cello",),
    ),
    Scenario(
        "The car broke down again, the mechanic says it's the alternator this time.",
        "What was wrong with my car?",
        ("alternator",),
    ),
    Scenario(
        "I've been reading a novel called The Glass Orchard, it's about a family of beekeepers.",
        "What was the name of that book I mentioned?",
        ("glass orchard",),
    ),
    Scenario(
        "My daughter Ines is starting at the new school on Monday, she is nervous about it.",
        "What did I say about my daughter?",
        ("ines", "school"),
    ),
    Scenario(
        "I'm allergic to hazelnuts, so I always have to check the labels on chocolate.",
        "What food did I tell you I'm allergic to?",
        ("hazelnut",),
    ),
    Scenario(
        "We painted the living room a dark green colour last weekend, it looks great.",
        "What colour did we paint the room?",
        ("green",),
    ),
    Scenario(
        "My brother Tomas moved to Vancouver for a job at a game studio.",
        "Where did my brother move to?",
        ("vancouver",),
    ),
    Scenario(
        "I have a dentist appointment about my wisdom tooth on Thursday at four.",
        "What was my appointment about?",
        ("wisdom tooth", "dentist"),
    ),
    Scenario(
        "I've been training for the Berlin marathon, I ran thirty kilometres today.",
        "Which race am I training for?",
        ("berlin",),
    ),
    Scenario(
        "My grandmother turns ninety in August and we're planning a party at the lake house.",
        "Where are we having my grandmother's party?",
        ("lake house", "lake"),
    ),
    Scenario(
        "I switched jobs, I'm now a nurse on the night shift at St Mary's hospital.",
        "What did I say my new job is?",
        ("nurse",),
    ),
    Scenario(
        "Our cat Pepper knocked my grandfather's clock off the shelf and broke it.",
        "What did the cat break?",
        ("clock",),
    ),
    Scenario(
        "I planted tomatoes and basil on the balcony, the basil is already huge.",
        "What did I plant on the balcony?",
        ("tomato", "basil"),
    ),
    Scenario(
        "My flat's boiler stopped working, the landlord promised a plumber on Friday.",
        "What broke in my flat?",
        ("boiler",),
    ),
    Scenario(
        "I bought a secondhand kayak, a bright orange one, to use on the river.",
        "What did I buy secondhand?",
        ("kayak",),
    ),
    Scenario(
        "My best friend Yusuf is getting his pilot licence next month.",
        "What is my friend Yusuf working towards?",
        ("pilot",),
    ),
    Scenario(
        "I'm trying to cut down on coffee, I'm down to one cup in the morning.",
        "What am I trying to cut down on?",
        ("coffee",),
    ),
    Scenario(
        "We adopted two chickens, they're called Salt and Pepper and they lay every day.",
        "What are my chickens called?",
        ("salt",),
    ),
    Scenario(
        "My laptop's screen cracked when it fell off the train seat in Porto.",
        "What happened to my laptop?",
        ("crack", "screen"),
    ),
    Scenario(
        "I'm learning Japanese for our holiday in Kyoto next spring.",
        "Which language am I learning?",
        ("japanese",),
    ),
)

FILLER: tuple[tuple[str, str], ...] = (
    ("How are you today?", "I'm doing well, thanks for asking."),
    ("Tell me a joke.", "Why did the scarecrow win an award? He was outstanding in his field."),
    ("What's a good name for a goldfish?", "How about Bubbles or Captain Fin?"),
    ("I had pasta for lunch.", "Sounds tasty. What kind of sauce?"),
    ("Just tomato sauce, nothing fancy.", "Simple is often the best."),
    ("It's raining again here.", "A good day to stay in with a cup of tea."),
    ("Do you like music?", "I don't listen myself, but I'm happy to talk about it."),
    ("I watched a documentary about octopuses.", "They are remarkably clever animals."),
    ("Why is the sky blue?", "Sunlight scatters off air molecules, and blue light scatters the most."),
    ("I'm a bit tired this evening.", "Maybe an early night would help."),
    ("What's the capital of Australia?", "The capital of Australia is Canberra."),
    ("Give me an idea for dinner.", "How about a vegetable stir fry with rice?"),
    ("I went for a short walk.", "Walks are a nice way to clear your head."),
    ("How many legs does a spider have?", "A spider has eight legs."),
    ("My neighbour is playing loud music.", "That can be annoying. Maybe have a friendly word."),
    ("I cleaned the kitchen.", "Nice, a clean kitchen feels good."),
    ("What rhymes with orange?", "Almost nothing rhymes perfectly with orange."),
    ("Recommend a board game.", "Ticket to Ride is easy to learn and fun."),
    ("The train was late this morning.", "Sorry to hear that. I hope it wasn't too long."),
    ("I'm thinking of baking bread.", "A simple loaf needs flour, water, yeast and salt."),
    ("How far is the moon?", "About 384,000 kilometres on average."),
    ("I can't decide what to watch tonight.", "A comedy might be a good pick after a long day."),
    ("Do you know any fun facts?", "Honey never spoils if it's sealed well."),
    ("I fixed the squeaky door.", "Well done, that's satisfying."),
    ("What's a synonym for happy?", "Cheerful, glad or content."),
    ("The sunset was beautiful tonight.", "Sunsets are lovely this time of year."),
    ("How do plants drink water?", "Their roots take it up and it travels through the stem."),
    ("I'm bored.", "Maybe try a puzzle or a short walk?"),
    ("What should I name my playlist?", "How about Sunday Morning Coffee?"),
    ("I had a long meeting at work.", "Meetings can be draining. Time for a break."),
    ("Tell me something about penguins.", "Emperor penguins can dive deeper than 500 metres."),
    ("I need a gift idea for a colleague.", "A nice notebook or a plant is usually welcome."),
    ("What's eight times seven?", "Eight times seven is fifty-six."),
    ("My phone battery dies so fast.", "Lowering the screen brightness can help a lot."),
    ("I'm going to make soup.", "Soup is perfect for a chilly day."),
    ("What's your favourite colour?", "I don't have one, but I hear blue is popular."),
    ("How do rainbows form?", "Sunlight bends and splits into colours inside raindrops."),
    ("I finished a crossword.", "Nicely done!"),
    ("The wifi keeps dropping.", "Restarting the router often helps."),
    ("What's a good stretch for my back?", "Try a gentle child's pose for thirty seconds."),
    ("I'm having friends over on Saturday.", "That sounds fun. Any plans for food?"),
    ("Probably pizza.", "Pizza is always a crowd pleaser."),
    ("Why do cats purr?", "Mostly when they're content, but sometimes to soothe themselves."),
    ("I'm learning to juggle.", "Start with two balls and add the third later."),
    ("How long should I boil an egg?", "About seven minutes for a jammy yolk."),
    ("What's the tallest mountain?", "Mount Everest, at about 8,849 metres."),
    ("I bought new running shoes.", "Nice! Break them in with a few short runs."),
    ("Tell me a riddle.", "What has keys but can't open locks? A piano."),
)


@dataclass(frozen=True)
class ScriptedConversation:
    """One user's history: conversations of (user, reply) turns, then the question (asked in a new one)."""

    scenario: Scenario
    conversations: tuple[tuple[tuple[str, str], ...], ...]
    turns_back: int  # how many turns were stored after the detail


def scripted_conversations(
    n: int = 20, filler_turns: int = 40, distractors: int = 2, seed: int = 0
) -> list[ScriptedConversation]:
    """`n` histories: the detail opens the first conversation, `filler_turns` turns of small talk follow
    over two conversations, with `distractors` other scenarios' details in between (so the right one must
    be picked, not just any detail)."""
    if not 1 <= n <= len(SCENARIOS):
        raise ValueError(f"between 1 and {len(SCENARIOS)} scripted conversations, not {n}")
    rng = random.Random(seed)
    out = []
    for index, scenario in enumerate(SCENARIOS[:n]):
        others = [s for s in SCENARIOS if s is not scenario]
        filler = [rng.choice(FILLER) for _ in range(filler_turns)]
        for other in rng.sample(others, distractors):
            filler.insert(rng.randrange(1, len(filler)), (other.said, "Thanks for telling me."))
        reply = "Thanks for telling me." if index % 2 else "That sounds like a lot going on."
        turns = [(scenario.said, reply), *filler]
        half = len(turns) // 2
        out.append(ScriptedConversation(scenario, (tuple(turns[:half]), tuple(turns[half:])), len(turns) - 1))
    return out
