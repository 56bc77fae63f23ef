"""Answer fields shared by the task types: choose a label, rate on a scale, say how sure.

The aided task, forward simulation and counterfactual simulation all ask the participant
for a label (their own, or the one they expect the model to give) and some ask for a
rating. Label choices carry ``data-key`` "1", "2", ... so the flow's script selects them
with the number keys; ratings are plain radio groups (Tab to reach them, arrows to move).
"""

from collections.abc import Mapping, Sequence
from random import Random
from typing import Any

from django.core.exceptions import ValidationError

MAX_KEYED_LABELS = 9


def label_choices(label_names: Sequence[str]) -> list[dict[str, Any]]:
    """Return one radio choice per label: ``index``, ``name`` and its number key."""
    return [
        {
            "index": i,
            "name": name,
            "key": str(i + 1) if i < MAX_KEYED_LABELS else "",
        }
        for i, name in enumerate(label_names)
    ]


def _raw(data: Mapping[str, Any], field: str) -> str:
    """Return the submitted value as stripped text ("" when absent).

    Not ``data.get(field) or ""``: a JSON client's integer 0 (the first label) is an answer.
    """
    value = data.get(field)
    return "" if value is None else str(value).strip()


MAX_DIGITS = 9
"""Digits of the largest whole number a form field takes (an option, a rating, a position)."""


def whole_number(raw: str) -> int | None:
    """Return ``raw`` as a whole number >= 0, or None unless it is 1 to 9 decimal digits.

    The length is checked first: ``int()`` of thousands of digits raises, and is slow.
    """
    return int(raw) if 0 < len(raw) <= MAX_DIGITS and raw.isdecimal() else None


def clean_label(
    data: Mapping[str, Any], label_names: Sequence[str], *, field: str = "label"
) -> int:
    """Return the chosen label index; raise ValidationError naming the labels otherwise."""
    raw = _raw(data, field)
    names = ", ".join(label_names)
    if not raw:
        raise ValidationError(f"Please choose one of the labels ({names}).")
    index = whole_number(raw)
    if index is None or index >= len(label_names):
        raise ValidationError(f"The label must be one of {names}; got {raw[:20]!r}.")
    return index


def clean_scale(data: Mapping[str, Any], field: str, points: int, what: str) -> int:
    """Return a rating from 1 to ``points``; raise ValidationError saying what was expected."""
    raw = _raw(data, field)
    if not raw:
        raise ValidationError(f"Please choose {what} (1 to {points}).")
    rating = whole_number(raw)
    if rating is None or not 1 <= rating <= points:
        raise ValidationError(
            f"{what[0].upper()}{what[1:]} must be a whole number from 1 to {points}; got {raw[:20]!r}."
        )
    return rating


def scale_points(points: int) -> list[int]:
    """Return the points of a 1..``points`` scale."""
    return list(range(1, points + 1))


def label_attention_check(rng: Random) -> dict[str, Any]:
    """Return an instructed-response rule: choose label 0 or 1 (every task has two labels).

    The instruction names the label, which only the trial's snapshot knows, so it is
    written by :func:`label_instruction` when the trial is drawn.
    """
    return {"instruction": None, "label": rng.randrange(2)}


def label_instruction(expected: Mapping[str, Any] | None, label_names: Sequence[str]) -> str | None:
    """Return the instruction of a label attention check (or an item's own instruction)."""
    if not expected:
        return None
    if expected.get("instruction"):
        return str(expected["instruction"])
    if "label" in expected:
        name = label_names[int(expected["label"])]
        return f"To show you are reading carefully, choose “{name}” for this item."
    return None
