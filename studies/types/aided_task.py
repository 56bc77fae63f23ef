"""Aided task: the participant labels the text themselves, helped (or not) by the model.

After Strout, Zhang and Mooney (2019), "Do human rationales improve machine explanations?"
and Lertvittayakumjorn and Toni (2019), "Human-grounded evaluations of explanation methods
for text classification": people do the model's task, and the conditions differ in what
they see besides the text.

Conditions (use a between-subject design so each participant stays in one):

- highlights: one condition per chosen method (its explanation drawn over the text) and
  a control condition showing the plain text (always: it is what the highlights are
  compared with);
- the model's prediction (``show_prediction``): ``never``, ``always``, or ``crossed`` with
  the highlights: within each list, each new participant joins the arm (shown / hidden)
  that has fewer active or completed participants so far, so the k participants of a list
  split evenly. The arm is recorded in every trial's payload (``show_prediction``).

The answer is ``{"label": int, "confidence": int | None}``. :meth:`AidedTask.record` adds
accuracy against gold (``correct``), agreement with the model (``agrees_with_model``) and
whether the model was right (``model_correct``), so reliance is the agreement rate when
the model is right against when it is wrong
(:func:`analysis.compute.aided.aided_task_summary`); time per trial is
the response's own server and client durations.
"""

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import replace
from random import Random
from typing import Any

from .answers import (
    clean_label,
    clean_scale,
    label_attention_check,
    label_choices,
    label_instruction,
    scale_points,
)
from .base import ItemRef, Option, StudyType, TrialSpec, TrialView, explanation_view, register

DEFAULT_QUESTION = "Which label fits this text best?"


def _arm_for_next_participant(list_payloads: Sequence[Mapping[str, Any]]) -> bool:
    """Return whether the next participant of a list sees the prediction.

    ``list_payloads`` are the first-trial payloads of the list's active and completed
    assignments: choose the smaller arm; a tie, and a preview without any assignment,
    shows it.
    """
    arms = [payload.get("show_prediction") for payload in list_payloads]
    shown = sum(1 for arm in arms if arm is True)
    hidden = sum(1 for arm in arms if arm is False)
    return shown <= hidden


@register
class AidedTask(StudyType):
    name = "aided_task"
    label = "Aided task"
    description = (
        "Participants label each text themselves, with or without highlights and the "
        "model's prediction; accuracy, time, confidence and reliance on the model."
    )
    template_name = "studies/trials/aided_task.html"
    keyboard_help = "Press a number key to choose a label, then Enter to continue."

    options = (
        Option("question", "question", str, DEFAULT_QUESTION, max_length=300),
        Option(
            "show_prediction",
            "show prediction",
            str,
            "never",
            choices=(
                ("never", "Never show the model's prediction"),
                ("always", "Always show it"),
                ("crossed", "Shown to half of each list's participants"),
            ),
        ),
        Option("ask_confidence", "Ask how confident the participant is", bool, True),
        Option(
            "confidence_points",
            "confidence points",
            int,
            5,
            choices=((5, "5 points"), (7, "7 points")),
        ),
    )

    def variants(self, methods: Sequence[str]) -> list[tuple[str, ...]]:
        return [(m,) for m in methods] + [()]

    def attention_check(self, *, options: Mapping[str, Any], rng: Random) -> dict[str, Any]:
        return label_attention_check(rng)

    def gold_variant(self) -> tuple[str, ...]:
        return ()

    def gold_expected(self, *, options: Mapping[str, Any]) -> dict[str, Any]:
        # The known answer is the instance's gold label (in the snapshot).
        return {"instruction": None, "gold_label": True}

    def build_trials(
        self,
        *,
        items: Sequence[ItemRef],
        options: Mapping[str, Any],
        attention_positions: Sequence[int],
        gold_positions: Sequence[int],
        rng: Random,
        list_payloads: Sequence[Mapping[str, Any]] = (),
    ) -> list[TrialSpec]:
        specs = super().build_trials(
            items=items,
            options=options,
            attention_positions=attention_positions,
            gold_positions=gold_positions,
            rng=rng,
            list_payloads=list_payloads,
        )
        mode = options["show_prediction"]
        shown = mode == "always" or (mode == "crossed" and _arm_for_next_participant(list_payloads))
        return [replace(s, payload={**s.payload, "show_prediction": shown}) for s in specs]

    # Trial ------------------------------------------------------------------------------
    def _shown(self, view: TrialView) -> bool:
        return bool(
            view.payload.get("show_prediction", view.options["show_prediction"] == "always")
        )

    def trial_context(self, view: TrialView) -> dict[str, Any]:
        snap = view.snapshot
        explanations = snap["explanations"]
        shown = self._shown(view)
        points = int(view.options["confidence_points"])
        return {
            "context_text": snap["instance"]["context"],
            "text": snap["instance"]["text"],
            "explanation": explanation_view(
                tokens=snap["instance"]["tokens"],
                scores=explanations[0]["scores"],
                label="Highlighted words",
                uid="expl",
                display=view.display,
            )
            if explanations
            else None,
            "prediction": snap["prediction"]["label_name"] if shown else None,
            "confidence": max(snap["prediction"]["probabilities"]) if shown else None,
            "question": view.options["question"],
            "labels": label_choices(snap["label_names"]),
            "ask_confidence": view.options["ask_confidence"],
            "confidence_points": scale_points(points),
            "instruction": label_instruction(view.expected, snap["label_names"]),
        }

    def clean_answer(self, view: TrialView, data: Mapping[str, Any]) -> Any:
        label = clean_label(data, view.snapshot["label_names"])
        confidence = None
        if view.options["ask_confidence"]:
            confidence = clean_scale(
                data, "confidence", int(view.options["confidence_points"]), "how confident you are"
            )
        return {"label": label, "confidence": confidence}

    def passes(self, view: TrialView, value: Any) -> bool | None:
        if not view.expected:
            return None
        if "label" in view.expected:
            return bool(value["label"] == view.expected["label"])
        gold = view.snapshot.get("gold_label")
        return None if gold is None else bool(value["label"] == gold)

    def record(self, view: TrialView, value: Any) -> dict[str, Any]:
        snap = view.snapshot
        gold = snap.get("gold_label")
        model = snap["prediction"]["label"]
        explanations = snap["explanations"]
        return {
            "label": value["label"],
            "label_name": snap["label_names"][value["label"]],
            "gold_label": gold,
            "correct": None if gold is None else value["label"] == gold,
            "model_label": model,
            "model_correct": None if gold is None else model == gold,
            "agrees_with_model": value["label"] == model,
            "confidence": value.get("confidence"),
            "confidence_max": view.options["confidence_points"]
            if view.options["ask_confidence"]
            else None,
            "method": explanations[0]["method"] if explanations else None,
            "explanation_id": explanations[0]["id"] if explanations else None,
            "prediction_shown": self._shown(view),
        }

    def describe_answer(self, view: TrialView, value: Any) -> str:
        said = f"chose “{view.snapshot['label_names'][int(value['label'])]}”"
        if value.get("confidence") is not None:
            said += f", confidence {value['confidence']} of {view.options['confidence_points']}"
        return said

    def straightline_key(self, view: TrialView, value: Any) -> Hashable:
        return int(value["label"])
