"""A seeded grammar of short reviews whose label is right by construction.

Five domains (restaurants, films, hotels, products, apps) each name their aspects and the
opinion words that fit them. A review is built from clauses of known polarity:

* plain: "the service was friendly";
* intensified: "the service was absolutely superb" (an intensifier never changes the label);
* negated: "the service was not friendly" is negative, "the plot was never boring" positive
  (only opinion words whose negation reads as the opposite verdict are negated);
* verdicts: "I would happily come back" / "I would not come back".

and arranged in shapes whose label a reader gives: agreeing clauses; contrast, where the clause
after "but" carries the verdict and the clause before it the opposite polarity; concession
("Although X, Y", where Y decides); and mixed reviews that close on an overall verdict. The
opposite-polarity clauses mean no opinion word, negation or connective decides a label alone.
"""

import random
import re
from dataclasses import dataclass

# Words and punctuation marks, as explanations.compute.tokenize counts them.
TOKEN = re.compile(r"\w+(?:['\u2019-]\w+)*|[^\w\s]")
MIN_TOKENS = 8
POSITIVE = "positive"
NEGATIVE = "negative"


@dataclass(frozen=True)
class Aspect:
    """One thing a review judges, with the opinion words that fit it.

    ``negatable_positive`` words read as a complaint when negated ("not friendly");
    ``negatable_negative`` words read as praise when negated ("never boring").
    """

    noun: str
    plural: bool
    positive: tuple[str, ...]
    negative: tuple[str, ...]
    negatable_positive: tuple[str, ...]
    negatable_negative: tuple[str, ...]


@dataclass(frozen=True)
class Domain:
    """A kind of thing reviewed: what it is called, its aspects, openers and verdicts."""

    names: tuple[str, ...]
    aspects: tuple[Aspect, ...]
    openers: tuple[str, ...]
    verdicts_positive: tuple[str, ...]
    verdicts_negative: tuple[str, ...]


# Opinion words that fit nearly any aspect.
GENERAL_POSITIVE = ("excellent", "great", "superb", "wonderful", "fantastic", "impressive")
GENERAL_NEGATIVE = ("awful", "terrible", "poor", "dreadful", "disappointing", "horrible")
INTENSIFIERS = ("very", "really", "extremely", "incredibly", "remarkably", "genuinely")
# Words that are extreme already take only the intensifiers that fit them ("absolutely
# superb", not "very superb").
EXTREME = frozenset(GENERAL_POSITIVE + GENERAL_NEGATIVE) - {"poor", "impressive"}
EXTREME_INTENSIFIERS = ("absolutely", "truly", "really", "simply")
NEVER = ("never", "not at all", "not once", "not in the least")
NOT = ("not", "not very", "not particularly", "far from")
OVERALL = ("Overall", "All in all", "In the end", "On the whole", "Still")


def _aspect(
    noun: str,
    positive: str,
    negative: str,
    negatable_positive: str = "",
    negatable_negative: str = "",
    *,
    plural: bool = False,
) -> Aspect:
    """Build an aspect from space-separated word lists (readable tables below)."""
    return Aspect(
        noun=noun,
        plural=plural,
        positive=tuple(positive.split()) + GENERAL_POSITIVE,
        negative=tuple(negative.split()) + GENERAL_NEGATIVE,
        negatable_positive=tuple(negatable_positive.split()) or tuple(positive.split()),
        negatable_negative=tuple(negatable_negative.split()),
    )


DOMAINS: tuple[Domain, ...] = (
    Domain(
        names=("restaurant", "bistro", "cafe", "pizzeria", "diner"),
        aspects=(
            _aspect(
                "food",
                "delicious tasty fresh",
                "bland tasteless stale greasy",
                "tasty fresh",
                "bland",
            ),
            _aspect(
                "service",
                "friendly attentive quick",
                "rude slow careless",
                "friendly attentive",
                "rude slow",
            ),
            _aspect(
                "staff",
                "friendly welcoming helpful",
                "rude unhelpful grumpy",
                "friendly helpful",
                "rude unhelpful",
                plural=True,
            ),
            _aspect(
                "portions", "generous hearty", "tiny stingy", "generous", "stingy", plural=True
            ),
            _aspect("dessert", "delicious rich", "soggy bland", "memorable", "bland"),
            _aspect(
                "atmosphere", "cosy relaxed charming", "noisy cold gloomy", "cosy relaxed", "noisy"
            ),
            _aspect(
                "prices",
                "fair reasonable",
                "outrageous steep",
                "fair reasonable",
                "outrageous",
                plural=True,
            ),
        ),
        openers=(
            "We had dinner at this {name} on a Friday night.",
            "I came to this {name} for lunch with two colleagues.",
            "We booked a table at this {name} for a birthday.",
            "This {name} opened near my office last month.",
        ),
        verdicts_positive=(
            "I would happily eat here again",
            "we will definitely be back",
            "I would recommend this {name} to anyone",
        ),
        verdicts_negative=(
            "I would not eat here again",
            "we will not be back",
            "I would not recommend this {name} to anyone",
        ),
    ),
    Domain(
        names=("film", "movie", "thriller", "comedy", "drama"),
        aspects=(
            _aspect(
                "plot",
                "gripping clever original",
                "dull predictable confusing",
                "clever original",
                "dull predictable confusing",
            ),
            _aspect(
                "acting",
                "convincing moving natural",
                "wooden stiff overdone",
                "convincing natural",
                "wooden stiff",
            ),
            _aspect(
                "script", "witty sharp smart", "clumsy lazy silly", "witty sharp", "clumsy lazy"
            ),
            _aspect("ending", "satisfying powerful", "rushed flat silly", "satisfying", "rushed"),
            _aspect(
                "soundtrack", "beautiful haunting", "annoying forgettable", "memorable", "annoying"
            ),
            _aspect("pacing", "tight brisk", "sluggish uneven", "tight", "sluggish"),
            _aspect("jokes", "hilarious clever", "stale lame", "funny", "lame", plural=True),
        ),
        openers=(
            "I watched this {name} on a rainy Sunday.",
            "We saw this {name} at the cinema last week.",
            "A friend told me to watch this {name}.",
            "I streamed this {name} after a long day at work.",
        ),
        verdicts_positive=(
            "I would watch this {name} again",
            "I would recommend this {name} to anyone",
            "it was worth every minute",
        ),
        verdicts_negative=(
            "I would not watch this {name} again",
            "I would not recommend this {name} to anyone",
            "it was a waste of two hours",
        ),
    ),
    Domain(
        names=("hotel", "guesthouse", "resort", "hostel", "inn"),
        aspects=(
            _aspect(
                "room",
                "spotless spacious comfortable",
                "filthy cramped shabby",
                "clean spacious comfortable",
                "dirty cramped",
            ),
            _aspect(
                "bed", "comfortable soft", "lumpy uncomfortable", "comfortable", "uncomfortable"
            ),
            _aspect("breakfast", "delicious generous fresh", "stale meagre cold", "fresh", "stale"),
            _aspect(
                "reception staff",
                "friendly helpful welcoming",
                "rude unhelpful dismissive",
                "friendly helpful",
                "rude unhelpful",
                plural=True,
            ),
            _aspect(
                "location",
                "perfect convenient central",
                "remote inconvenient noisy",
                "convenient",
                "noisy",
            ),
            _aspect("bathroom", "spotless modern", "mouldy grimy", "clean", "dirty"),
            _aspect("pool", "lovely clean", "murky tiny", "clean", "dirty"),
        ),
        openers=(
            "We stayed at this {name} for three nights.",
            "I spent a week at this {name} on a work trip.",
            "We booked this {name} for a long weekend.",
            "My family stayed at this {name} in August.",
        ),
        verdicts_positive=(
            "I would happily stay here again",
            "we will definitely book this {name} again",
            "I would recommend this {name} to anyone",
        ),
        verdicts_negative=(
            "I would not stay here again",
            "we will never book this {name} again",
            "I would not recommend this {name} to anyone",
        ),
    ),
    Domain(
        names=("blender", "kettle", "vacuum cleaner", "headphones", "backpack"),
        aspects=(
            _aspect("build quality", "solid sturdy", "flimsy cheap", "solid sturdy", "flimsy"),
            _aspect(
                "battery", "reliable long-lasting", "weak unreliable", "reliable", "weak unreliable"
            ),
            _aspect(
                "design",
                "elegant sleek practical",
                "ugly clunky awkward",
                "practical elegant",
                "clunky awkward",
            ),
            _aspect(
                "instructions",
                "clear helpful",
                "confusing useless",
                "clear helpful",
                "confusing",
                plural=True,
            ),
            _aspect(
                "price", "fair reasonable", "ridiculous steep", "fair reasonable", "ridiculous"
            ),
            _aspect("delivery", "fast smooth", "slow late", "fast", "slow late"),
            _aspect(
                "customer support",
                "helpful responsive",
                "useless unresponsive",
                "helpful responsive",
                "unhelpful unresponsive",
            ),
        ),
        openers=(
            "I bought this {name} two months ago.",
            "I ordered this {name} as a gift for my sister.",
            "I have used this {name} every day since March.",
            "This {name} replaced the one I had for years.",
        ),
        verdicts_positive=(
            "I would buy this {name} again",
            "I would recommend this {name} to anyone",
            "it was worth the money",
        ),
        verdicts_negative=(
            "I would not buy this {name} again",
            "I would not recommend this {name} to anyone",
            "it was a waste of money",
        ),
    ),
    Domain(
        names=("app", "banking app", "fitness app", "photo editor", "note taking app"),
        aspects=(
            _aspect(
                "interface",
                "intuitive clean simple",
                "confusing cluttered ugly",
                "intuitive clean",
                "confusing cluttered",
            ),
            _aspect("performance", "fast smooth", "sluggish laggy", "fast smooth", "sluggish"),
            _aspect(
                "updates", "frequent useful", "buggy pointless", "useful", "buggy", plural=True
            ),
            _aspect(
                "notifications",
                "helpful timely",
                "spammy constant",
                "helpful",
                "annoying",
                plural=True,
            ),
            _aspect("sync", "reliable seamless", "broken unreliable", "reliable", "unreliable"),
            _aspect(
                "subscription",
                "fair affordable",
                "overpriced greedy",
                "fair affordable",
                "overpriced",
            ),
            _aspect("login", "quick painless", "slow painful", "quick", "slow painful"),
        ),
        openers=(
            "I have used this {name} for a few weeks now.",
            "I installed this {name} on my phone last month.",
            "My whole team switched to this {name} in spring.",
            "I tried this {name} after reading about it online.",
        ),
        verdicts_positive=(
            "I would recommend this {name} to anyone",
            "I will keep using it",
            "it was worth the download",
        ),
        verdicts_negative=(
            "I would not recommend this {name} to anyone",
            "I deleted it after a week",
            "it was not worth the download",
        ),
    ),
)

# Every shape, with its share of the generated reviews.
SHAPES: tuple[tuple[str, int], ...] = (
    ("simple", 2),
    ("intensified", 2),
    ("agreeing", 2),
    ("negated", 3),
    ("contrast", 4),
    ("concession", 2),
    ("mixed", 2),
)


def _opposite(label: str) -> str:
    return NEGATIVE if label == POSITIVE else POSITIVE


def _be(aspect: Aspect, past: bool) -> str:
    """Return the form of "to be" agreeing with the aspect, in the review's tense."""
    if aspect.plural:
        return "were" if past else "are"
    return "was" if past else "is"


def _opinion(aspect: Aspect, label: str, rng: random.Random) -> str:
    return rng.choice(aspect.positive if label == POSITIVE else aspect.negative)


def _clause(
    aspect: Aspect, label: str, rng: random.Random, *, past: bool, intensify: float = 0.3
) -> str:
    """Return "the <aspect> was [intensifier] <opinion>" of the given polarity, lower case."""
    word = _opinion(aspect, label, rng)
    if rng.random() < intensify:
        word = f"{rng.choice(EXTREME_INTENSIFIERS if word in EXTREME else INTENSIFIERS)} {word}"
    return f"the {aspect.noun} {_be(aspect, past)} {word}"


def _negated_clause(aspect: Aspect, label: str, rng: random.Random, *, past: bool) -> str | None:
    """Return a clause of polarity ``label`` made by negating an opinion of the other one.

    None when the aspect has no opinion word whose negation reads that way.
    """
    if label == NEGATIVE:
        words, adverbs = aspect.negatable_positive, NOT
    else:
        words, adverbs = aspect.negatable_negative, NEVER
    if not words:
        return None
    return f"the {aspect.noun} {_be(aspect, past)} {rng.choice(adverbs)} {rng.choice(words)}"


def _polar_clause(aspect: Aspect, label: str, rng: random.Random, *, past: bool) -> str:
    """Return a plain, intensified or negated clause of polarity ``label``."""
    if rng.random() < 0.3:
        negated = _negated_clause(aspect, label, rng, past=past)
        if negated is not None:
            return negated
    return _clause(aspect, label, rng, past=past)


def _verdict(domain: Domain, name: str, label: str, rng: random.Random) -> str:
    verdicts = domain.verdicts_positive if label == POSITIVE else domain.verdicts_negative
    return rng.choice(verdicts).format(name=name)


def _sentence(clause: str) -> str:
    return clause[0].upper() + clause[1:] + "."


def _two_aspects(domain: Domain, rng: random.Random) -> tuple[Aspect, Aspect]:
    first, second = rng.sample(domain.aspects, 2)
    return first, second


def _review(shape: str, domain: Domain, label: str, rng: random.Random) -> str:
    """Return one review of ``shape`` whose verdict is ``label``."""
    name = rng.choice(domain.names)
    first, second = _two_aspects(domain, rng)
    other = _opposite(label)
    past = rng.random() < 0.6
    if shape == "simple":
        body = _sentence(_clause(first, label, rng, past=past, intensify=0.0))
    elif shape == "intensified":
        body = _sentence(_clause(first, label, rng, past=past, intensify=1.0))
        if rng.random() < 0.5:
            body += " " + _sentence(_verdict(domain, name, label, rng))
    elif shape == "agreeing":
        body = _sentence(
            f"{_polar_clause(first, label, rng, past=past)} and {_polar_clause(second, label, rng, past=past)}"
        )
    elif shape == "negated":
        negated = _negated_clause(first, label, rng, past=past) or _negated_clause(
            second, label, rng, past=past
        )
        if negated is None:
            negated = (
                f"{_clause(first, label, rng, past=past)} and {_verdict(domain, name, label, rng)}"
            )
        body = _sentence(negated)
        if rng.random() < 0.4:
            body += " " + _sentence(_verdict(domain, name, label, rng))
    elif shape == "contrast":
        # The clause after "but" decides: it carries the verdict or an intensified opinion.
        before = _polar_clause(first, other, rng, past=past)
        after = _clause(second, label, rng, past=past, intensify=0.6)
        if rng.random() < 0.6:
            after += f", so {_verdict(domain, name, label, rng)}"
        body = _sentence(f"{before}, but {after}")
    elif shape == "concession":
        opener = rng.choice(("Although", "Even though", "While"))
        verdict = _verdict(domain, name, label, rng)
        body = f"{opener} {_polar_clause(first, other, rng, past=past)}, {verdict}."
    else:  # mixed: one aspect each way, then an overall verdict
        body = _sentence(
            f"{_polar_clause(first, other, rng, past=past)} and {_polar_clause(second, label, rng, past=past)}"
        )
        body += f" {rng.choice(OVERALL)}, {_verdict(domain, name, label, rng)}."
    # Short reviews get an opener, so every review has at least MIN_TOKENS tokens.
    if rng.random() < 0.35 or len(TOKEN.findall(body)) < MIN_TOKENS:
        body = rng.choice(domain.openers).format(name=name) + " " + body
    return body


def generate_reviews(count: int, *, seed: int, exclude: set[str]) -> list[tuple[str, str]]:
    """Return ``count`` distinct (text, label) reviews, half of each label, in a seeded order.

    Texts already in ``exclude`` (compared case-insensitively) are skipped, so generated
    reviews never repeat the hand-written ones.
    """
    if count % 2:
        raise ValueError(f"count must be even (half of each label), got {count}")
    rng = random.Random(seed)
    shapes = [shape for shape, weight in SHAPES for _ in range(weight)]
    seen = {text.casefold() for text in exclude}
    reviews: list[tuple[str, str]] = []
    for k in range(count):
        label = POSITIVE if k % 2 == 0 else NEGATIVE
        while True:
            text = _review(rng.choice(shapes), rng.choice(DOMAINS), label, rng)
            if text.casefold() not in seen:
                break
        seen.add(text.casefold())
        reviews.append((text, label))
    rng.shuffle(reviews)
    return reviews
