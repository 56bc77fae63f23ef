"""The analysis of expert-review studies, and a simulated reviewer.

A simulated expert rates each criterion from their judgement of the explanation and flags it
with the study's first flag (e.g. correct) when it is positive, else the second."""

from string import ascii_uppercase
from typing import Any

from analysis.types.base import AnalysisType, SimulatedPerson, register
from studies.types.base import TrialView


@register
class ExpertReviewAnalysis(AnalysisType):
    study_type = "expert_review"
    section_key = "review"
    section_template = None  # drawn by analysis/_results.html
    section_title = "Expert review"
    section_builder = "analysis.services.reviews.review_section"

    def answer(self, person: SimulatedPerson, view: TrialView, instance_id: int) -> Any:
        explanations = view.snapshot["explanations"]
        order = view.payload.get("order") or list(range(len(explanations)))
        points = int(view.options["points"])
        flags = list(view.options["flags"])
        wanted = (view.expected or {}).get("flag")
        answer: dict[str, Any] = {"comment": ""}
        for position, index in enumerate(order):
            letter = (
                ascii_uppercase[position] if position < len(ascii_uppercase) else f"E{position + 1}"
            )
            latent = person.judgement(explanations[index], instance_id)
            for criterion in view.options["criteria"]:
                value = round(
                    (points + 1) / 2 + latent * (points - 1) / 4 + person.rng.gauss(0, 0.5)
                )
                answer[f"{letter}_{criterion['key']}"] = str(min(max(value, 1), points))
            if wanted is not None:
                flag = wanted if person.complies() else flags[0]
            else:
                flag = flags[0] if latent > 0 else flags[min(1, len(flags) - 1)]
                if person.rng.random() < 0.1:
                    flag = flags[-1]
            answer[f"{letter}_flag"] = flag
        return answer
