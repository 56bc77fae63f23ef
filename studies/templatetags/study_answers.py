"""Template filters for re-drawing a refused answer as the participant left it."""

from collections.abc import Mapping
from typing import Any

from django import template

register = template.Library()


@register.filter
def posted_value(posted: Mapping[str, Any] | None, key: str) -> str:
    """Return the posted value of field ``key`` ("" when absent), to keep a refused answer."""
    if not posted:
        return ""
    value = posted.get(key)
    return "" if value is None else str(value)
