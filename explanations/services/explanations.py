"""Import and export explanations computed elsewhere, all-or-nothing and idempotent."""

from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import User
from django.db import connection, transaction

from explanations.io.explanations import iter_explanations, read_explanations, write_explanations
from explanations.io.problems import ImportFailed, Problem, ProblemCollector
from explanations.models import ClassifierModel, Dataset, Explanation

from .bulk import explanation_rows_copy_stream, explanation_rows_upsert
from .methods import known_methods_ensure
from .progress import Progress, no_progress


@dataclass(frozen=True)
class ExplanationImportResult:
    model: ClassifierModel
    written: int


def instance_lengths(dataset: Dataset) -> dict[str, tuple[int, int]]:
    """Map each instance's external id to ``(pk, number of explained tokens)``."""
    field = "tokens_b" if dataset.is_pair else "tokens"
    return {
        ext: (pk, len(tokens))
        for ext, pk, tokens in dataset.instances.values_list("external_id", "pk", field)
    }


def model_for_import(*, name: str, dataset: Dataset, owner: User | None) -> ClassifierModel:
    """Return model ``name`` (creating an external one) after checking it belongs to ``dataset``."""
    model = ClassifierModel.objects.filter(name=name).first()
    if model is None:
        model = ClassifierModel(
            name=name,
            dataset=dataset,
            architecture=ClassifierModel.Architecture.EXTERNAL,
            label_names=dataset.label_names,
            owner=owner,
        )
        model.full_clean()
        model.save()
    elif model.dataset_id not in (None, dataset.pk):
        raise ImportFailed(
            [
                Problem(
                    f"--model {name}",
                    None,
                    None,
                    f"model {name!r} belongs to dataset {model.dataset}, not {dataset}",
                )
            ]
        )
    return model


def explanations_import(
    *,
    path: Path,
    model_name: str,
    dataset: Dataset,
    owner: User | None = None,
    progress: Progress = no_progress,
) -> ExplanationImportResult:
    """Import explanation lines for ``dataset`` under model ``model_name``, all or nothing.

    A line for a (model, instance, method) already stored replaces its scores, so
    importing the same file twice leaves one row per explanation.
    """
    path = Path(path)
    methods = known_methods_ensure()
    instances = instance_lengths(dataset)
    existing = ClassifierModel.objects.filter(name=model_name).first()
    if connection.vendor == "postgresql" and (
        existing is None or not existing.explanations.exists()
    ):
        # Nothing can conflict: stream rows into COPY while reading (see bulk.py).
        problems = ProblemCollector(path)
        with transaction.atomic():
            model = model_for_import(name=model_name, dataset=dataset, owner=owner)
            rows = (
                (p.instance_id, p.method_id, p.scores, p.params)
                for p in iter_explanations(
                    path, instances=instances, methods=methods, problems=problems
                )
            )
            written = explanation_rows_copy_stream(
                model_id=model.pk, rows=rows, problems=problems, progress=progress
            )
        return ExplanationImportResult(model=model, written=written)
    parsed = read_explanations(path, instances=instances, methods=methods)
    with transaction.atomic():
        model = model_for_import(name=model_name, dataset=dataset, owner=owner)
        written = explanation_rows_upsert(
            model_id=model.pk,
            rows=[(p.instance_id, p.method_id, p.scores, p.params) for p in parsed],
            progress=progress,
        )
    return ExplanationImportResult(model=model, written=written)


def explanations_export(
    *, model: ClassifierModel, path: Path, methods: list[str] | None = None
) -> int:
    """Write the model's explanations as JSON lines in the import format; return the count."""
    queryset = Explanation.objects.filter(model=model)
    if methods:
        queryset = queryset.filter(method__name__in=methods)
    rows = queryset.order_by("pk").values_list(
        "instance__external_id", "method__name", "scores", "parameters"
    )
    with Path(path).open("w", encoding="utf-8") as out:
        return write_explanations(rows.iterator(chunk_size=5000), out)
