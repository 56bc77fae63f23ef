"""Template helpers for showing labels and token scores."""

from collections.abc import Sequence
from typing import Any

from django import template

register = template.Library()


@register.filter
def label_name(index: int | None, names: Sequence[str]) -> str:
    """Return the label name at ``index``, or an em dash."""
    if index is None or not 0 <= index < len(names):
        return "—"
    return names[index]


@register.filter
def at(values: Sequence[Any], index: int) -> Any:
    """Return ``values[index]``."""
    return values[index]
