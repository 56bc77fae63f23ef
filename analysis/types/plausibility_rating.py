"""The analysis of plausibility-rating studies: ratings per method, and how a simulated participant rates.

A simulated participant rates from their latent judgement of the explanation, mapped onto the
scale; a careless one answers at random. Attention checks and gold items are passed with the
person's compliance."""

from typing import Any

from analysis.types.base import AnalysisType, SimulatedPerson, register
from studies.types.base import TrialView


@register
class PlausibilityRatingAnalysis(AnalysisType):
    study_type = "plausibility_rating"
    section_key = "rating"
    section_template = None  # drawn by analysis/_results.html
    section_title = "Plausibility ratings"
    section_builder = "analysis.services.ratings.rating_section"

    def answer(self, person: SimulatedPerson, view: TrialView, instance_id: int) -> Any:
        slider = view.options["scale"] == "slider"
        low, high = (0, 100) if slider else (1, int(view.options["points"]))
        expected = view.expected or {}
        if expected:
            if person.complies():
                value = person.rng.randint(int(expected["min"]), int(expected["max"]))
            else:
                outside = [
                    v for v in range(low, high + 1) if not expected["min"] <= v <= expected["max"]
                ]
                value = person.rng.choice(outside or [low])
        elif person.careless:
            value = person.rng.randint(low, high)
        else:
            latent = person.judgement(view.snapshot["explanations"][0], instance_id)
            middle = (low + high) / 2
            value = round(middle + latent * (high - low) / 4)
        value = min(max(value, low), high)
        comment = (
            "simulated comment" if view.options.get("comment") and person.rng.random() < 0.1 else ""
        )
        return {"rating": value, "comment": comment}
