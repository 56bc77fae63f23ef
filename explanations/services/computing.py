"""Compute explanations and their scores for a model and dataset, as sharded jobs.

``explanations_compute`` and ``scores_compute`` create a :class:`Job` over the instances
still missing something (re-running skips what is done, and returns an unsaved, done job
when nothing is missing; ``force`` recomputes) and run it in-process or on Celery (see
:mod:`explanations.services.jobs`). The shard handlers below turn rows into arrays, call
the pure functions of ``explanations.compute``, and write the results back with upserts.
"""

import time
from collections.abc import Sequence
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Q

from explanations.compute.faithfulness import (
    DEFAULT_BINS,
    MODEL_METRICS,
    SCORE_METRICS,
    faithfulness_scores,
)
from explanations.compute.plausibility import Rationale, plausibility_scores
from explanations.compute.registry import method_parameters, methods_resolve
from explanations.compute.score_names import (
    RANDOMIZATION_SPEARMAN,
    TAU_LOO,
    metric_kind,
    paired_metric,
)
from explanations.models import (
    ClassifierModel,
    Dataset,
    Explanation,
    HumanRationale,
    Instance,
    Job,
    Score,
)

from .bulk import explanation_rows_upsert
from .jobs import job_create, job_run, shard_handler
from .methods import known_methods_ensure
from .progress import Progress, no_progress
from .runtime import runtime_for

EXPLAIN_BATCH = 32
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


@shard_handler(Job.Kind.EXPLAIN)
def _explain_shard(job: Job, instance_ids: list[int]) -> None:
    assert job.model is not None
    runtime = runtime_for(job.model)
    kind = job.model.architecture
    methods: list[str] = job.parameters["methods"]
    params: dict[str, dict[str, Any]] = job.parameters.get("params", {})
    force: bool = job.parameters.get("force", False)
    method_ids = known_methods_ensure()
    instances = {i.pk: i for i in Instance.objects.filter(pk__in=instance_ids)}
    done = set(
        Explanation.objects.filter(
            model=job.model,
            instance_id__in=instance_ids,
            method_id__in=[method_ids[m] for m in methods],
        ).values_list("instance_id", "method__name")
    )
    for method in methods:
        resolved = method_parameters(method, kind, **params.get(method, {}))
        todo = [pk for pk in instance_ids if force or (pk, method) not in done]
        for start in range(0, len(todo), EXPLAIN_BATCH):
            chunk = todo[start : start + EXPLAIN_BATCH]
            began = time.perf_counter()
            attributions = runtime.explain([instances[pk] for pk in chunk], method, resolved)
            seconds = (time.perf_counter() - began) / len(chunk)
            explanation_rows_upsert(
                model_id=job.model.pk,
                rows=[
                    (pk, method_ids[method], [float(x) for x in a.scores], resolved)
                    for pk, a in zip(chunk, attributions, strict=True)
                ],
                extras=[{k: float(v) for k, v in a.extras.items()} for a in attributions],
                target_labels=[int(a.target) for a in attributions],
                compute_seconds=[seconds] * len(chunk),
            )


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


@shard_handler(Job.Kind.SCORE)
def _score_shard(job: Job, instance_ids: list[int]) -> None:
    assert job.model is not None
    methods: list[str] = job.parameters["methods"]
    wanted: list[str] = job.parameters["metrics"]
    bins: list[float] = job.parameters["bins"]
    rows = list(
        Explanation.objects.filter(
            model=job.model, instance_id__in=instance_ids, method__name__in=methods
        )
        .select_related("method", "instance")
        .order_by("instance_id")
    )
    by_instance: dict[int, dict[str, Explanation]] = {}
    for explanation in rows:
        by_instance.setdefault(explanation.instance_id, {})[explanation.method.name] = explanation
    # Only instances explained by every chosen method enter the shared batch.
    ids = [pk for pk in instance_ids if len(by_instance.get(pk, {})) == len(methods)]
    if not ids:
        return
    instances = [by_instance[pk][methods[0]].instance for pk in ids]
    results: dict[tuple[int, str], dict[str, tuple[float | None, str]]] = {}
    families = [m for m in wanted if m != "plausibility"]
    if families:
        runtime = runtime_for(job.model)
        erasure = runtime.erasure_inputs(instances)
        explanations = {
            m: erasure.restrict([by_instance[pk][m].scores for pk in ids]) for m in methods
        }
        randomized = None
        if RANDOMIZATION_SPEARMAN in families:
            # The re-initialised model is explained with each method's default parameters.
            random_runtime = runtime.randomized(int(job.parameters.get("seed", 0)))
            kind = job.model.architecture
            randomized = {
                m: erasure.restrict(
                    [
                        a.scores
                        for a in random_runtime.explain(instances, m, method_parameters(m, kind))
                    ]
                )
                for m in methods
            }
        # Omission is leave-one-out by definition (p_c(x) - p_c(x without token i), same
        # target): when stored, tau_loo reuses it instead of re-running every deletion.
        omission = dict(
            Explanation.objects.filter(
                model=job.model, instance_id__in=ids, method__name="omission"
            ).values_list("instance_id", "scores")
        )
        loo = (
            erasure.restrict([omission[pk] for pk in ids])
            if TAU_LOO in families and len(omission) == len(ids)
            else None
        )
        computed = faithfulness_scores(
            erasure.probability_fn,
            erasure.seqs,
            explanations,
            erasure.contexts,
            metrics=families,
            bins=bins,
            randomized=randomized,
            leave_one_out=loo,
        )
        for method, per_instance in computed.items():
            for pk, scores in zip(ids, per_instance, strict=True):
                entry = results.setdefault((pk, method), {})
                for metric, value in scores.values.items():
                    entry[metric] = (value, scores.reasons.get(metric, ""))
    if "plausibility" in wanted:
        rationales: dict[int, list[Rationale]] = {}
        for r in HumanRationale.objects.filter(instance_id__in=ids).order_by(
            "instance_id", "annotator"
        ):
            rationales.setdefault(r.instance_id, []).append(
                Rationale(
                    annotator=r.annotator,
                    indices=r.token_indices if r.soft_scores is None else None,
                    soft=r.soft_scores,
                )
            )
        for pk in ids:
            if pk not in rationales:
                continue
            for method in methods:
                # Words past an imported model's maximum length are left out (unseen).
                explanation = by_instance[pk][method]
                seen = int(explanation.extras.get("seen_words", len(explanation.scores)))
                p = plausibility_scores(
                    explanation.scores[:seen], [r.within(seen) for r in rationales[pk]]
                )
                entry = results.setdefault((pk, method), {})
                for metric, value in p.mean.items():
                    entry[metric] = (value, p.reasons.get(metric, ""))
                for annotator, annotator_values in p.per_annotator.items():
                    for metric, value in annotator_values.items():
                        name = paired_metric(metric, annotator)
                        entry[name] = (value, p.reasons.get(name, ""))
    score_rows = []
    for (pk, method), entry_values in results.items():
        explanation = by_instance[pk][method]
        for metric, (value, reason) in entry_values.items():
            parameters: dict[str, Any] = (
                {"bins": bins} if metric.startswith(("comprehensiveness", "sufficiency")) else {}
            )
            if value is None and reason:
                parameters["undefined_because"] = reason
            score_rows.append(
                Score(
                    explanation=explanation,
                    metric=metric,
                    kind=metric_kind(metric),
                    value=value,
                    parameters=parameters,
                )
            )
    Score.objects.bulk_create(
        score_rows,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["explanation", "metric"],
        update_fields=["kind", "value", "parameters", "updated_at"],
    )
