"""The demo corpus generator: reproducible, labels right by construction, no one-word shortcut.

Pure Python: no database.
"""

import json
import random
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from demo import corpus
from demo.corpus import nli, sentiment
from explanations.compute.tokenize import tokenize

HANDWRITTEN_REVIEWS = 440
HANDWRITTEN_PAIRS = 220


def _rows(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.fixture(scope="module")
def reviews() -> list[dict]:
    return _rows(corpus.sentiment_lines())[HANDWRITTEN_REVIEWS:]


@pytest.fixture(scope="module")
def pairs() -> list[dict]:
    return _rows(corpus.nli_lines())[HANDWRITTEN_PAIRS:]


def test_the_generator_reproduces_the_committed_files_byte_for_byte():
    committed = corpus.DEMO_DATA
    assert corpus.sentiment_lines() == (committed / "sentiment.jsonl").read_text(encoding="utf-8")
    assert corpus.nli_lines() == (committed / "nli.jsonl").read_text(encoding="utf-8")


def test_corpus_write_writes_the_same_bytes(tmp_path: Path):
    corpus.corpus_write(tmp_path)
    for name in ("sentiment.jsonl", "nli.jsonl"):
        assert (tmp_path / name).read_bytes() == (corpus.DEMO_DATA / name).read_bytes()


@pytest.mark.parametrize("name", ["sentiment.jsonl", "nli.jsonl"])
def test_the_hand_written_lines_come_first_unchanged(name):
    handwritten = (corpus.HANDWRITTEN / name).read_text(encoding="utf-8")
    assert (corpus.DEMO_DATA / name).read_text(encoding="utf-8").startswith(handwritten)


def test_the_grammars_are_seeded():
    assert sentiment.generate_reviews(20, seed=3, exclude=set()) == sentiment.generate_reviews(
        20, seed=3, exclude=set()
    )
    assert nli.generate_pairs(12, seed=3, exclude=set()) == nli.generate_pairs(
        12, seed=3, exclude=set()
    )
    assert sentiment.generate_reviews(20, seed=3, exclude=set()) != sentiment.generate_reviews(
        20, seed=4, exclude=set()
    )


def test_excluded_texts_are_never_generated():
    first = sentiment.generate_reviews(40, seed=1, exclude=set())
    again = sentiment.generate_reviews(40, seed=1, exclude={first[0][0].upper()})
    assert first[0][0] not in {text for text, _ in again}


def test_counts_must_split_evenly_over_the_labels():
    with pytest.raises(ValueError, match="count must be even"):
        sentiment.generate_reviews(3, seed=0, exclude=set())
    with pytest.raises(ValueError, match="multiple of 3"):
        nli.generate_pairs(4, seed=0, exclude=set())


def test_generated_ids_continue_the_hand_written_ones(reviews, pairs):
    assert reviews[0]["id"] == f"s{HANDWRITTEN_REVIEWS + 1:04d}"
    assert pairs[0]["id"] == f"n{HANDWRITTEN_PAIRS + 1:04d}"
    assert [r["id"] for r in reviews] == [
        f"s{k:04d}" for k in range(HANDWRITTEN_REVIEWS + 1, HANDWRITTEN_REVIEWS + 1 + len(reviews))
    ]


def test_generated_labels_are_exactly_balanced(reviews, pairs):
    assert Counter(r["label"] for r in reviews) == {"positive": 380, "negative": 380}
    assert Counter(p["label"] for p in pairs) == {
        "entailment": 160,
        "contradiction": 160,
        "neutral": 160,
    }


def _best_one_token_rule(texts: list[str], labels: list[str]) -> float:
    """Return the accuracy of the best rule "label L if token T occurs, else the majority"."""
    token_sets = [{t.lower() for t in tokenize(text)[0]} for text in texts]
    best = 0.0
    for token in set().union(*token_sets):
        present = Counter(y for s, y in zip(token_sets, labels, strict=True) if token in s)
        absent = Counter(y for s, y in zip(token_sets, labels, strict=True) if token not in s)
        rest = absent.most_common(1)[0][1] if absent else 0
        best = max(best, (present.most_common(1)[0][1] + rest) / len(labels))
    return best


def test_no_single_word_decides_a_review(reviews):
    # Opinion words, negations and "but" occur under both labels (contrast and concession
    # put an opposite-polarity clause in the same review); measured: 0.63 ("not" -> negative).
    texts = [r["text"] for r in reviews]
    assert _best_one_token_rule(texts, [r["label"] for r in reviews]) < 0.7


def test_no_single_hypothesis_word_decides_a_pair(pairs):
    # A third per label; the best one-word rule (measured 0.48) is far from a solution.
    texts = [p["text_b"] for p in pairs]
    assert _best_one_token_rule(texts, [p["label"] for p in pairs]) < 0.55


def test_shapes_put_the_verdict_where_a_reader_looks():
    rng = random.Random(0)
    restaurant = sentiment.DOMAINS[0]
    for label in (sentiment.POSITIVE, sentiment.NEGATIVE):
        for _ in range(30):
            text = sentiment._review("contrast", restaurant, label, rng)
            before, after = text.split(", but ", 1)
            assert _polarity(after, restaurant) == label, text
            assert _polarity(before, restaurant) != label, text
            text = sentiment._review("concession", restaurant, label, rng)
            verdicts = (
                restaurant.verdicts_positive
                if label == sentiment.POSITIVE
                else restaurant.verdicts_negative
            )
            final = text.rsplit(", ", 1)[1].rstrip(".")
            assert final in {v.format(name=n) for v in verdicts for n in restaurant.names}, text


def _polarity(clause: str, domain: sentiment.Domain) -> str:
    """Read a clause's polarity: its opinion word's, flipped by a negation before it."""
    words = re.findall(r"[\w-]+", clause.lower())
    positive = {w for a in domain.aspects for w in a.positive + a.negatable_positive}
    negative = {w for a in domain.aspects for w in a.negative + a.negatable_negative}
    for k, word in enumerate(words):
        if word in positive or word in negative:
            negated = {"not", "never", "from", "once", "least"} & set(words[max(0, k - 3) : k])
            is_positive = (word in positive) != bool(negated)
            return sentiment.POSITIVE if is_positive else sentiment.NEGATIVE
    raise AssertionError(f"no opinion word in {clause!r}")


@pytest.mark.parametrize(
    ("text", "label"),
    [
        # Read by hand: negation of a negative word praises; "but" hands over the verdict.
        ("The food was not at all bland. We will definitely be back.", "positive"),
        ("The bathroom is far from clean. We will never book this hostel again.", "negative"),
        (
            "The plot was very clever, but the soundtrack was really disappointing, so I "
            "would not watch this thriller again.",
            "negative",
        ),
    ],
)
def test_worked_examples_get_the_label_a_reader_gives(text, label):
    # The same reading rule as the grammar, on sentences composed by hand.
    film, restaurant, hotel = sentiment.DOMAINS[1], sentiment.DOMAINS[0], sentiment.DOMAINS[2]
    domain = {"food": restaurant, "bathroom": hotel, "plot": film}[text.split()[1]]
    clause = text.split(", but ")[-1].split(".")[0]
    assert _polarity(clause, domain) == label


def test_one_hypothesis_shape_takes_every_label_depending_on_the_premise():
    man = nli.AGENTS[0]
    guitar = nli.ACTIVITIES[0]
    rng = random.Random(0)
    seen: dict[str, set[str]] = defaultdict(set)
    for attribute in (("tall", "short"), ("short", "tall"), None):
        scene = nli.Scene(man, guitar, attribute, None, None)
        for label, make in nli.HYPOTHESES.items():
            for _ in range(400):
                seen[make(scene, rng)].add(label)
    # "The man is tall." follows from "A tall man ...", contradicts "A short man ..." and is
    # neutral after "A man ..." (no height stated).
    assert seen["The man is tall."] == {"entailment", "contradiction", "neutral"}


def test_premises_read_as_english():
    rng = random.Random(0)
    scene = nli.Scene(
        nli.AGENTS[1], nli.ACTIVITIES[3], ("tall", "short"), ("in the park", True), None
    )
    assert nli._premise(scene) == "A tall woman is eating an apple in the park."
    assert nli._entailment(scene, rng).startswith(("The woman", "A woman", "A person", "Someone"))
    group = nli.Scene(nli.AGENTS[0], nli.ACTIVITIES[9], None, None, "Three")
    assert nli._premise(group) == "Three men are washing a car."
    contradictions = {nli._contradiction(group, rng) for _ in range(60)}
    assert "The men are not washing a car." in contradictions
    assert "Only one man is washing a car." in contradictions
