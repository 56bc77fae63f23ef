"""Template filters that print the analysis' numbers the same way everywhere.

An undefined number (None: the statistic could not be computed) prints as an em dash,
never as NaN; the reason is shown beside it by the template.
"""

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()
UNDEFINED = "—"


@register.filter
def num(value: Any, digits: int = 3) -> str:
    """Return ``value`` with ``digits`` decimals (a real minus sign), or a dash if undefined."""
    if value is None or isinstance(value, bool):
        return UNDEFINED
    try:
        number = float(value)
    except (TypeError, ValueError):
        return UNDEFINED
    if number != number:  # NaN never reaches here, but never print it either
        return UNDEFINED
    return f"{number:.{int(digits)}f}".replace("-", "\u2212")


@register.filter
def ci(value: Mapping[str, Any] | None, digits: int = 3) -> str:
    """Return an interval ``[lower, upper]``, or a dash if there is none."""
    if not value or value.get("lower") is None or value.get("upper") is None:
        return UNDEFINED
    return f"[{num(value['lower'], digits)}, {num(value['upper'], digits)}]"


@register.filter
def percent(value: Any) -> str:
    """Return a level such as 0.95 as "95%"."""
    if value is None:
        return UNDEFINED
    return f"{float(value) * 100:g}%"


@register.filter
def lookup(mapping: Mapping[str, Any] | None, key: str) -> Any:
    """Return ``mapping[key]`` (None when missing), for keys that are not identifiers."""
    if not mapping:
        return None
    return mapping.get(key)


@register.filter
def words(value: Any) -> str:
    """Return an identifier such as ``two_way`` as words ("two way")."""
    return str(value).replace("_", " ")
