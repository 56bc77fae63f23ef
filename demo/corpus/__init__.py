"""Write the demo datasets: the hand-written lines, then the seeded grammar's.

``explanations/demo/handwritten/`` keeps the lines written by hand (440 reviews, 100 of them
with two annotators' rationales, and 220 premise/hypothesis pairs), unchanged; the grammars
in :mod:`demo.corpus.sentiment` and :mod:`demo.corpus.nli` add reviews and pairs whose
labels are right by construction. ``python -m demo.corpus`` rewrites
``explanations/demo/sentiment.jsonl`` and ``nli.jsonl``; a test checks that it reproduces the
committed files byte for byte. Pure Python: no Django, no download.
"""

import json
from pathlib import Path
from typing import Any

from demo.corpus.nli import generate_pairs
from demo.corpus.sentiment import generate_reviews

DEMO_DATA = Path(__file__).resolve().parents[2] / "explanations" / "demo"
HANDWRITTEN = DEMO_DATA / "handwritten"
SEED = 15
GENERATED_REVIEWS = 760
GENERATED_PAIRS = 480


def _read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


def sentiment_lines(handwritten: Path = HANDWRITTEN / "sentiment.jsonl") -> str:
    """Return the sentiment file: the hand-written reviews, then the generated ones."""
    rows = _read(handwritten)
    generated = generate_reviews(
        GENERATED_REVIEWS, seed=SEED, exclude={row["text"] for row in rows}
    )
    start = len(rows) + 1
    for number, (text, label) in enumerate(generated, start):
        rows.append({"id": f"s{number:04d}", "text": text, "label": label})
    return "".join(_line(row) for row in rows)


def nli_lines(handwritten: Path = HANDWRITTEN / "nli.jsonl") -> str:
    """Return the NLI file: the hand-written pairs, then the generated ones."""
    rows = _read(handwritten)
    generated = generate_pairs(
        GENERATED_PAIRS, seed=SEED, exclude={(row["text"], row["text_b"]) for row in rows}
    )
    start = len(rows) + 1
    for number, (premise, hypothesis, label) in enumerate(generated, start):
        rows.append({"id": f"n{number:04d}", "text": premise, "text_b": hypothesis, "label": label})
    return "".join(_line(row) for row in rows)


def corpus_write(folder: Path = DEMO_DATA) -> None:
    """Write ``sentiment.jsonl`` and ``nli.jsonl`` into ``folder``."""
    (folder / "sentiment.jsonl").write_text(sentiment_lines(), encoding="utf-8")
    (folder / "nli.jsonl").write_text(nli_lines(), encoding="utf-8")
