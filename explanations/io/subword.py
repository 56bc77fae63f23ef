"""Parse explanations computed elsewhere at subword level, and pool them to our words.

Two formats, one JSON object per line, for a model imported with ``import_model``:

* **subword JSONL** ``{"instance": id, "method": name, "input_ids": [...] or "pieces": [...],
  "scores": [...], "params": {...}}``: one score per input id (or piece string); ``params``
  optional, its ``pooling`` (``sum``, ``l2``, ``max_abs``, ``mean``) the rule that turns a
  word's piece scores into one score.
* **Thermostat** (DFKI-NLP/thermostat, ``run_explainer.py`` and its published datasets):
  ``input_ids``, ``attributions`` (one per input id), ``label``, ``predictions`` (the
  model's logits), the instance's index in a field named by ``id_field`` (the published
  datasets call it ``idx``: the row number in the explained split), and fields this
  reader ignores (``dataset``, ``model``, ``explainer`` configurations, ``batch``,
  ``instance``, ``index_running``). One file holds one explainer, so the method is given
  once for the whole file. Thermostat pads every input to the maximum length: padding
  past the model's own encoding is dropped with its scores.

The pieces are trusted only if they are the pieces the model's tokenizer gives the text
we hold: :func:`pool_line` compares them with the instance's encoding (special tokens,
pair context and truncation included) and names the first differing position. The word
mapping is then the one computed explanations use (:mod:`explanations.compute.hf.alignment`):
special tokens and a pair's context get no word, a word with no piece in the input is
unseen and scores 0.
"""

from collections.abc import Callable, Container, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explanations.compute.hf.alignment import POOLINGS, WordPieces, pool_words

from .limits import finite, json_object_problem, nul_at, nul_message
from .lines import json_objects
from .problems import ProblemCollector

SUBWORD_FIELDS = ("instance", "method", "input_ids", "pieces", "scores", "params")
FORMATS = ("jsonl", "subword", "thermostat")
THERMOSTAT_ID_FIELD = "idx"
NUMBER_TYPES = frozenset({float, int})


@dataclass
class SubwordLine:
    """One valid line: the instance, method and one score per piece, not yet aligned.

    ``input_ids`` or ``pieces`` is set (the other None); ``pieces_field`` and
    ``scores_field`` are the names the file uses, for messages; ``outputs`` the model's
    outputs (Thermostat's ``predictions``) when the line has them.
    """

    line: int
    instance: str
    method: str
    input_ids: list[int] | None
    pieces: list[str] | None
    scores: list[float]
    params: dict[str, Any]
    pieces_field: str
    scores_field: str
    outputs: list[float] | None = None


@dataclass(frozen=True)
class PooledLine:
    """A line pooled to words: one score per explained word and whether each was seen."""

    line: int
    scores: list[float]
    seen: np.ndarray
    pooling: str


def iter_subword_lines(
    path: Path,
    *,
    instances: Container[str],
    methods: Container[str],
    problems: ProblemCollector,
) -> Iterator[SubwordLine]:
    """Yield each valid line of a subword JSONL file; record bad lines in ``problems``."""
    seen: dict[tuple[str, str], int] = {}
    for line, obj in json_objects(path, problems, SUBWORD_FIELDS):
        missing = [k for k in ("instance", "method", "scores") if k not in obj]
        if missing:
            problems.add(
                line,
                missing[0],
                "missing; every line needs instance, method, input_ids or pieces, and scores",
            )
            continue
        if ("input_ids" in obj) == ("pieces" in obj):
            field = "input_ids" if "input_ids" in obj else "pieces"
            problems.add(
                line,
                field,
                "give exactly one of input_ids (token ids) and pieces (token strings)"
                if "input_ids" in obj
                else "missing; every line needs input_ids or pieces, one per score",
            )
            continue
        ext = _instance_id(obj["instance"], "instance", line, instances, problems)
        if ext is None:
            continue
        method = obj["method"]
        if not isinstance(method, str):
            problems.add(
                line, "method", f"expected a method name (string), got {type(method).__name__}"
            )
            continue
        if method not in methods:
            problems.add(line, "method", f"unknown method {method!r}")
            continue
        field = "input_ids" if "input_ids" in obj else "pieces"
        ids = _ids(obj[field], field, line, problems) if field == "input_ids" else None
        pieces = _pieces(obj[field], line, problems) if field == "pieces" else None
        if ids is None and pieces is None:
            continue
        scores = _numbers(obj["scores"], "scores", line, problems)
        if scores is None:
            continue
        count = len(ids if ids is not None else pieces or [])
        if len(scores) != count:
            problems.add(
                line, "scores", f"has {len(scores)} scores; expected {count}, one per {field} item"
            )
            continue
        params = obj.get("params", {})
        message = json_object_problem(params)
        if message:
            problems.add(line, "params", message)
            continue
        if not _pooling_ok(params, line, problems):
            continue
        key = (ext, method)
        if key in seen:
            problems.add(
                line,
                "instance",
                f"instance {ext!r} with method {method!r} already appears on line {seen[key]}",
            )
            continue
        seen[key] = line
        yield SubwordLine(line, ext, method, ids, pieces, scores, dict(params), field, "scores")


def iter_thermostat_lines(
    path: Path,
    *,
    instances: Container[str],
    method: str,
    id_field: str = THERMOSTAT_ID_FIELD,
    problems: ProblemCollector,
) -> Iterator[SubwordLine]:
    """Yield each valid line of a Thermostat file (explained by ``method``).

    ``id_field`` names the field holding the instance's id (our ``external_id``).
    """
    seen: dict[str, int] = {}
    for line, obj in json_objects(path, problems):
        missing = [k for k in (id_field, "input_ids", "attributions") if k not in obj]
        if missing:
            problems.add(
                line,
                missing[0],
                f"missing; every Thermostat line needs {id_field} (the instance id), "
                "input_ids and attributions",
            )
            continue
        ext = _instance_id(obj[id_field], id_field, line, instances, problems)
        if ext is None:
            continue
        ids = _ids(obj["input_ids"], "input_ids", line, problems)
        if ids is None:
            continue
        scores = _numbers(obj["attributions"], "attributions", line, problems)
        if scores is None:
            continue
        if len(scores) != len(ids):
            problems.add(
                line,
                "attributions",
                f"has {len(scores)} attributions; expected {len(ids)}, one per input id",
            )
            continue
        outputs = None
        if obj.get("predictions") is not None:
            outputs = _numbers(obj["predictions"], "predictions", line, problems)
            if outputs is None:
                continue
        if ext in seen:
            problems.add(line, id_field, f"instance {ext!r} already appears on line {seen[ext]}")
            continue
        seen[ext] = line
        params: dict[str, Any] = {}
        explainer = obj.get("explainer")
        if isinstance(explainer, dict) and isinstance(explainer.get("name"), str):
            position = nul_at(explainer["name"])
            if position:
                problems.add(line, "explainer", f"name {nul_message(position)}")
                continue
            params["explainer"] = explainer["name"]
        yield SubwordLine(
            line, ext, method, ids, None, scores, params, "input_ids", "attributions", outputs
        )


def pool_line(
    item: SubwordLine,
    encoding: WordPieces,
    *,
    id_tokens: Callable[[Sequence[int]], list[str]],
    pad_id: int | None,
    pooling: str,
    problems: ProblemCollector,
) -> PooledLine | None:
    """Check the line's pieces against the instance's ``encoding``; pool its scores to words.

    ``id_tokens`` is the tokenizer's ``convert_ids_to_tokens``; ``pad_id`` its padding id
    (padding past the encoding's length is dropped). Return None after recording a
    problem naming the first position where the line and the tokenizer differ.
    """
    expected_ids = [int(i) for i in encoding.input_ids.tolist()]
    n = len(expected_ids)
    given: list[Any]
    expected: list[Any]
    if item.input_ids is not None:
        given, expected = item.input_ids, expected_ids
        pad: Any = pad_id
    else:
        given, expected = item.pieces or [], id_tokens(expected_ids)
        pad = id_tokens([pad_id])[0] if pad_id is not None else None
    scores = item.scores
    if len(given) > n and pad is not None and all(g == pad for g in given[n:]):
        given, scores = given[:n], scores[:n]
    if given != expected:
        position = next(
            (p for p, (a, b) in enumerate(zip(given, expected, strict=False)) if a != b),
            min(len(given), n),
        )
        problems.add(
            item.line,
            item.pieces_field,
            _mismatch(item, given, expected, position, id_tokens),
        )
        return None
    pooled, seen = pool_words(np.asarray(scores, dtype=np.float64), encoding, pooling)
    return PooledLine(item.line, [float(s) for s in pooled], seen, pooling)


def target_label(outputs: Sequence[float], label_order: Sequence[int] | None) -> int:
    """Return the dataset label of the model's largest output (``label_order`` maps them)."""
    best = int(np.argmax(np.asarray(outputs, dtype=np.float64)))
    if label_order is None:
        return best
    return list(label_order).index(best)


def line_pooling(params: Mapping[str, Any], default: str) -> str:
    """Return the line's own pooling rule, or ``default``."""
    value = params.get("pooling", default)
    return str(value)


def _mismatch(
    item: SubwordLine,
    given: Sequence[Any],
    expected: Sequence[Any],
    position: int,
    id_tokens: Callable[[Sequence[int]], list[str]],
) -> str:
    """Describe where the line's pieces and the tokenizer's differ."""

    def show(values: Sequence[Any]) -> str:
        if position >= len(values):
            return "nothing (the input ends there)"
        value = values[position]
        if item.input_ids is None:
            return repr(value)
        try:
            token = id_tokens([value])[0]
        except (IndexError, OverflowError, TypeError, ValueError):
            token = None
        return f"{value} ({token!r})" if token is not None else f"{value} (not in its vocabulary)"

    return (
        f"differs from the model's tokenizer at position {position}: the file has "
        f"{show(given)}, the tokenizer gives {show(expected)} for instance {item.instance!r} "
        f"({len(given)} against {len(expected)} pieces); encode the text the dataset holds "
        "with the model's own tokenizer, its special tokens and its maximum length"
    )


def _instance_id(
    value: Any, field: str, line: int, instances: Container[str], problems: ProblemCollector
) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        problems.add(line, field, f"expected an instance id, got {type(value).__name__}")
        return None
    if str(value) not in instances:
        problems.add(line, field, f"unknown instance {value!r}; it is not in the dataset")
        return None
    return str(value)


def _ids(value: Any, field: str, line: int, problems: ProblemCollector) -> list[int] | None:
    if not isinstance(value, list) or not value:
        problems.add(line, field, "expected a non-empty list of token ids (integers)")
        return None
    bad = next((i for i, x in enumerate(value) if type(x) is not int or x < 0), None)
    if bad is not None:
        problems.add(line, field, f"item {bad} is {value[bad]!r}; expected a token id (integer)")
        return None
    return value


def _pieces(value: Any, line: int, problems: ProblemCollector) -> list[str] | None:
    if not isinstance(value, list) or not value:
        problems.add(line, "pieces", "expected a non-empty list of token strings")
        return None
    bad = next((i for i, x in enumerate(value) if not isinstance(x, str)), None)
    if bad is not None:
        problems.add(line, "pieces", f"item {bad} is {value[bad]!r}; expected a token string")
        return None
    return value


def _numbers(value: Any, field: str, line: int, problems: ProblemCollector) -> list[float] | None:
    if not isinstance(value, list):
        problems.add(line, field, f"expected a list of numbers, got {type(value).__name__}")
        return None
    bad = next(
        (i for i, x in enumerate(value) if type(x) not in NUMBER_TYPES or not finite(x)),
        None,
    )
    if bad is not None:
        problems.add(line, field, f"item {bad} is {value[bad]!r}; expected a finite number")
        return None
    return value


def _pooling_ok(params: Mapping[str, Any], line: int, problems: ProblemCollector) -> bool:
    pooling = params.get("pooling")
    if pooling is not None and pooling not in POOLINGS:
        problems.add(
            line,
            "params",
            f"pooling {pooling!r} is not a pooling rule; expected one of {', '.join(POOLINGS)}",
        )
        return False
    return True
