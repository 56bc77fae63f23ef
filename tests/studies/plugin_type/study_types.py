"""Highlight agreement: does the highlighting point at the words that decided the prediction?

A small study type written only against the study-type interface: one explanation per
trial, a yes/no answer, options declared once.
"""

from collections.abc import Hashable, Mapping
from random import Random
from typing import Any

from django.core.exceptions import ValidationError

from studies.types.base import (
    AnswerColumn,
    Option,
    StudyType,
    TrialView,
    explanation_view,
    register,
)

ANSWERS = ("yes", "no")


@register
class HighlightAgreement(StudyType):
    name = "highlight_agreement"
    label = "Highlight agreement"
    description = "Say whether the highlighted words are the ones that decided the prediction."
    template_name = "plugin_type/trial.html"
    keyboard_help = "Press Y or N, then Enter to continue."
    options = (
        Option(
            "question",
            "Question",
            str,
            "Do the highlighted words decide the prediction?",
            max_length=200,
        ),
        Option("repeat_instruction", "Repeat the instruction on every trial", bool, False),
        Option("min_words", "Fewest words to show highlighted", int, 1, low=1, high=20),
    )
    answer_columns = (AnswerColumn("agrees", "TRUE if the participant answered yes"),)

    def attention_check(self, *, options: Mapping[str, Any], rng: Random) -> dict[str, Any]:
        answer = rng.choice(ANSWERS)
        return {"instruction": f"To show you are reading, answer {answer!r}.", "answer": answer}

    def gold_expected(self, *, options: Mapping[str, Any]) -> dict[str, Any]:
        return {"instruction": None, "answer": "yes"}

    def trial_context(self, view: TrialView) -> dict[str, Any]:
        snap = view.snapshot
        return {
            "context_text": snap["instance"]["context"],
            "prediction": snap["prediction"]["label_name"],
            "confidence": max(snap["prediction"]["probabilities"]),
            "explanation": explanation_view(
                tokens=snap["instance"]["tokens"],
                scores=snap["explanations"][0]["scores"],
                label="Explanation",
                uid="expl",
                display=view.display,
            ),
            "question": view.options["question"],
            "answers": ANSWERS,
            "instruction": (view.expected or {}).get("instruction"),
        }

    def clean_answer(self, view: TrialView, data: Mapping[str, Any]) -> Any:
        answer = str(data.get("answer") or "")
        if answer not in ANSWERS:
            raise ValidationError("Please answer yes or no.")
        return {"answer": answer}

    def passes(self, view: TrialView, value: Any) -> bool | None:
        if not view.expected:
            return None
        return bool(value["answer"] == view.expected["answer"])

    def record(self, view: TrialView, value: Any) -> dict[str, Any]:
        explanation = view.snapshot["explanations"][0]
        return {
            "agrees": value["answer"] == "yes",
            "method": explanation["method"],
            "explanation_id": explanation["id"],
        }

    def straightline_key(self, view: TrialView, value: Any) -> Hashable:
        return str(value["answer"])
