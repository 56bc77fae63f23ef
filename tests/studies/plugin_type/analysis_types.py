"""The analysis of highlight-agreement studies: the share of yes per method, and an answerer."""

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from analysis.services.inputs import included_rows
from analysis.services.options import AnalysisOptions
from analysis.services.tables import Table
from analysis.types.base import AnalysisType, SectionResult, SimulatedPerson, register
from studies.models import Study
from studies.types.base import TrialView


@register
class HighlightAgreementAnalysis(AnalysisType):
    study_type = "highlight_agreement"
    section_key = "agreement"
    section_title = "Highlight agreement"

    def section(
        self,
        *,
        study: Study,
        responses: Table,
        study_methods: Sequence[str],
        options: AnalysisOptions,
    ) -> SectionResult:
        answers: dict[str, list[bool]] = defaultdict(list)
        for row in included_rows(responses):
            answers[row["method"]].append(bool(row["agrees"]))
        return {
            "methods": [
                {"method": m, "n": len(answers[m]), "share_yes": sum(answers[m]) / len(answers[m])}
                for m in study_methods
                if answers[m]
            ]
        }, {}

    def answer(self, person: SimulatedPerson, view: TrialView, instance_id: int) -> Any:
        expected = view.expected or {}
        if "answer" in expected:
            other = "no" if expected["answer"] == "yes" else "yes"
            return {"answer": expected["answer"] if person.complies() else other}
        latent = person.judgement(view.snapshot["explanations"][0], instance_id)
        return {"answer": "yes" if latent > 0 else "no"}
