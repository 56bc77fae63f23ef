"""What a study item shows, as one JSON snapshot; frozen on the item when the study goes live.

A snapshot holds the instance's text and explained tokens, the label names, the model's
prediction and probabilities, the gold label and outcome, and each shown explanation with
its token scores, its own parameters and every faithfulness/plausibility ``Score`` it had
at that moment (``metric``, ``kind``, ``value``, ``parameters``); the shapes are declared in
:mod:`studies.contracts`. Gold items show synthetic explanations
built from a human rationale (:data:`SYNTHETIC`): ``human_rationale`` scores 1 on the
rationale's tokens and 0 elsewhere; ``anti_rationale`` is its complement.
"""

from collections.abc import Mapping, Sequence
from random import Random
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from explanations.diagnostic_report import diagnostic_scores_of
from explanations.models import Explanation, HumanRationale, Instance, Prediction
from studies.contracts import MetricScore, ShownExplanation, Snapshot
from studies.models import Study, StudyItem, Trial
from studies.types.base import Display, TrialView, get_type

SYNTHETIC = ("human_rationale", "anti_rationale")
DIAGNOSED_METHOD = "attention"


def outcome_of(label: int, gold: int | None, n_labels: int) -> str:
    """Return TP/FP/TN/FN for binary tasks (label 1 positive), correct/wrong else, '' without gold."""
    if gold is None:
        return ""
    if n_labels == 2:
        return {(1, 1): "TP", (1, 0): "FP", (0, 0): "TN", (0, 1): "FN"}[(label, gold)]
    return "correct" if label == gold else "wrong"


def _rationales(instance_ids: set[int]) -> dict[int, tuple[str, list[int]]]:
    found: dict[int, tuple[str, list[int]]] = {}
    for instance_id, annotator, indices in (
        HumanRationale.objects.filter(instance_id__in=instance_ids)
        .exclude(token_indices=[])
        .order_by("instance_id", "annotator")
        .values_list("instance_id", "annotator", "token_indices")
    ):
        found.setdefault(instance_id, (annotator, list(indices)))
    return found


def snapshots_build(
    *, study: Study, items: Sequence[StudyItem], preview: bool = False
) -> dict[int, Snapshot]:
    """Return the current snapshot of each item (by item id), read in a few queries.

    ``preview`` builds a draft's preview: the type adds only what it can without loading
    a model (see ``StudyType.extend_snapshots``); launch builds the full snapshot.

    Raise ValidationError naming the item when its prediction, explanation or rationale
    has disappeared since the study was designed.
    """
    instance_ids = {item.instance_id for item in items}
    instances = {i.pk: i for i in Instance.objects.filter(pk__in=instance_ids)}
    predictions = {
        p.instance_id: p
        for p in Prediction.objects.filter(model=study.model, instance_id__in=instance_ids)
    }
    wanted = {m for item in items for m in item.methods if m not in SYNTHETIC}
    explanations: dict[tuple[int, str], Explanation] = {
        (e.instance_id, e.method.name): e
        for e in Explanation.objects.filter(
            model=study.model, instance_id__in=instance_ids, method__name__in=wanted
        )
        .select_related("method")
        .prefetch_related("metric_scores")
    }
    # The attention diagnostics (issue #13) are the attention's faithfulness per instance:
    # frozen with it, so the analysis relates people's ratings of attention to them.
    diagnostics = (
        diagnostic_scores_of(study.model, instance_ids) if DIAGNOSED_METHOD in wanted else {}
    )
    needs_rationale = {item.instance_id for item in items if set(item.methods) & set(SYNTHETIC)}
    rationales = _rationales(needs_rationale) if needs_rationale else {}
    label_names = list(study.model.label_names or study.dataset.label_names)
    frozen_at = timezone.now().isoformat()
    snapshots: dict[int, Snapshot] = {}
    for item in items:
        instance = instances[item.instance_id]
        prediction = predictions.get(item.instance_id)
        if prediction is None:
            raise ValidationError(
                f"item {item.pk} ({instance}): model {study.model} has no prediction for it any more"
            )
        tokens = instance.explained_tokens
        shown: list[ShownExplanation] = []
        for method in item.methods:
            if method in SYNTHETIC:
                if item.instance_id not in rationales:
                    raise ValidationError(f"item {item.pk} ({instance}): no human rationale")
                annotator, indices = rationales[item.instance_id]
                marked = set(indices)
                inside = 1.0 if method == "human_rationale" else 0.0
                shown.append(
                    {
                        "id": None,
                        "method": method,
                        "annotator": annotator,
                        "scores": [
                            inside if i in marked else 1.0 - inside for i in range(len(tokens))
                        ],
                        "parameters": {},
                        "metric_scores": [],
                    }
                )
                continue
            explanation = explanations.get((item.instance_id, method))
            if explanation is None:
                raise ValidationError(
                    f"item {item.pk} ({instance}): the {method} explanation of {study.model} is missing"
                )
            metric_scores: list[MetricScore] = [
                {"metric": s.metric, "kind": s.kind, "value": s.value, "parameters": s.parameters}
                for s in sorted(explanation.metric_scores.all(), key=lambda s: s.metric)
            ]
            if method == DIAGNOSED_METHOD:
                metric_scores += [
                    MetricScore(
                        metric=d["metric"],
                        kind=d["kind"],
                        value=d["value"],
                        parameters=d["parameters"],
                    )
                    for d in diagnostics.get(item.instance_id, [])
                ]
            shown.append(
                {
                    "id": explanation.pk,
                    "method": method,
                    "scores": list(explanation.scores),
                    "parameters": dict(explanation.parameters or {}),
                    "metric_scores": metric_scores,
                }
            )
        gold = instance.gold_label
        snapshots[item.pk] = {
            "instance": {
                "id": instance.pk,
                "external_id": instance.external_id,
                "text": instance.explained_text,
                "context": instance.text if instance.text_b else "",
                "tokens": list(tokens),
            },
            "label_names": label_names,
            "prediction": {
                "label": prediction.label,
                "label_name": label_names[prediction.label],
                "probabilities": list(prediction.probabilities),
            },
            "gold_label": gold,
            "gold_label_name": label_names[gold] if gold is not None else None,
            "outcome": outcome_of(prediction.label, gold, len(label_names)),
            "explanations": shown,
            "frozen_at": frozen_at,
        }
    get_type(study.study_type).extend_snapshots(study=study, snapshots=snapshots, preview=preview)
    return snapshots


def study_display(study: Study) -> Display:
    """Return how the study draws explanations."""
    return Display(mode=study.display_mode, top_k=study.top_k)


def trial_view(
    *,
    study: Study,
    snapshot: Snapshot,
    role: str,
    phase: str,
    payload: Mapping[str, Any],
    expected: Mapping[str, Any] | None,
) -> TrialView:
    """Return what the study type needs to draw or read one trial."""
    return TrialView(
        snapshot=snapshot,
        role=role,
        phase=phase,
        payload=payload,
        expected=expected,
        options=study.type_options,
        display=study_display(study),
    )


def trial_view_of(*, study: Study, trial: Trial) -> TrialView:
    """Return the view of a participant's trial (its item read with it: ``select_related``)."""
    return trial_view(
        study=study,
        snapshot=trial.item.frozen,
        role=trial.role,
        phase=trial.phase,
        payload=trial.payload,
        expected=trial.item.expected,
    )


def preview_rng(study: Study) -> Random:
    """Return the generator a researcher's preview uses (the same order every time)."""
    return Random(f"{study.seed}:preview")
