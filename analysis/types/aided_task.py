"""The analysis of aided-task studies: accuracy, reliance and time, and a simulated labeller.

A simulated participant labels the text correctly with probability 0.75 (0.85 with
highlights) and, when the model's prediction is shown, follows it 60% of the time."""

from typing import Any

from analysis.types.base import AnalysisType, SimulatedPerson, register
from studies.types.base import TrialView


@register
class AidedTaskAnalysis(AnalysisType):
    study_type = "aided_task"
    section_key = "aided"
    section_template = None  # drawn by analysis/_results.html
    section_title = "Aided task: accuracy, reliance and time"
    section_builder = "analysis.services.tasks.aided_section"

    def answer(self, person: SimulatedPerson, view: TrialView, instance_id: int) -> Any:
        snap = view.snapshot
        n_labels = len(snap["label_names"])
        expected = view.expected or {}
        gold = snap.get("gold_label")
        model = snap["prediction"]["label"]
        if "label" in expected or expected.get("gold_label"):
            wanted = expected.get("label", gold)
            wrong = [k for k in range(n_labels) if k != wanted]
            label = wanted if person.complies() or not wrong else person.rng.choice(wrong)
        elif person.careless or gold is None:
            label = person.rng.randrange(n_labels)
        elif view.payload.get("show_prediction") and person.rng.random() < 0.6:
            label = model  # relies on the model, right or wrong
        else:
            right = 0.85 if snap["explanations"] else 0.75
            label = gold if person.rng.random() < right else person.rng.randrange(n_labels)
        # Posted as strings, like the participant's form.
        answer: dict[str, Any] = {"label": str(label)}
        if view.options.get("ask_confidence"):
            answer["confidence"] = str(
                person.rng.randint(1, int(view.options["confidence_points"]))
            )
        return answer
