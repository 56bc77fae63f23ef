"""Forward simulation: learn how the model behaves, then predict its output.

Hase and Bansal (2020), "Evaluating Explainable AI: Which Algorithmic Explanations Help
Users Predict Model Behavior?", ACL. Phases, in this order:

1. ``learn``: the learning items (the design's practice items, disjoint from the test
   items), each with the model's output;
2. ``pre``: the test items without the output; "What will the model predict?";
3. ``learn_explained``: the same learning items again, now with the condition's
   explanation (the control condition sees them again without);
4. ``post``: the same test items as in ``pre``, in a new order; after each, in conditions
   with explanations, a ``rating`` trial shows that item's explanation and asks "Does this
   explanation show me why the system thought what it did?" (1-7).

A prediction is correct when it matches the model's output, not the gold label. Answers:
``{"seen": true}`` on learning trials, ``{"label": int}`` on predictions, ``{"rating":
int}`` on ratings. See :mod:`studies.types.simulation` for the shared rules (balance over
TP/FP/TN/FN per participant, between-subject conditions, the simulation effect).
"""

from typing import Any

from .base import TrialView, register
from .simulation import LEARN, RATING, SimulationType, simulation_options

PHASE_TITLES = {
    "learn": "Learning: see what the model predicts",
    "pre": "Test: predict the model",
    "learn_explained": "Learning again",
    "post": "Test again: predict the model",
    "post_rating": "Your view of the explanation",
}


@register
class ForwardSimulation(SimulationType):
    name = "forward_simulation"
    label = "Forward simulation"
    description = (
        "Learn from examples of the model's predictions (then again with explanations) and "
        "predict its output on new texts before and after; correct means matching the model."
    )
    template_name = "studies/trials/forward_simulation.html"
    learning = True
    options = simulation_options(question=SimulationType.question, rate_by_default=True)

    def trial_context(self, view: TrialView) -> dict[str, Any]:
        snap = view.snapshot
        context = self.base_context(view)
        explanation = self.explanation(view)
        show_explanation = view.role == RATING or (
            view.role == LEARN and bool(view.payload.get("explain"))
        )
        title = PHASE_TITLES.get(view.phase, "")
        if view.phase == "learn_explained" and explanation is not None:
            title = "Learning again, with explanations"
        return context | {
            "title": title,
            "prediction": snap["prediction"]["label_name"]
            if view.role in (LEARN, RATING)
            else None,
            "explanation": explanation if show_explanation else None,
        }
