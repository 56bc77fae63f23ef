"""Check the shipped demo datasets in ``explanations/demo`` (pure Python, no database)."""

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from explanations.compute.tokenize import tokenize

DEMO = Path(__file__).resolve().parents[2] / "explanations" / "demo"
SENTIMENT_LABELS = {"positive", "negative"}
NLI_LABELS = {"entailment", "contradiction", "neutral"}


def _read(name: str) -> list[dict[str, Any]]:
    lines = (DEMO / name).read_text(encoding="utf-8").split("\n")
    assert lines[-1] == "", "the file ends with one newline"
    return [json.loads(line) for line in lines[:-1]]


@pytest.fixture(scope="module")
def sentiment() -> list[dict[str, Any]]:
    return _read("sentiment.jsonl")


@pytest.fixture(scope="module")
def nli() -> list[dict[str, Any]]:
    return _read("nli.jsonl")


@pytest.fixture(scope="module")
def annotated(sentiment: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [row for row in sentiment if "rationales" in row]


def test_counts(sentiment, nli, annotated):
    # 440 hand-written reviews and 760 generated ones; 220 hand-written pairs and 480
    # generated ones (demo/corpus); the 100 annotated reviews are hand-written.
    assert len(sentiment) == 1200
    assert len(nli) == 700
    assert len(annotated) == 100
    assert all(int(row["id"][1:]) <= 440 for row in annotated)


@pytest.mark.parametrize("name", ["sentiment.jsonl", "nli.jsonl"])
def test_lines_are_clean(name):
    for number, line in enumerate((DEMO / name).read_text(encoding="utf-8").splitlines(), 1):
        assert line == line.strip(), f"line {number} has surrounding whitespace"
        row = json.loads(line)
        for key in ("text", "text_b"):
            if key in row:
                value = row[key]
                where = f"line {number}, {key}"
                assert value, f"{where}: empty"
                assert value == value.strip(), f"{where}: padded with whitespace"
                assert "\n" not in value, f"{where}: has a newline"
                assert "\r" not in value, f"{where}: has a carriage return"


def test_sentiment_keys_ids_and_labels(sentiment):
    for row in sentiment:
        assert list(row) in (["id", "text", "label"], ["id", "text", "label", "rationales"])
        assert row["label"] in SENTIMENT_LABELS
    ids = [row["id"] for row in sentiment]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("s") and i[1:].isdigit() for i in ids)


def test_nli_keys_ids_and_labels(nli):
    for row in nli:
        assert list(row) == ["id", "text", "text_b", "label"]
        assert row["label"] in NLI_LABELS
    ids = [row["id"] for row in nli]
    assert len(set(ids)) == len(ids)
    assert all(i.startswith("n") and i[1:].isdigit() for i in ids)


def test_sentiment_labels_roughly_balanced(sentiment):
    counts = Counter(row["label"] for row in sentiment)
    assert set(counts) == SENTIMENT_LABELS
    for label in SENTIMENT_LABELS:
        assert 0.45 <= counts[label] / len(sentiment) <= 0.55, counts


def test_nli_labels_roughly_balanced(nli):
    counts = Counter(row["label"] for row in nli)
    assert set(counts) == NLI_LABELS
    for label in NLI_LABELS:
        assert 0.28 <= counts[label] / len(nli) <= 0.39, counts


def test_sentiment_texts_are_short(sentiment):
    lengths = [len(tokenize(row["text"])[0]) for row in sentiment]
    assert min(lengths) >= 8
    assert max(lengths) <= 45


def test_no_duplicate_texts(sentiment, nli):
    texts = [row["text"].casefold() for row in sentiment]
    assert [t for t, n in Counter(texts).items() if n > 1] == []
    pairs = [(row["text"].casefold(), row["text_b"].casefold()) for row in nli]
    assert [p for p, n in Counter(pairs).items() if n > 1] == []


def test_rationales_cover_both_labels(annotated):
    counts = Counter(row["label"] for row in annotated)
    assert counts["positive"] >= 40
    assert counts["negative"] >= 40


def test_each_annotated_line_has_two_sorted_nonempty_rationales(annotated):
    for row in annotated:
        rationales = row["rationales"]
        assert len(rationales) == 2, row["id"]
        for rationale in rationales:
            assert rationale, f"{row['id']}: empty rationale"
            assert all(isinstance(i, int) for i in rationale), row["id"]
            # Strictly increasing: sorted and without repeats.
            assert all(a < b for a, b in zip(rationale, rationale[1:], strict=False)), row["id"]


def test_rationale_indices_fall_inside_the_tokens(annotated):
    for row in annotated:
        n_tokens = len(tokenize(row["text"])[0])
        for rationale in row["rationales"]:
            assert rationale[0] >= 0, row["id"]
            assert rationale[-1] < n_tokens, row["id"]


def test_annotators_overlap(annotated):
    # Two people marking the same review disagree at the edges, not on everything.
    for row in annotated:
        first, second = (set(r) for r in row["rationales"])
        assert first & second, f"{row['id']}: the annotators share no token"


@pytest.mark.parametrize(
    ("text", "first", "second"),
    [
        # Worked by hand: "The(0) blender(1) crushes(2) ice(3) in(4) seconds(5) .(6)
        # Very(7) happy(8) with(9) it(10) .(11)".
        (
            "The blender crushes ice in seconds. Very happy with it.",
            ["Very", "happy"],
            ["crushes", "ice", "in", "seconds", "Very", "happy", "with", "it"],
        ),
        # "Not(0) bad(1) at(2) all(3) for(4) a(5) low(6) budget(7) debut(8) ;(9) the(10)
        # writing(11) is(12) sharp(13) .(14)".
        (
            "Not bad at all for a low budget debut; the writing is sharp.",
            ["Not", "bad", "at", "all", "sharp"],
            ["Not", "bad", "at", "all"],
        ),
    ],
)
def test_rationales_point_at_the_words_annotators_marked(sentiment, text, first, second):
    (row,) = [r for r in sentiment if r["text"] == text]
    tokens, _ = tokenize(text)
    assert [tokens[i] for i in row["rationales"][0]] == first
    assert [tokens[i] for i in row["rationales"][1]] == second
