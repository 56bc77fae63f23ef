"""JSON-safe result records: an undefined number is ``None`` with a reason, never NaN.

Every statistic returns a frozen dataclass deriving from :class:`Record`; its
``to_dict()`` gives plain Python values (floats, ints, strings, lists, dicts, None)
that ``json.dumps`` accepts with ``allow_nan=False``.
"""

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def finite_or_none(value: float | np.floating[Any] | None) -> float | None:
    """Return ``value`` as a Python float, or None if it is None, NaN or infinite."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def json_safe(value: object) -> Any:
    """Return ``value`` converted recursively to JSON-safe Python values.

    NaN and infinities become None; numpy scalars and arrays become Python numbers
    and lists; dataclasses and mappings become dicts; tuples become lists.
    """
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return finite_or_none(value)
    if isinstance(value, np.ndarray):
        return [json_safe(item) for item in value.tolist()]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: json_safe(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    raise TypeError(f"cannot convert {type(value).__name__} to a JSON-safe value")


class Record:
    """Mixin for frozen result dataclasses: adds :meth:`to_dict`."""

    def to_dict(self) -> dict[str, Any]:
        """Return the record as a JSON-safe dict (None, never NaN, for undefined numbers)."""
        converted = json_safe(self)
        assert isinstance(converted, dict)
        return converted
