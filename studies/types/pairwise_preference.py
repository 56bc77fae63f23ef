"""Pairwise preference: two explanations of one prediction; which one explains it better?

Which explanation appears on the left is randomised per trial and recorded in the trial's
payload (``{"sides": [i, j]}``: the left shows explanation ``i`` of the snapshot). The
answer is ``{"choice": "left" | "right" | "tie", "comment": str}``; :meth:`record` turns the
side back into the chosen method.
"""

from collections.abc import Hashable, Mapping, Sequence
from itertools import combinations
from random import Random
from typing import Any

from django.core.exceptions import ValidationError

from .base import (
    AnswerColumn,
    ItemRef,
    Option,
    StudyType,
    TrialView,
    commented,
    explanation_view,
    register,
)
from .plausibility_rating import clean_comment

DEFAULT_QUESTION = "Which explanation better justifies the model's prediction?"
SIDES = ("left", "right")


@register
class PairwisePreference(StudyType):
    name = "pairwise_preference"
    label = "Pairwise preference"
    description = "Choose the more convincing of two explanations of the same prediction."
    template_name = "studies/trials/pairwise_preference.html"
    keyboard_help = "Press the left or right arrow key to choose, then Enter to continue."
    options = (
        Option("question", "question", str, DEFAULT_QUESTION, max_length=300),
        Option("allow_tie", "Allow 'no preference'", bool, False),
        Option("comment", "Optional comment", bool, False),
    )
    answer_columns = (
        AnswerColumn("choice_side", "side chosen: left, right or tie"),
        AnswerColumn("left_method", "explanation method shown on the left"),
        AnswerColumn("right_method", "explanation method shown on the right"),
        AnswerColumn("left_explanation_id", "id of the explanation shown on the left"),
        AnswerColumn("right_explanation_id", "id of the explanation shown on the right"),
        AnswerColumn("chosen_method", "method of the explanation preferred (NA for a tie)"),
        AnswerColumn("rejected_method", "method of the explanation not preferred (NA for a tie)"),
    )

    def variants(self, methods: Sequence[str]) -> list[tuple[str, ...]]:
        return list(combinations(methods, 2))

    def min_methods(self) -> int:
        return 2

    def attention_check(self, *, options: Mapping[str, Any], rng: Random) -> dict[str, Any]:
        side = rng.choice(SIDES)
        name = "Explanation A (left)" if side == "left" else "Explanation B (right)"
        return {
            "instruction": f"To show you are reading carefully, choose {name} for this item.",
            "side": side,
        }

    def gold_variant(self) -> tuple[str, ...]:
        return ("human_rationale", "anti_rationale")

    def gold_expected(self, *, options: Mapping[str, Any]) -> dict[str, Any]:
        # A person's rationale against its complement: the rationale is the known answer.
        return {"instruction": None, "method": "human_rationale"}

    def trial_payload(
        self, *, item: ItemRef, options: Mapping[str, Any], rng: Random
    ) -> dict[str, Any]:
        sides = [0, 1]
        rng.shuffle(sides)
        return {"sides": sides}

    def _side_methods(self, view: TrialView) -> dict[str, str]:
        explanations = view.snapshot["explanations"]
        left, right = view.payload["sides"]
        return {"left": explanations[left]["method"], "right": explanations[right]["method"]}

    def trial_context(self, view: TrialView) -> dict[str, Any]:
        snap = view.snapshot
        explanations = snap["explanations"]
        shown = [
            explanation_view(
                tokens=snap["instance"]["tokens"],
                scores=explanations[index]["scores"],
                label=f"Explanation {letter}",
                uid=f"expl-{letter.lower()}",
                display=view.display,
            )
            | {"side": side, "key": key, "letter": letter}
            for index, side, letter, key in zip(
                view.payload["sides"], SIDES, "AB", ("ArrowLeft", "ArrowRight"), strict=True
            )
        ]
        return {
            "context_text": snap["instance"]["context"],
            "text": snap["instance"]["text"],
            "prediction": snap["prediction"]["label_name"],
            "confidence": max(snap["prediction"]["probabilities"]),
            "pair": shown,
            "question": view.options["question"],
            "allow_tie": view.options["allow_tie"],
            "comment": view.options["comment"],
            "instruction": (view.expected or {}).get("instruction"),
        }

    def clean_answer(self, view: TrialView, data: Mapping[str, Any]) -> Any:
        choice = str(data.get("choice") or "").strip()
        allowed = [*SIDES, "tie"] if view.options["allow_tie"] else list(SIDES)
        if not choice:
            raise ValidationError("Please choose Explanation A or Explanation B.")
        if choice not in allowed:
            raise ValidationError(
                f"The choice must be one of {', '.join(allowed)}; got {choice[:20]!r}."
            )
        return {"choice": choice, "comment": clean_comment(data, view.options["comment"])}

    def passes(self, view: TrialView, value: Any) -> bool | None:
        if not view.expected:
            return None
        if "side" in view.expected:
            return bool(value["choice"] == view.expected["side"])
        chosen = self._side_methods(view).get(value["choice"])
        return chosen == view.expected["method"]

    def record(self, view: TrialView, value: Any) -> dict[str, Any]:
        sides = self._side_methods(view)
        explanations = view.snapshot["explanations"]
        left, right = view.payload["sides"]
        choice = value["choice"]
        return {
            "choice_side": choice,
            "left_method": sides["left"],
            "right_method": sides["right"],
            "left_explanation_id": explanations[left]["id"],
            "right_explanation_id": explanations[right]["id"],
            "chosen_method": sides.get(choice),
            "rejected_method": sides.get({"left": "right", "right": "left"}.get(choice, "")),
            "comment": value.get("comment", ""),
        }

    def describe_answer(self, view: TrialView, value: Any) -> str:
        choice = value["choice"]
        if choice == "tie":
            sides = self._side_methods(view)
            said = f"found the two explanations equally good ({sides['left']}, {sides['right']})"
        else:
            said = f"preferred the {choice} explanation ({self._side_methods(view)[choice]})"
        return said + commented(value)

    def straightline_key(self, view: TrialView, value: Any) -> Hashable:
        return str(value["choice"])
