"""Store a model's predictions (one row per model and instance; re-runs replace)."""

from collections.abc import Sequence

from django.db import transaction

from explanations.models import ClassifierModel, Prediction


def predictions_store(
    *, model: ClassifierModel, instance_ids: Sequence[int], probabilities: Sequence[Sequence[float]]
) -> int:
    """Insert or replace predictions: the label is the arg-max of each probability row."""
    if len(instance_ids) != len(probabilities):
        raise ValueError(f"{len(instance_ids)} instances but {len(probabilities)} probability rows")
    rows = []
    for instance_id, probs in zip(instance_ids, probabilities, strict=True):
        probs = [float(p) for p in probs]
        if len(probs) != len(model.label_names):
            raise ValueError(
                f"instance {instance_id}: {len(probs)} probabilities; expected {len(model.label_names)} "
                f"(labels {', '.join(model.label_names)})"
            )
        label = max(range(len(probs)), key=probs.__getitem__)
        rows.append(
            Prediction(model=model, instance_id=instance_id, label=label, probabilities=probs)
        )
    with transaction.atomic():
        Prediction.objects.bulk_create(
            rows,
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["model", "instance"],
            update_fields=["label", "probabilities"],
        )
    return len(rows)
