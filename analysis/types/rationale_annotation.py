"""The analysis of rationale-annotation studies: agreement, and simulated highlighting.

Every simulated participant marks the same one to three words of an item (chosen per item),
sometimes adding one more; gold items are answered with the known rationale."""

from random import Random
from typing import Any

from analysis.types.base import AnalysisType, SimulatedPerson, register
from studies.types.base import TrialView


@register
class RationaleAnnotationAnalysis(AnalysisType):
    study_type = "rationale_annotation"
    section_key = "rationales"
    section_template = None  # drawn by analysis/_results.html
    section_title = "Rationale annotation: agreement"
    section_builder = "analysis.services.tasks.rationale_section"

    def answer(self, person: SimulatedPerson, view: TrialView, instance_id: int) -> Any:
        n_tokens = len(view.snapshot["instance"]["tokens"])
        low = int(view.options.get("min_tokens") or 1)
        high = int(view.options.get("max_tokens") or n_tokens)
        expected = view.expected or {}
        known = [
            i
            for e in view.snapshot.get("explanations", [])
            if e["method"] == "human_rationale"
            for i, score in enumerate(e["scores"])
            if score > 0.5
        ]
        if "indices" in expected and person.complies():
            marked = list(expected["indices"])
        elif known and person.complies():
            marked = known
        elif person.careless:
            marked = person.rng.sample(range(n_tokens), min(n_tokens, max(low, 1)))
        else:
            # Everyone sees the same "important" words of an item, and adds or drops one.
            shared = Random(f"elephant-simulation:{person.seed}:rationale:{instance_id}")
            start = shared.randrange(n_tokens)
            marked = list(range(start, min(n_tokens, start + shared.randint(1, 3))))
            if person.rng.random() < 0.4:
                marked.append(person.rng.randrange(n_tokens))
        marked = sorted(set(marked))[:high]
        while len(marked) < min(low, n_tokens):
            marked = sorted({*marked, person.rng.randrange(n_tokens)})
        return {"tokens": ",".join(str(i) for i in marked), "comment": ""}
