"""Plausibility rating: one highlighted explanation of the model's prediction, rated.

The participant reads the text, the model's prediction and one explanation (never named)
and answers on a Likert scale (5 or 7 points) or a 0-100 slider, with an optional comment.
The answer is ``{"rating": int, "comment": str}``.
"""

from collections.abc import Hashable, Mapping
from random import Random
from typing import Any

from django.core.exceptions import ValidationError

from .base import AnswerColumn, Option, StudyType, TrialView, commented, explanation_view, register

DEFAULT_QUESTION = "How convincing is this explanation of the model's prediction?"
SLIDER_MAX = 100
MAX_COMMENT = 2000


def _int_field(data: Mapping[str, Any], name: str, what: str) -> int:
    raw = data.get(name)
    if raw is None or raw == "":
        raise ValidationError(f"Please choose {what}.")
    if isinstance(raw, bool):
        raise ValidationError(f"{what.capitalize()} must be a whole number.")
    try:
        number = int(str(raw).strip())
    except ValueError:
        raise ValidationError(f"{what.capitalize()} must be a whole number, not {raw!r}.") from None
    return number


def clean_comment(data: Mapping[str, Any], enabled: bool) -> str:
    """Return the optional comment, stripped; refuse one that is too long."""
    comment = str(data.get("comment") or "").strip()
    if comment and not enabled:
        return ""
    if len(comment) > MAX_COMMENT:
        raise ValidationError(f"Please keep the comment under {MAX_COMMENT} characters.")
    return comment


@register
class PlausibilityRating(StudyType):
    name = "plausibility_rating"
    label = "Plausibility rating"
    description = "Rate how convincing one highlighted explanation of a prediction is."
    template_name = "studies/trials/plausibility_rating.html"
    keyboard_help = "Press a number key to choose a rating, then Enter to continue."
    options = (
        Option(
            "scale",
            "scale",
            str,
            "likert",
            choices=(("likert", "Likert scale"), ("slider", "Slider (0-100)")),
        ),
        Option("points", "points", int, 5, choices=((5, "5 points"), (7, "7 points"))),
        Option("comment", "Optional comment", bool, False),
        Option("question", "question", str, DEFAULT_QUESTION, max_length=300),
        Option("low_label", "low label", str, "Not at all convincing", max_length=100),
        Option("high_label", "high label", str, "Very convincing", max_length=100),
    )
    answer_columns = (
        AnswerColumn("rating", "the rating given (an integer on the study's scale)"),
        AnswerColumn("scale_min", "lowest value of the rating scale"),
        AnswerColumn("scale_max", "highest value of the rating scale"),
    )

    def _range(self, options: Mapping[str, Any]) -> tuple[int, int]:
        if options["scale"] == "slider":
            return 0, SLIDER_MAX
        return 1, int(options["points"])

    def attention_check(self, *, options: Mapping[str, Any], rng: Random) -> dict[str, Any]:
        if options["scale"] == "slider":
            return {
                "instruction": "To show you are reading carefully, move the slider all the way to the left (0) for this item.",
                "min": 0,
                "max": 5,
            }
        value = rng.randint(1, int(options["points"]))
        return {
            "instruction": f"To show you are reading carefully, choose {value} for this item.",
            "min": value,
            "max": value,
        }

    def gold_expected(self, *, options: Mapping[str, Any]) -> dict[str, Any]:
        # A person's own rationale highlighted should be rated at least at the midpoint.
        low, high = self._range(options)
        return {"instruction": None, "min": (low + high + 1) // 2, "max": high}

    def trial_context(self, view: TrialView) -> dict[str, Any]:
        snap = view.snapshot
        low, high = self._range(view.options)
        explanation = snap["explanations"][0]
        return {
            "context_text": snap["instance"]["context"],
            "text": snap["instance"]["text"],
            "prediction": snap["prediction"]["label_name"],
            "confidence": max(snap["prediction"]["probabilities"]),
            "explanation": explanation_view(
                tokens=snap["instance"]["tokens"],
                scores=explanation["scores"],
                label="Explanation",
                uid="expl",
                display=view.display,
            ),
            "question": view.options["question"],
            "slider": view.options["scale"] == "slider",
            "points": list(range(low, high + 1)),
            "low": low,
            "high": high,
            "low_label": view.options["low_label"],
            "high_label": view.options["high_label"],
            "comment": view.options["comment"],
            "instruction": (view.expected or {}).get("instruction"),
        }

    def clean_answer(self, view: TrialView, data: Mapping[str, Any]) -> Any:
        low, high = self._range(view.options)
        rating = _int_field(data, "rating", "a rating")
        if not low <= rating <= high:
            raise ValidationError(f"The rating must be between {low} and {high}; got {rating}.")
        return {"rating": rating, "comment": clean_comment(data, view.options["comment"])}

    def passes(self, view: TrialView, value: Any) -> bool | None:
        if not view.expected:
            return None
        return bool(view.expected["min"] <= value["rating"] <= view.expected["max"])

    def record(self, view: TrialView, value: Any) -> dict[str, Any]:
        explanation = view.snapshot["explanations"][0]
        low, high = self._range(view.options)
        return {
            "rating": value["rating"],
            "scale_min": low,
            "scale_max": high,
            "method": explanation["method"],
            "explanation_id": explanation["id"],
            "comment": value.get("comment", ""),
        }

    def describe_answer(self, view: TrialView, value: Any) -> str:
        low, high = self._range(view.options)
        rating = int(value["rating"])
        # Only the ends of the scale carry a label; a point between them is read against both.
        ends = {low: view.options["low_label"], high: view.options["high_label"]}
        if ends.get(rating):
            anchor = f" (“{ends[rating]}”)"
        elif ends[low] and ends[high]:
            anchor = f" (between “{ends[low]}” and “{ends[high]}”)"
        else:
            anchor = ""
        return f"rated {rating} on the {low}–{high} scale{anchor}{commented(value)}"

    def straightline_key(self, view: TrialView, value: Any) -> Hashable:
        return int(value["rating"])
