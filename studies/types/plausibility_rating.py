"""Plausibility rating: one highlighted explanation of the model's prediction, rated.

The participant reads the text, the model's prediction and one explanation (never named)
and answers on a Likert scale (5 or 7 points) or a 0-100 slider, with an optional comment.
The answer is ``{"rating": int, "comment": str}``.
"""

from collections.abc import Hashable, Mapping
from random import Random
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .base import StudyType, TrialView, explanation_view, register

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

    def option_fields(self) -> dict[str, forms.Field]:
        return {
            "scale": forms.ChoiceField(
                choices=[("likert", "Likert scale"), ("slider", "Slider (0-100)")],
                initial="likert",
            ),
            "points": forms.TypedChoiceField(
                choices=[(5, "5 points"), (7, "7 points")], coerce=int, initial=5
            ),
            "comment": forms.BooleanField(required=False, initial=False, label="Optional comment"),
            "question": forms.CharField(initial=DEFAULT_QUESTION, max_length=300),
            "low_label": forms.CharField(initial="Not at all convincing", max_length=100),
            "high_label": forms.CharField(initial="Very convincing", max_length=100),
        }

    def clean_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        options = super().clean_options(options)
        scale = options.get("scale", "likert")
        if scale not in {"likert", "slider"}:
            raise ValidationError(f"option scale={scale!r}: expected 'likert' or 'slider'")
        points = options.get("points", 5)
        if isinstance(points, bool) or points not in (5, 7, "5", "7"):
            raise ValidationError(f"option points={points!r}: expected 5 or 7")
        comment = options.get("comment", False)
        if not isinstance(comment, bool):
            raise ValidationError(f"option comment={comment!r}: expected true or false")
        cleaned = {
            "scale": scale,
            "points": int(points),
            "comment": comment,
            "question": str(options.get("question") or DEFAULT_QUESTION),
            "low_label": str(options.get("low_label") or "Not at all convincing"),
            "high_label": str(options.get("high_label") or "Very convincing"),
        }
        return cleaned

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

    def straightline_key(self, view: TrialView, value: Any) -> Hashable:
        return int(value["rating"])
