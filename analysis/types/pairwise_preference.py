"""The analysis of pairwise-preference studies: Bradley-Terry strengths, and a simulated chooser.

An attentive simulated participant picks the side with the larger latent judgement (judged in
the frozen order, so the sides drawn do not matter); a careless one always picks the left."""

from typing import Any

from analysis.types.base import AnalysisType, SimulatedPerson, register
from studies.types.base import TrialView


@register
class PairwisePreferenceAnalysis(AnalysisType):
    study_type = "pairwise_preference"
    section_key = "preference"
    section_template = None  # drawn by analysis/_results.html
    section_title = "Pairwise preferences"
    section_builder = "analysis.services.preferences.preference_section"

    def answer(self, person: SimulatedPerson, view: TrialView, instance_id: int) -> Any:
        explanations = view.snapshot["explanations"]
        left, right = view.payload["sides"]
        expected = view.expected or {}
        if "side" in expected:
            other = "right" if expected["side"] == "left" else "left"
            choice = expected["side"] if person.complies() else other
        elif "method" in expected:
            good = "left" if explanations[left]["method"] == expected["method"] else "right"
            choice = good if person.complies() else ("right" if good == "left" else "left")
        elif person.careless:
            choice = "left"
        else:
            # Judge in the frozen order, so the sides drawn for this participant do not matter.
            judged = [person.judgement(e, instance_id) for e in explanations]
            choice = "left" if judged[left] > judged[right] else "right"
        return {"choice": choice, "comment": ""}
