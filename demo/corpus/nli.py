"""A seeded grammar of premise/hypothesis pairs whose label is right by construction.

A premise describes one scene: "A tall man is playing a guitar in the park." (an optional
attribute, an agent, an activity, an optional place) or "Three women are walking a dog."
Hypotheses are derived from the scene's parts:

* entailment: a modifier dropped, a hypernym ("a person", "an instrument"), a paraphrase of
  the activity, the attribute or indoor/outdoor setting the premise states, "more than one"
  for a number;
* contradiction: negation ("The man is not ...", "Nobody is ..."), the antonym of the stated
  attribute, the other setting, a different number, an activity that excludes the premise's;
* neutral: added information (a purpose, a companion, a time) or an attribute or place the
  premise does not mention.

The same hypothesis shape ("The man is tall.", "The man is outdoors.") is entailed,
contradicted or neutral depending on the premise, so no hypothesis word decides a label alone.
"""

import random
from dataclasses import dataclass

ENTAILMENT = "entailment"
CONTRADICTION = "contradiction"
NEUTRAL = "neutral"
LABELS = (ENTAILMENT, CONTRADICTION, NEUTRAL)


@dataclass(frozen=True)
class Agent:
    singular: str
    plural: str
    hypernym: str
    hypernym_plural: str


@dataclass(frozen=True)
class Activity:
    """What the agent does: the phrase, a more general one and paraphrases.

    ``group`` says whether several people can share it ("Two men are washing a car");
    ``places`` lists where it can happen (None: anywhere in :data:`PLACES`, and then whether
    it happens indoors is unknown when the premise names no place).
    """

    phrase: str
    general: tuple[str, ...]
    paraphrases: tuple[str, ...]
    group: bool
    places: tuple[str, ...] | None = None


AGENTS = (
    Agent("man", "men", "person", "people"),
    Agent("woman", "women", "person", "people"),
    Agent("boy", "boys", "child", "children"),
    Agent("girl", "girls", "child", "children"),
    Agent("chef", "chefs", "person", "people"),
    Agent("student", "students", "person", "people"),
    Agent("farmer", "farmers", "person", "people"),
    Agent("nurse", "nurses", "person", "people"),
)
# Attributes with their antonyms: a premise states one; "The man is <antonym>." contradicts it.
ATTRIBUTES = (
    ("tall", "short"),
    ("young", "old"),
    ("barefoot", "wearing shoes"),
    ("smiling", "frowning"),
    ("cheerful", "gloomy"),
    ("calm", "nervous"),
)
OUTDOORS = ("in the park", "on the beach", "in the garden", "on a busy street", "in a field")

ACTIVITIES = (
    Activity(
        "playing a guitar",
        ("playing an instrument", "making music"),
        ("strumming a guitar",),
        False,
    ),
    Activity(
        "playing a violin",
        ("playing an instrument", "making music"),
        ("performing on a violin",),
        False,
    ),
    Activity(
        "reading a newspaper", ("reading something",), ("looking through a newspaper",), False
    ),
    Activity(
        "eating an apple", ("eating some fruit", "eating something"), ("having an apple",), False
    ),
    Activity(
        "eating a sandwich", ("eating some food", "eating something"), ("having a sandwich",), False
    ),
    Activity("walking a dog", ("walking an animal",), ("taking a dog for a walk",), True, OUTDOORS),
    Activity(
        "riding a bicycle", ("riding something",), ("cycling", "riding a bike"), False, OUTDOORS
    ),
    Activity(
        "painting a fence", ("painting something",), ("putting paint on a fence",), True, OUTDOORS
    ),
    Activity(
        "cooking soup",
        ("cooking food", "preparing a meal"),
        ("making soup",),
        True,
        ("in the kitchen", "in the garden", "on the beach"),
    ),
    Activity(
        "washing a car",
        ("cleaning a vehicle", "cleaning something"),
        ("cleaning a car",),
        True,
        OUTDOORS,
    ),
    Activity("carrying a box", ("carrying something",), ("moving a box",), True),
    Activity(
        "drinking coffee", ("drinking something", "having a drink"), ("having a coffee",), False
    ),
    Activity("writing a letter", ("writing something",), ("writing a note by hand",), False),
    Activity(
        "feeding a cat",
        ("feeding an animal",),
        ("giving food to a cat",),
        True,
        ("in the kitchen", "in the garden", "in the park", "on a busy street"),
    ),
    Activity("singing a song", ("singing", "making music"), ("performing a song",), True),
    Activity(
        "fixing a roof",
        ("repairing something",),
        ("repairing a roof",),
        True,
        ("on a farm", "on a busy street"),
    ),
)
# Places with whether they are outdoors.
PLACES = (
    ("in the park", True),
    ("on the beach", True),
    ("in the garden", True),
    ("on a busy street", True),
    ("in a field", True),
    ("on a farm", True),
    ("in the kitchen", False),
    ("in a library", False),
    ("in a small office", False),
    ("in a hospital corridor", False),
    ("in a classroom", False),
)
# Activities no one can do while doing any activity above.
EXCLUDING = (
    "sleeping in bed",
    "lying asleep on a sofa",
    "swimming in the sea",
    "driving a truck",
    "taking a nap",
)
# Added information a premise never states.
ADDED = (
    "for a friend",
    "for the first time",
    "to relax",
    "before lunch",
    "on a Sunday morning",
    "with a neighbour",
    "while waiting for a bus",
    "in the afternoon",
    "after a long day",
    "for a school project",
)
NEUTRAL_FACTS = (
    "is waiting for a friend",
    "is on holiday",
    "is famous",
    "is new in town",
    "has a sister",
    "is thirsty",
    "is in a hurry",
)
NUMBERS = ("Two", "Three", "Four", "Five")


@dataclass(frozen=True)
class Scene:
    agent: Agent
    activity: Activity
    attribute: tuple[str, str] | None
    place: tuple[str, bool] | None
    number: str | None


def _article(word: str) -> str:
    return "An" if word[0] in "aeiou" else "A"


def _premise(scene: Scene) -> str:
    if scene.number is not None:
        subject = f"{scene.number} {scene.agent.plural} are"
    else:
        noun = (
            f"{scene.attribute[0]} {scene.agent.singular}"
            if scene.attribute
            else scene.agent.singular
        )
        subject = f"{_article(noun)} {noun} is"
    place = f" {scene.place[0]}" if scene.place else ""
    return f"{subject} {scene.activity.phrase}{place}."


def _the(scene: Scene) -> tuple[str, str]:
    """Return the definite subject referring back to the premise's agent(s), and its verb."""
    if scene.number is not None:
        return f"The {scene.agent.plural}", "are"
    return f"The {scene.agent.singular}", "is"


def _entailment(scene: Scene, rng: random.Random) -> str:
    the, be = _the(scene)
    agent, activity = scene.agent, scene.activity
    options = [
        f"{the} {be} {rng.choice(activity.general)}.",
        f"{the} {be} {rng.choice(activity.paraphrases)}.",
    ]
    if scene.number is not None:
        options += [
            f"More than one {agent.singular} is {activity.phrase}.",
            f"Some {agent.hypernym_plural} are {activity.phrase}.",
        ]
    else:
        options += [
            f"{_article(agent.hypernym)} {agent.hypernym} is {activity.phrase}.",
            f"Someone is {rng.choice(activity.general)}.",
        ]
        if scene.attribute or scene.place:
            options.append(f"{_article(agent.singular)} {agent.singular} is {activity.phrase}.")
        if scene.attribute:
            options.append(f"{the} is {scene.attribute[0]}.")
    if scene.place:
        options.append(f"{the} {be} {'outdoors' if scene.place[1] else 'indoors'}.")
    return rng.choice(options)


def _contradiction(scene: Scene, rng: random.Random) -> str:
    the, be = _the(scene)
    agent, activity = scene.agent, scene.activity
    options = [
        f"{the} {be} not {activity.phrase}.",
        # "Nobody is painting anything", not "... painting something".
        f"Nobody is {rng.choice((activity.phrase, *activity.general))}.".replace(
            "something", "anything"
        ),
        f"{the} {be} {rng.choice(EXCLUDING)}.",
    ]
    if scene.number is not None:
        other = rng.choice([n for n in NUMBERS if n != scene.number])
        options += [
            f"{other} {agent.plural} are {activity.phrase}.",
            f"Only one {agent.singular} is {activity.phrase}.",
        ]
    if scene.attribute:
        options.append(f"{the} is {scene.attribute[1]}.")
    if scene.place:
        options.append(f"{the} {be} {'indoors' if scene.place[1] else 'outdoors'}.")
    return rng.choice(options)


def _neutral(scene: Scene, rng: random.Random) -> str:
    the, be = _the(scene)
    activity = scene.activity
    options = [
        f"{the} {be} {activity.phrase} {rng.choice(ADDED)}.",
        f"{the} {be} {rng.choice(activity.general)} {rng.choice(ADDED)}.",
    ]
    if scene.number is None:
        options.append(f"{the} {rng.choice(NEUTRAL_FACTS)}.")
        if scene.attribute is None:
            options.append(f"{the} is {rng.choice(rng.choice(_attributes(scene.agent)))}.")
    if scene.place is None:
        place, outdoors = rng.choice(_places(activity))
        options.append(f"{the} {be} {activity.phrase} {place}.")
        if activity.places is None:
            options.append(f"{the} {be} {'outdoors' if outdoors else 'indoors'}.")
    return rng.choice(options)


def _places(activity: Activity) -> list[tuple[str, bool]]:
    """Return the places where ``activity`` can happen."""
    if activity.places is None:
        return list(PLACES)
    return [place for place in PLACES if place[0] in activity.places]


def _attributes(agent: Agent) -> list[tuple[str, str]]:
    """Return the attributes a premise may give ``agent`` ("A young boy" says nothing)."""
    return [a for a in ATTRIBUTES if not (agent.hypernym == "child" and a[0] == "young")]


def _scene(rng: random.Random) -> Scene:
    agent = rng.choice(AGENTS)
    activity = rng.choice(ACTIVITIES)
    number = rng.choice(NUMBERS) if activity.group and rng.random() < 0.35 else None
    attribute = rng.choice(_attributes(agent)) if number is None and rng.random() < 0.5 else None
    place = rng.choice(_places(activity)) if rng.random() < 0.6 else None
    return Scene(agent, activity, attribute, place, number)


HYPOTHESES = {ENTAILMENT: _entailment, CONTRADICTION: _contradiction, NEUTRAL: _neutral}


def generate_pairs(
    count: int, *, seed: int, exclude: set[tuple[str, str]]
) -> list[tuple[str, str, str]]:
    """Return ``count`` distinct (premise, hypothesis, label) pairs, labels in equal thirds.

    Pairs already in ``exclude`` (compared case-insensitively) are skipped.
    """
    if count % 3:
        raise ValueError(f"count must be a multiple of 3 (a third of each label), got {count}")
    rng = random.Random(seed)
    seen = {(a.casefold(), b.casefold()) for a, b in exclude}
    pairs: list[tuple[str, str, str]] = []
    for k in range(count):
        label = LABELS[k % 3]
        while True:
            scene = _scene(rng)
            premise, hypothesis = _premise(scene), HYPOTHESES[label](scene, rng)
            key = (premise.casefold(), hypothesis.casefold())
            if key not in seen:
                break
        seen.add(key)
        pairs.append((premise, hypothesis, label))
    rng.shuffle(pairs)
    return pairs
