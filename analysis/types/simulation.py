"""What the analyses of forward and counterfactual simulation share."""

from typing import Any

from analysis.types.base import AnalysisType, SimulatedPerson
from studies.types.base import TrialView


def predict_model(person: SimulatedPerson, view: TrialView) -> dict[str, Any]:
    """Return a simulated guess of the model's output (on the edit, when there is one).

    Right with probability 0.55 before explanations and 0.7 after (0.6 in the control
    condition); a careless participant guesses at random.
    """
    snap = view.snapshot
    if view.role == "learn":
        return {}
    if view.role == "rating":
        return {"rating": str(person.rng.randint(1, 7))}
    n_labels = len(snap["label_names"])
    expected = view.expected or {}
    if "label" in expected:
        wrong = [k for k in range(n_labels) if k != expected["label"]]
        label = expected["label"] if person.complies() or not wrong else person.rng.choice(wrong)
        return {"label": str(label)}
    model = int(snap.get("counterfactual", snap)["prediction"]["label"])
    right = 0.55
    if view.phase == "post":
        right = 0.7 if view.snapshot["explanations"] else 0.6
    if person.careless:
        right = 1.0 / n_labels
    guess = model if person.rng.random() < right else person.rng.randrange(n_labels)
    return {"label": str(guess)}


class SimulationAnalysis(AnalysisType):
    """What forward and counterfactual simulation share: the section and the guesser."""

    section_key = "simulation"
    section_template = None  # drawn by analysis/_results.html

    section_builder = "analysis.services.simulatability.simulation_section"

    def answer(self, person: SimulatedPerson, view: TrialView, instance_id: int) -> Any:
        return predict_model(person, view)
