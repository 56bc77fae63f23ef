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
the model is right against when it is wrong (:func:`reliance_summary`); time per trial is
the response's own server and client durations.
"""

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import replace
from random import Random
from typing import Any

from django import forms

from studies.models import Assignment, StudyList, Trial

from .answers import (
    check_bool,
    check_choice,
    check_int,
    clean_label,
    clean_scale,
    label_attention_check,
    label_choices,
    label_instruction,
    scale_points,
)
from .base import ItemRef, StudyType, TrialSpec, TrialView, explanation_view, register

DEFAULT_QUESTION = "Which label fits this text best?"
PREDICTION_MODES = ("never", "always", "crossed")


def _arm_for_next_participant(items: Sequence[ItemRef]) -> bool:
    """Return whether the next participant of these items' list sees the prediction.

    Count the list's active and completed assignments per arm (their first trial's payload)
    and choose the smaller arm; a tie, and a preview without any assignment, shows it.
    """
    test_ids = [i.id for i in items if i.role == "test"]
    study_list = StudyList.objects.filter(items__in=test_ids[:1]).first()
    if study_list is None:
        return True
    arms = [
        payload.get("show_prediction")
        for payload in Trial.objects.filter(
            assignment__study_list=study_list,
            assignment__status__in=[Assignment.Status.ACTIVE, Assignment.Status.COMPLETED],
            position=0,
        ).values_list("payload", flat=True)
    ]
    shown = sum(1 for arm in arms if arm is True)
    hidden = sum(1 for arm in arms if arm is False)
    return shown <= hidden


def reliance_summary(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Return accuracy and reliance per condition from :meth:`AidedTask.record` rows.

    Per (highlight method or None, prediction shown): ``n`` answers, ``accuracy`` (share
    correct against gold), ``agreement_model_right`` and ``agreement_model_wrong`` (share
    of answers equal to the model's prediction when it was right / wrong; None when there
    was no such item) and ``reliance_gap`` = their difference (appropriate reliance is
    high agreement when right and low when wrong). Only test trials count.
    """
    groups: dict[tuple[str | None, bool], list[Mapping[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get("role", "test") == "test":
            groups[(row["highlight_method"], bool(row["prediction_shown"]))].append(row)

    def share(values: list[bool]) -> float | None:
        return sum(values) / len(values) if values else None

    summary = []
    for (method, shown), members in sorted(groups.items(), key=lambda g: (g[0][0] or "", g[0][1])):
        right = [bool(r["agrees_with_model"]) for r in members if r["model_correct"]]
        wrong = [bool(r["agrees_with_model"]) for r in members if not r["model_correct"]]
        when_right, when_wrong = share(right), share(wrong)
        summary.append(
            {
                "highlight_method": method,
                "prediction_shown": shown,
                "n": len(members),
                "accuracy": share([bool(r["correct"]) for r in members]),
                "agreement_model_right": when_right,
                "agreement_model_wrong": when_wrong,
                "reliance_gap": None
                if when_right is None or when_wrong is None
                else when_right - when_wrong,
            }
        )
    return summary


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

    def option_fields(self) -> dict[str, forms.Field]:
        return {
            "question": forms.CharField(initial=DEFAULT_QUESTION, max_length=300),
            "show_prediction": forms.ChoiceField(
                choices=[
                    ("never", "Never show the model's prediction"),
                    ("always", "Always show it"),
                    ("crossed", "Shown to half of each list's participants"),
                ],
                initial="never",
            ),
            "ask_confidence": forms.BooleanField(
                required=False, initial=True, label="Ask how confident the participant is"
            ),
            "confidence_points": forms.TypedChoiceField(
                choices=[(5, "5 points"), (7, "7 points")], coerce=int, initial=5
            ),
        }

    def clean_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        options = super().clean_options(options)
        return {
            "question": str(options.get("question") or DEFAULT_QUESTION),
            "show_prediction": check_choice(options, "show_prediction", PREDICTION_MODES, "never"),
            "ask_confidence": check_bool(options, "ask_confidence", True),
            "confidence_points": check_int(options, "confidence_points", 5, low=2, high=11),
        }

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
    ) -> list[TrialSpec]:
        specs = super().build_trials(
            items=items,
            options=options,
            attention_positions=attention_positions,
            gold_positions=gold_positions,
            rng=rng,
        )
        mode = options["show_prediction"]
        shown = mode == "always" or (mode == "crossed" and _arm_for_next_participant(items))
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
            "highlight_method": explanations[0]["method"] if explanations else None,
            "explanation_id": explanations[0]["id"] if explanations else None,
            "prediction_shown": self._shown(view),
        }

    def straightline_key(self, view: TrialView, value: Any) -> Hashable:
        return int(value["label"])
