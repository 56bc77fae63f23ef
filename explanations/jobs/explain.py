"""The body of an explanation job's shard: explain its instances by the job's methods."""

import time
from typing import Any

from explanations.compute.registry import method_parameters
from explanations.models import Explanation, Instance, Job
from explanations.services.bulk import ExplanationRow, explanation_rows_upsert
from explanations.services.jobs import ShardWrite
from explanations.services.methods import known_methods_ensure
from explanations.services.runtime import runtime_for

EXPLAIN_BATCH = 32


def explain_shard(job: Job, instance_ids: list[int]) -> ShardWrite:
    """Explain the instances still lacking a method (all of them when ``force``).

    Return the write of every explanation computed, which the job runner performs in the
    transaction that marks the shard done.
    """
    assert job.model is not None
    model_id = job.model.pk
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
    rows: list[ExplanationRow] = []
    extras: list[dict[str, Any]] = []
    targets: list[int | None] = []
    seconds: list[float | None] = []
    for method in methods:
        resolved = method_parameters(method, kind, **params.get(method, {}))
        todo = [pk for pk in instance_ids if force or (pk, method) not in done]
        for start in range(0, len(todo), EXPLAIN_BATCH):
            chunk = todo[start : start + EXPLAIN_BATCH]
            began = time.perf_counter()
            attributions = runtime.explain([instances[pk] for pk in chunk], method, resolved)
            per_instance = (time.perf_counter() - began) / len(chunk)
            rows.extend(
                (pk, method_ids[method], [float(x) for x in a.scores], resolved)
                for pk, a in zip(chunk, attributions, strict=True)
            )
            extras.extend({k: float(v) for k, v in a.extras.items()} for a in attributions)
            targets.extend(int(a.target) for a in attributions)
            seconds.extend([per_instance] * len(chunk))

    def write() -> None:
        explanation_rows_upsert(
            model_id=model_id,
            rows=rows,
            extras=extras,
            target_labels=targets,
            compute_seconds=seconds,
        )

    return write
