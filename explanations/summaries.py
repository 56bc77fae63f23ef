"""Per-model summaries of scores: methods by metrics, and the attention agreement plot."""

import io
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, QuerySet

from explanations.compute.summary import MeanCI, mean_with_bootstrap_ci
from explanations.models import ClassifierModel, Dataset, Score

SUMMARY_METRICS: tuple[tuple[str, str, str], ...] = (
    ("comprehensiveness_aopc", "faithfulness", "Comprehensiveness (AOPC) ↑"),
    ("sufficiency_aopc", "faithfulness", "Sufficiency (AOPC) ↓"),
    ("decision_flip", "faithfulness", "Decision flip (fraction deleted) ↓"),
    ("tau_loo", "faithfulness", "τ with leave-one-out ↑"),
    ("randomization_spearman", "faithfulness", "Spearman with randomised model ↓"),
    ("rationale_f1", "plausibility", "Token F1 vs human rationales ↑"),
    ("rationale_iou", "plausibility", "IOU vs human rationales ↑"),
    ("rationale_auprc", "plausibility", "AUPRC vs human rationales ↑"),
)
FLOOR_METHOD = "random"
REFERENCE_METHOD = "attention"


@dataclass(frozen=True)
class SummaryCell:
    metric: str
    kind: str
    stat: MeanCI

    def to_dict(self) -> dict[str, Any]:
        s = self.stat
        return {
            "metric": self.metric,
            "kind": self.kind,
            "mean": s.mean,
            "ci_low": s.low,
            "ci_high": s.high,
            "n": s.n,
            "n_undefined": s.n_undefined,
        }


def score_summary(
    model: ClassifierModel, dataset: Dataset, cover: "Coverage | None" = None
) -> dict[str, Any]:
    """Return methods x metrics (mean, 95% bootstrap CI over instances) for one model.

    ``cover`` restricts it to a split or to the held-out instances.
    """
    names = [m for m, _, _ in SUMMARY_METRICS]
    values: dict[tuple[str, str], list[float | None]] = {}
    explained = model.explanations.filter(instance__dataset=dataset)
    scores = Score.objects.filter(
        explanation__model=model, explanation__instance__dataset=dataset, metric__in=names
    )
    if cover is not None and cover.split is not None:
        explained = explained.filter(instance__split=cover.split)
        scores = scores.filter(explanation__instance__split=cover.split)
    if cover is not None and cover.instance_ids is not None:
        explained = explained.filter(instance_id__in=cover.instance_ids)
        scores = scores.filter(explanation__instance_id__in=cover.instance_ids)
    methods: set[str] = set(explained.values_list("method__name", flat=True).distinct())
    for method, metric, value in scores.values_list("explanation__method__name", "metric", "value"):
        values.setdefault((method, metric), []).append(value)
    present = [
        (m, k, label) for m, k, label in SUMMARY_METRICS if any(key[1] == m for key in values)
    ]
    rows = []
    for method in sorted(methods | {FLOOR_METHOD}, key=lambda m: (m == FLOOR_METHOD, m)):
        cells = [
            SummaryCell(metric, kind, mean_with_bootstrap_ci(values.get((method, metric), [])))
            for metric, kind, _ in present
        ]
        rows.append({"method": method, "computed": method in methods, "cells": cells})
    return {
        "columns": [{"metric": m, "kind": k, "label": label} for m, k, label in present],
        "rows": rows,
        "floor_method": FLOOR_METHOD,
        "floor_missing": FLOOR_METHOD not in methods,
    }


@dataclass(frozen=True)
class Coverage:
    """Which instances a scores page covers: ``key`` as the page's ``?cover=`` names it.

    ``split`` or ``instance_ids`` restrict it (a dataset split is filtered by name, so a
    large split never becomes a list of ids); neither: every instance of the dataset.
    """

    key: str
    label: str
    split: str | None = None
    instance_ids: list[int] | None = None


def coverages(model: ClassifierModel, dataset: Dataset) -> list[Coverage]:
    """Return what a model's scores can be shown on: all, held-out, each of the dataset's splits."""
    counts = dict(dataset.instances.values_list("split").annotate(n=Count("pk")).order_by("split"))
    choices = [Coverage("all", f"all {sum(counts.values())} instances")]
    held_out = model.held_out_instance_ids
    if held_out is not None:
        choices.append(
            Coverage(
                "held_out",
                f"the {len(held_out)} instances held out from training (its validation split)",
                instance_ids=held_out,
            )
        )
    choices.extend(
        Coverage(f"split:{split}", f"the {n} instances of split {split!r}", split=split)
        for split, n in counts.items()
        if split
    )
    return choices


def truncation_summary(model: ClassifierModel, dataset: Dataset) -> dict[str, Any] | None:
    """Return how many instances the model saw only in part (words past its maximum length).

    None when its explanations do not say (models trained here see every word). Every
    method of one instance sees the same words, so one method's explanations are counted.
    """
    rows = model.explanations.filter(instance__dataset=dataset, extras__has_key="seen_words")
    method = rows.order_by("method_id").values_list("method_id", flat=True).first()
    if method is None:
        return None
    instances = truncated = 0
    for seen, words in rows.filter(method_id=method).values_list(
        "extras__seen_words", "extras__words"
    ):
        instances += 1
        if seen is not None and words is not None and seen < words:
            truncated += 1
    return {
        "instances": instances,
        "truncated": truncated,
        "max_length": (model.config or {}).get("max_length"),
    }


def _agreement_scores(
    model: ClassifierModel, dataset: Dataset, cover: Coverage | None = None
) -> QuerySet[Score]:
    """Return the model's Kendall-tau-with-attention scores on ``dataset`` (defined ones),
    on the instances ``cover`` covers (every one without)."""
    scores = Score.objects.filter(
        explanation__model=model,
        explanation__instance__dataset=dataset,
        metric=f"agreement_tau:{REFERENCE_METHOD}",
        value__isnull=False,
    )
    if cover is not None and cover.split is not None:
        scores = scores.filter(explanation__instance__split=cover.split)
    if cover is not None and cover.instance_ids is not None:
        scores = scores.filter(explanation__instance_id__in=cover.instance_ids)
    return scores


def attention_agreement_version(
    model: ClassifierModel, dataset: Dataset, cover: Coverage | None = None
) -> str | None:
    """Return a tag that changes whenever the agreement plot would, or None with no scores.

    A re-run of the scores updates rows in place (``updated_at`` moves), a new score adds
    one, a deleted one lowers the count: the three together identify what the plot shows,
    and the page's browser cache revalidates by it.
    """
    found = _agreement_scores(model, dataset, cover).aggregate(
        n=Count("pk"), last=Max("pk"), changed=Max("updated_at")
    )
    if not found["n"]:
        return None
    changed = found["changed"].timestamp()
    key = cover.key if cover is not None else "all"
    return f"{model.pk}-{dataset.pk}-{key}-{found['n']}-{found['last']}-{changed}"


def attention_agreement(
    model: ClassifierModel, dataset: Dataset, cover: Coverage | None = None
) -> dict[str, list[float]]:
    """Return, per method, the per-instance Kendall tau with the attention explanation.

    Values are in the dataset's instance order: the plot (and its ETag's promise) is the
    same on every database, whatever order rows come back in.
    """
    taus: dict[str, list[float]] = {}
    scores = _agreement_scores(model, dataset, cover).order_by(
        "explanation__instance__position", "explanation__instance_id"
    )
    for method, value in scores.values_list("explanation__method__name", "value"):
        if value is not None:
            taus.setdefault(method, []).append(value)
    return dict(sorted(taus.items()))


def agreement_plot_svg(taus: dict[str, list[float]], *, title: str) -> str:
    """Return an SVG box-and-strip plot of Kendall tau with attention, one row per method."""
    if not taus:
        return ""
    # Imported here, not at the top: matplotlib (tens of MB) is needed when a page draws
    # this plot, not by every web process that imports the views. A Figure, not pyplot:
    # no global figure state shared by a server's threads, and no backend to choose.
    from matplotlib.figure import Figure

    methods = list(taus)
    fig = Figure(figsize=(7, 0.55 * len(methods) + 1.2))
    ax = fig.subplots()
    ax.boxplot(
        [taus[m] for m in methods],
        orientation="horizontal",
        tick_labels=methods,
        widths=0.5,
        showfliers=False,
    )
    for row, method in enumerate(methods, start=1):
        ys = [row + 0.12 * ((k % 7) - 3) / 3 for k in range(len(taus[method]))]
        ax.scatter(taus[method], ys, s=6, alpha=0.4, color="#2166ac")
    ax.axvline(0, color="#777", linewidth=0.8)
    ax.set_xlim(-1, 1)
    ax.set_xlabel("Kendall τ-b with attention (per instance)")
    ax.set_title(title)
    fig.tight_layout()
    out = io.StringIO()
    fig.savefig(out, format="svg")
    svg = out.getvalue()
    return svg[svg.index("<svg") :]
