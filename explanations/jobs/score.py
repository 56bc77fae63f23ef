"""The body of a score job's shard: faithfulness and plausibility scores of explanations."""

from typing import Any

from explanations.compute.faithfulness import faithfulness_scores
from explanations.compute.plausibility import Rationale, plausibility_scores
from explanations.compute.registry import method_parameters
from explanations.compute.score_names import (
    RANDOMIZATION_SPEARMAN,
    TAU_LOO,
    metric_kind,
    paired_metric,
)
from explanations.models import Explanation, HumanRationale, Job, Score
from explanations.services.jobs import ShardWrite
from explanations.services.runtime import runtime_for


def score_shard(job: Job, instance_ids: list[int]) -> ShardWrite:
    """Score the explanations of a shard's instances by the job's methods and metrics.

    Return the write of every score computed, which the job runner performs in the
    transaction that marks the shard done.
    """
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
        return _nothing
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

    def write() -> None:
        Score.objects.bulk_create(
            score_rows,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["explanation", "metric"],
            update_fields=["kind", "value", "parameters", "updated_at"],
        )

    return write


def _nothing() -> None:
    """Write nothing: no instance of the shard has every chosen method's explanation."""
