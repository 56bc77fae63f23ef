"""Parse and write explanation files: JSON lines
``{"instance": id, "method": name, "scores": [...], "params": {...}}``.

An explanation of an imported Hugging Face model also carries ``"seen_words": n`` and
``"words": m``: the model saw the first ``n`` of the instance's ``m`` words (the rest were
past its maximum length and score 0). Both are optional on import and stored as the
explanation's extras; ``words`` must be the instance's number of explained tokens.
"""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .limits import finite, json_object_problem
from .lines import json_objects
from .problems import ProblemCollector

FIELDS = ("instance", "method", "scores", "params", "seen_words", "words")
SEEN_FIELDS = ("seen_words", "words")
NUMBER_TYPES = frozenset({float, int})


@dataclass
class ParsedExplanation:
    line: int
    instance_id: int
    method_id: int
    scores: list[float]
    params: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)


def read_explanations(
    path: Path,
    *,
    instances: dict[str, tuple[int, int]],
    methods: dict[str, int],
) -> list[ParsedExplanation]:
    """Parse and validate an explanation file against stored instances and methods.

    ``instances`` maps external id to ``(pk, number of explained tokens)``; ``methods``
    maps method name to pk. Raise :class:`ImportFailed` listing bad lines.
    """
    problems = ProblemCollector(path)
    parsed = list(iter_explanations(path, instances=instances, methods=methods, problems=problems))
    problems.raise_if_any()
    return parsed


def iter_explanations(
    path: Path,
    *,
    instances: dict[str, tuple[int, int]],
    methods: dict[str, int],
    problems: ProblemCollector,
) -> Iterator[ParsedExplanation]:
    """Yield each valid line as it is read; record bad lines in ``problems``.

    A caller that writes while reading (streaming into COPY) must check ``problems``
    at the end and roll back when there are any.
    """
    seen: dict[tuple[int, int], int] = {}
    for line, obj in json_objects(path, problems, FIELDS):
        missing = [k for k in ("instance", "method", "scores") if k not in obj]
        if missing:
            problems.add(line, missing[0], "missing; every line needs instance, method and scores")
            continue
        ext, method, scores, params = (
            obj["instance"],
            obj["method"],
            obj["scores"],
            obj.get("params", {}),
        )
        if isinstance(ext, bool) or not isinstance(ext, str | int):
            problems.add(
                line, "instance", f"expected an instance id (string), got {type(ext).__name__}"
            )
            continue
        if str(ext) not in instances:
            problems.add(line, "instance", f"unknown instance {ext!r}; it is not in the dataset")
            continue
        if not isinstance(method, str):
            problems.add(
                line, "method", f"expected a method name (string), got {type(method).__name__}"
            )
            continue
        if method not in methods:
            problems.add(
                line,
                "method",
                f"unknown method {method!r}; expected one of {', '.join(sorted(methods))}",
            )
            continue
        if not isinstance(scores, list):
            problems.add(line, "scores", f"expected a list of numbers, got {type(scores).__name__}")
            continue
        if not set(map(type, scores)) <= NUMBER_TYPES:
            bad = next(i for i, x in enumerate(scores) if type(x) not in NUMBER_TYPES)
            problems.add(line, "scores", f"item {bad} is {scores[bad]!r}; expected a finite number")
            continue
        if not finite(sum(scores)):
            bad_items = [i for i, x in enumerate(scores) if not finite(x)]
            if bad_items:
                problems.add(
                    line,
                    "scores",
                    f"item {bad_items[0]} is {scores[bad_items[0]]}; expected a finite number",
                )
                continue
        instance_pk, n_tokens = instances[str(ext)]
        if len(scores) != n_tokens:
            problems.add(
                line,
                "scores",
                f"has {len(scores)} scores; expected {n_tokens}, one per token of instance {ext!r}",
            )
            continue
        message = json_object_problem(params)
        if message:
            problems.add(line, "params", message)
            continue
        extras = _seen_words(obj, n_tokens, line, problems)
        if extras is None:
            continue
        key = (instance_pk, methods[method])
        if key in seen:
            problems.add(
                line,
                "instance",
                f"instance {ext!r} with method {method!r} already appears on line {seen[key]}",
            )
            continue
        seen[key] = line
        yield ParsedExplanation(line, instance_pk, methods[method], scores, params, extras)


def _seen_words(
    obj: dict[str, Any], n_tokens: int, line: int, problems: ProblemCollector
) -> dict[str, Any] | None:
    """Return the line's ``seen_words``/``words`` as extras ({} when absent), None if bad."""
    present = [k for k in SEEN_FIELDS if k in obj]
    if not present:
        return {}
    if len(present) == 1:
        other = next(k for k in SEEN_FIELDS if k not in obj)
        problems.add(line, other, f"missing; {present[0]} needs both seen_words and words")
        return None
    seen, words = obj["seen_words"], obj["words"]
    for name, value in (("seen_words", seen), ("words", words)):
        if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
            problems.add(line, name, f"expected a whole number of words, got {value!r}")
            return None
    if int(words) != n_tokens:
        problems.add(line, "words", f"is {words}; expected {n_tokens}, the instance's words")
        return None
    if not 0 <= int(seen) <= int(words):
        problems.add(line, "seen_words", f"is {seen}; expected 0 to {n_tokens}")
        return None
    return {"seen_words": int(seen), "words": int(words)}


def write_explanations(
    rows: Iterable[
        tuple[str, str, list[float], dict[str, Any]]
        | tuple[str, str, list[float], dict[str, Any], dict[str, Any]]
    ],
    out: Any,
) -> int:
    """Write ``(instance id, method, scores, params[, extras])`` rows as JSON lines.

    Of the extras only ``seen_words`` and ``words`` are written (when both are there).
    Return the number of lines written.
    """
    count = 0
    for row in rows:
        ext, method, scores, params = row[:4]
        record: dict[str, Any] = {
            "instance": ext,
            "method": method,
            "scores": scores,
            "params": params,
        }
        extras = row[4] if len(row) > 4 else None
        if extras and all(extras.get(k) is not None for k in SEEN_FIELDS):
            record.update({k: int(extras[k]) for k in SEEN_FIELDS})
        out.write(json.dumps(record) + "\n")
        count += 1
    return count
