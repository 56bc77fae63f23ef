"""Read a text file line by line, refusing non-UTF-8 bytes with the line number."""

import json
from collections.abc import Collection, Iterator
from pathlib import Path
from typing import Any

import orjson

from .problems import ImportFailed, Problem, ProblemCollector


def read_text_lines(path: Path) -> list[tuple[int, str]]:
    """Return ``(line_number, text)`` for every non-blank line of ``path``.

    Raise :class:`ImportFailed` for a missing or empty file and for bytes that are not
    UTF-8, naming the line.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ImportFailed([Problem(str(path), None, None, f"cannot read file: {exc}")]) from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    lines: list[tuple[int, str]] = []
    for number, chunk in enumerate(raw.split(b"\n"), start=1):
        try:
            text = chunk.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ImportFailed(
                [
                    Problem(
                        str(path),
                        number,
                        None,
                        f"byte {exc.start + 1} is not valid UTF-8; expected UTF-8 text",
                    )
                ]
            ) from exc
        text = text.rstrip("\r")
        if text.strip():
            lines.append((number, text))
    if not lines:
        raise ImportFailed(
            [Problem(str(path), None, None, "file is empty; expected at least one record")]
        )
    return lines


def iter_json_lines(path: Path) -> Iterator[tuple[int, Any, str | None]]:
    """Yield ``(line_number, object, error)`` for each JSON line; error is None when it parsed."""
    for number, text in read_text_lines(path):
        try:
            yield number, orjson.loads(text), None
        except orjson.JSONDecodeError as exc:
            # orjson refuses NaN, Infinity and overflowing numbers; the standard library reads
            # them, so the caller can name the field that holds a non-finite number.
            try:
                yield number, json.loads(text), None
            except ValueError:
                yield number, None, f"malformed JSON ({exc}); expected one JSON object per line"


def json_objects(
    path: Path, problems: ProblemCollector, fields: Collection[str] | None = None
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line, object)`` for each line of a JSON-lines file that is a JSON object.

    Lines that are not valid JSON, not an object, or (with ``fields``) carry a field
    outside ``fields`` are recorded in ``problems`` instead; reading stops once
    ``problems`` is full.
    """
    for line, obj, error in iter_json_lines(path):
        if problems.full:
            break
        if error:
            problems.add(line, None, error)
            continue
        if not isinstance(obj, dict):
            problems.add(line, None, f"expected a JSON object, got {type(obj).__name__}")
            continue
        unknown = [k for k in obj if fields is not None and k not in fields]
        if unknown:
            problems.add(
                line, unknown[0], f"unknown field; expected only {', '.join(fields or ())}"
            )
            continue
        yield line, obj
