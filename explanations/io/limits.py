"""Size and content limits every imported string must meet before anything is written.

The column limits (:data:`MAX_ID_LENGTH`, :data:`MAX_SPLIT_LENGTH`) are the model fields'
``max_length``: PostgreSQL refuses a longer value with a ``DataError`` at insert time,
SQLite silently stores it, so they are checked here, per line, on every backend. NUL
characters are refused for the same reason: PostgreSQL text and ``jsonb`` cannot hold
them. :class:`TextLimits` carries the configurable limits on one instance's size (the
service fills it from settings); ``None`` means unlimited.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_ID_LENGTH = 200
"""``Instance.external_id`` max_length."""
MAX_SPLIT_LENGTH = 20
"""``Instance.split`` max_length."""
MAX_LABELS = 32_768
"""Labels of one dataset: a label is stored as its index, a small integer (0 to 32,767)."""
MIN_STORED_INT = -(2**63)
MAX_STORED_INT = 2**64 - 1
"""The integers stored JSON holds (orjson writes 64-bit signed and unsigned ones)."""
CSV_FIELD_LIMIT = 131_072
"""Python's default ``csv.field_size_limit()``: CSV cells are read up to this length, or up
to the characters-per-text limit when that is larger."""


@dataclass(frozen=True)
class TextLimits:
    """Limits on one instance: tokens of its texts together, characters of each text."""

    max_tokens: int | None = None
    max_chars: int | None = None


def _first(value: Any, where: str, found: Callable[[Any, str], str | None]) -> str | None:
    """Return ``found(x, where)`` of the first string or number ``x`` in a JSON value that
    has an answer (keys included), naming the path to it; None when none has."""
    if isinstance(value, dict):
        for key, item in value.items():
            answer = _first(str(key), f"{where}key {_short(key)}: ", found)
            answer = answer or _first(item, f"{where}key {_short(key)}, ", found)
            if answer:
                return answer
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            answer = _first(item, f"{where}item {index}, ", found)
            if answer:
                return answer
        return None
    return found(value, where)


def _nul_in(value: Any, where: str) -> str | None:
    if not isinstance(value, str):
        return None
    index = value.find("\x00")
    return None if index < 0 else f"{where}position {index}"


def nul_at(value: Any, where: str = "") -> str | None:
    """Return where in ``value`` (a JSON value) a NUL character is, or None when there is none.

    The answer names the position in a string (``"position 3"``) or the path to a nested
    key or item (``"key 'baseline', position 0"``), so the message points at it.
    """
    return _first(value, where, _nul_in)


def finite(number: float) -> bool:
    """Return whether ``number`` is finite as a float: an int beyond a float's range is not."""
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def _unstorable_number(value: Any, where: str) -> str | None:
    if type(value) is int and not MIN_STORED_INT <= value <= MAX_STORED_INT:
        return f"{where}an integer of {len(str(abs(value))):,} digits"
    return None


def unstorable_number_at(value: Any, where: str = "") -> str | None:
    """Return which integer in ``value`` (a JSON value) is beyond 64 bits, or None.

    JSON allows any integer; the stored JSON (written with orjson) holds 64-bit ones.
    """
    return _first(value, where, _unstorable_number)


def unstorable_number_message(position: str) -> str:
    """Return the message for an integer beyond 64 bits found at ``position``."""
    return f"has {position}; expected integers of at most 64 bits"


def nul_message(position: str) -> str:
    """Return the message for a NUL character found at ``position``."""
    return f"contains a NUL character (\\u0000) at {position}; expected text without NUL characters"


def too_long_message(value: str, limit: int, what: str) -> str | None:
    """Return a message when ``value`` is longer than ``limit`` characters, else None."""
    if len(value) <= limit:
        return None
    return f"is {len(value):,} characters long; expected at most {limit:,} ({what})"


def chars_message(text: str, limits: TextLimits | None) -> str | None:
    """Return a message when ``text`` has more characters than ``limits`` allow, else None."""
    if limits is None or limits.max_chars is None or len(text) <= limits.max_chars:
        return None
    return (
        f"has {len(text):,} characters; expected at most {limits.max_chars:,} per text "
        "(ELEPHANT_MAX_CHARS_PER_TEXT)"
    )


def tokens_message(n_tokens: int, limits: TextLimits | None) -> str | None:
    """Return a message when an instance of ``n_tokens`` tokens is over ``limits``, else None."""
    if limits is None or limits.max_tokens is None or n_tokens <= limits.max_tokens:
        return None
    return (
        f"has {n_tokens:,} tokens; expected at most {limits.max_tokens:,} per instance "
        "(ELEPHANT_MAX_TOKENS_PER_INSTANCE)"
    )


def _short(value: Any, width: int = 40) -> str:
    """Return ``repr(value)`` cut to about ``width`` characters, for messages."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


def json_object_problem(value: Any) -> str | None:
    """Return why ``value`` cannot be stored as a JSON object field, or None when it can."""
    if not isinstance(value, dict):
        return f"expected a JSON object, got {type(value).__name__}"
    position = nul_at(value)
    if position:
        return nul_message(position)
    position = unstorable_number_at(value)
    if position:
        return unstorable_number_message(position)
    return None
