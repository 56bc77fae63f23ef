"""Compute explanations and their scores for a model and dataset, as sharded jobs.

``explanations_compute`` and ``scores_compute`` create a :class:`Job` over the instances
still missing something (re-running skips what is done, and returns an unsaved, done job
when nothing is missing; ``force`` recomputes) and run it in-process or on Celery (see
:mod:`explanations.services.jobs`). The shard bodies, which turn rows into arrays, call
the pure functions of ``explanations.compute`` and write the results back with upserts,
are :mod:`explanations.jobs.explain` and :mod:`explanations.jobs.score`.

Only the commands that compute (and the demo loader) import this module: it loads the
model (torch) to refuse a job early when the model has no weights here.
"""

from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q

from explanations.compute.faithfulness import DEFAULT_BINS, MODEL_METRICS, SCORE_METRICS
from explanations.compute.registry import methods_resolve
from explanations.compute.score_names import RANDOMIZATION_SPEARMAN
from explanations.models import ClassifierModel, Dataset, Explanation, Job, Score

from .jobs import job_create, job_run
from .progress import Progress, no_progress
from .runtime import runtime_for

DEFAULT_METRICS: tuple[str, ...] = (
    *MODEL_METRICS,
    "agreement_tau",
    "agreement_jsd",
    "plausibility",
)
ALL_METRICS: tuple[str, ...] = (*MODEL_METRICS, *SCORE_METRICS, "plausibility")


def _check_methods(methods: Sequence[str] | None, model: ClassifierModel) -> list[str]:
    """Return the methods to compute: ``methods`` if the model supports them, else all it does."""
    return methods_resolve(methods, kind=model.architecture, model_name=model.name)


def explanations_compute(
    *,
    model: ClassifierModel,
    dataset: Dataset,
    methods: Sequence[str] | None = None,
    params: dict[str, dict[str, Any]] | None = None,
    force: bool = False,
    created_by: User | None = None,
    progress: Progress = no_progress,
    wait: bool = True,
) -> Job:
    """Compute ``methods`` for every instance of ``dataset`` lacking one of them.

    ``methods=None`` means every method the model's kind supports; a method it does not
    support is refused (ValueError) before any job is created.
    """
    methods = _check_methods(methods, model)
    runtime_for(model)  # fail now, not in a worker, when the model has no weights here
    instances = dataset.instances.all()
    if not force:
        instances = instances.annotate(
            have=Count(
                "explanations",
                filter=Q(explanations__model=model, explanations__method__name__in=methods),
            )
        ).filter(have__lt=len(methods))
    # Shards of similar length pad less: sort by the explained text's length.
    field = "tokens_b" if dataset.is_pair else "tokens"
    ids = [
        pk
        for pk, tokens in sorted(
            instances.values_list("pk", field), key=lambda row: (len(row[1]), row[0])
        )
    ]
    job = job_create(
        kind=Job.Kind.EXPLAIN,
        model=model,
        dataset=dataset,
        instance_ids=ids,
        created_by=created_by,
        parameters={"methods": methods, "params": params or {}, "force": force},
    )
    return job_run(job, progress=progress, wait=wait)


def scores_compute(
    *,
    model: ClassifierModel,
    dataset: Dataset,
    methods: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    bins: Sequence[float] = DEFAULT_BINS,
    force: bool = False,
    created_by: User | None = None,
    progress: Progress = no_progress,
    wait: bool = True,
) -> Job:
    """Compute faithfulness (on the model) and plausibility (against human rationales) scores.

    ``metrics`` are families among :data:`ALL_METRICS` ("plausibility" stands for F1, IOU
    and AUPRC against every annotator's rationale). Instances whose explanations already
    have every requested family are skipped unless ``force``.
    """
    stored = sorted(
        set(
            Explanation.objects.filter(model=model, instance__dataset=dataset).values_list(
                "method__name", flat=True
            )
        )
    )
    chosen = list(methods) if methods else stored
    missing = [m for m in chosen if m not in stored]
    if missing:
        raise ValueError(
            f"no explanations of {', '.join(missing)} for model {model.name}; compute them first"
        )
    wanted = list(metrics) if metrics else list(DEFAULT_METRICS)
    unknown = [m for m in wanted if m not in ALL_METRICS]
    if unknown:
        raise ValueError(
            f"unknown metric(s) {', '.join(unknown)}; expected some of {', '.join(ALL_METRICS)}"
        )
    needs_model = bool(set(wanted) & {*MODEL_METRICS, RANDOMIZATION_SPEARMAN})
    if needs_model:
        runtime_for(model)
    instances = dataset.instances.filter(explanations__model=model).distinct()
    if not force:
        families = [m for m in wanted if m != "plausibility"]
        # Stored names start with their family ("comprehensiveness@5", "agreement_tau:lrp").
        probe = families[0] if families else "rationale_f1"
        have = Score.objects.filter(explanation__model=model, explanation__method__name__in=chosen)
        have = have.filter(metric__startswith=probe)
        done_ids = set(have.values_list("explanation__instance_id", flat=True))
        instances = instances.exclude(pk__in=done_ids)
    field = "tokens_b" if dataset.is_pair else "tokens"
    ids = [
        pk
        for pk, tokens in sorted(
            instances.values_list("pk", field), key=lambda row: (len(row[1]), row[0])
        )
    ]
    job = job_create(
        kind=Job.Kind.SCORE,
        model=model,
        dataset=dataset,
        instance_ids=ids,
        created_by=created_by,
        parameters={"methods": chosen, "metrics": wanted, "bins": list(bins)},
    )
    return job_run(job, progress=progress, wait=wait)
