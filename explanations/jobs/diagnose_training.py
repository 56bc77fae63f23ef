"""A diagnostics job's training unit: one model of Wiegreffe & Pinter's tests, measured.

Each unit (a shard with ``unit`` set, see :func:`explanations.services.jobs.job_create`)
trains one model the way the model under test was trained, but for one change
(:mod:`explanations.compute.diagnostics.wiegreffe_pinter`,
:mod:`explanations.compute.diagnostics.diagnostic_mlp`), and measures it on the
instances the model under test never trained on:

* ``uniform:0``: attention frozen to uniform; the F1 table (a :class:`ModelDiagnostic`);
* ``seed_variance:k``: the model's seed + k; per held-out instance the JSD of its
  attention and the TVD of its output against the model (a :class:`Diagnostic` row per
  instance, one entry per seed), and its F1;
* ``diagnostic_mlp:0``: the three MLP variants' F1 table;
* ``model_adversary:k``: the k-th lambda's adversary; per instance TVD and JSD, per
  lambda F1. The adversary kept (largest mean JSD among those whose F1 is within
  ``kept_f1_drop`` of the model's) has its attention stored on every instance of the
  dataset as explanations of method ``adversary_attention``.

Units run in any order, on any worker: each adds its entry to the rows of the same job
(an entry of an earlier job is replaced, never mixed in), under a row lock, and the
summaries (median over seeds, the adversary kept) are recomputed from the entries.
"""

import statistics
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from explanations.compute.batching import make_batch
from explanations.compute.diagnostics.diagnostic_mlp import diagnostic_mlp_table
from explanations.compute.diagnostics.recipe import Recipe
from explanations.compute.diagnostics.wiegreffe_pinter import (
    held_out_outputs,
    model_consistent_adversary,
    seed_variance,
    uniform_baseline,
)
from explanations.compute.modes import evaluation_mode
from explanations.compute.training import Example
from explanations.jobs.diagnose import diagnostics_upsert
from explanations.models import (
    ClassifierModel,
    Dataset,
    Diagnostic,
    Explanation,
    Instance,
    Job,
    ModelDiagnostic,
)
from explanations.services.bulk import ExplanationRow, explanation_rows_upsert
from explanations.services.jobs import ShardWrite
from explanations.services.methods import known_methods_ensure
from explanations.services.runtime import NativeRuntime, runtime_for

ADVERSARY_METHOD = "adversary_attention"
DEFAULT_EPOCHS = 20  # model_train's default, for models that did not record their budget


def model_recipe(model: ClassifierModel, dataset: Dataset, runtime: NativeRuntime) -> Recipe:
    """Return how ``model`` was trained on ``dataset``: the examples in training order.

    The labelled instances in file order, encoded with the model's vocabulary, as
    :func:`explanations.services.modeling.model_train` passed them. Raises ValueError
    when they no longer give the held-out split the model recorded (instances were
    added or relabelled since), since every figure is measured on that split.
    """
    instances = list(dataset.instances.filter(gold_label__isnull=False).order_by("position"))
    examples = [
        Example(
            tokens=runtime.vocab.encode(i.explained_tokens),
            label=int(i.gold_label),  # type: ignore[arg-type]  # filtered to labelled instances
            context=runtime.vocab.encode(i.context_tokens) if i.context_tokens else None,
        )
        for i in instances
    ]
    epochs = int((model.training_metrics or {}).get("epochs", DEFAULT_EPOCHS))
    recipe = Recipe(
        config=dict(model.config),
        examples=examples,
        seed=int(model.seed or 0),
        settings={"epochs": epochs},
    )
    held_out = [instances[k].pk for k in recipe.split()[1]]
    if sorted(held_out) != sorted(model.held_out_instance_ids or []):
        raise ValueError(
            f"dataset {dataset.name}'s labelled instances changed since model {model.name} was "
            "trained (its held-out split is not reproduced); the tests retrain on the data as "
            "it was"
        )
    return recipe


def diagnose_training_unit(job: Job, instance_ids: list[int], unit: str) -> ShardWrite:
    """Train and measure the unit's model; return the write of its entries."""
    assert job.model is not None
    assert job.dataset is not None
    model, dataset = job.model, job.dataset
    runtime = runtime_for(model)
    if not isinstance(runtime, NativeRuntime):
        raise ValueError(
            f"model {model.name}: Wiegreffe & Pinter's tests retrain a model built here"
        )
    experiment, _, index_text = unit.partition(":")
    index = int(index_text or 0)
    parameters: dict[str, Any] = job.parameters["parameters"][experiment]
    recipe = model_recipe(model, dataset, runtime)
    held_ids = _held_out_ids(recipe, dataset)
    base = runtime.module
    with evaluation_mode(base):
        if experiment == "uniform":
            found = uniform_baseline(recipe, base_model=base)
            table = found.to_json()
            return _model_write(job, experiment, parameters, {"table": table})
        if experiment == "diagnostic_mlp":
            mlp = diagnostic_mlp_table(recipe, base, embeddings=parameters["embeddings"])
            return _model_write(job, experiment, parameters, {"table": mlp.as_dict()})
        if experiment == "seed_variance":
            seed = int(model.seed or 0) + index
            variance = seed_variance(recipe, base, seeds=[seed])
            rows = {
                pk: {
                    "jsd": float(variance.attention_jsd[0, k]),
                    "tvd": float(variance.output_tvd[0, k]),
                }
                for k, pk in enumerate(held_ids)
            }
            entry: dict[str, Any] = {
                "macro_f1": float(variance.seed_f1[0]),
                "accuracy": float(variance.seed_accuracy[0]),
            }
            base_scores = {"macro_f1": variance.base_f1, "accuracy": variance.base_accuracy}
            return _unit_write(
                job,
                experiment,
                parameters,
                str(seed),
                entry,
                rows,
                base_scores,
                maxima=variance.base_max_attention,
                predicted=variance.base_predicted,
                held_ids=held_ids,
            )
        if experiment == "model_adversary":
            lam = float(parameters["lambdas"][index])
            run = model_consistent_adversary(
                recipe,
                base,
                lambdas=[lam],
                epochs=int(parameters["epochs"]),
                patience=int(parameters["patience"]),
            )[0]
            base_outputs = held_out_outputs(base, recipe.held_out())
            rows = {
                pk: {"tvd": float(run.tvd[k]), "jsd": float(run.jsd[k])}
                for k, pk in enumerate(held_ids)
            }
            entry = {
                "macro_f1": run.outputs.macro_f1,
                "accuracy": run.outputs.accuracy,
                "mean_tvd": run.mean_tvd,
                "mean_jsd": run.mean_jsd,
                "epochs_run": run.metrics.get("epochs_run"),
                "best_epoch": run.metrics.get("best_epoch"),
            }
            attention = _attention_everywhere(run.model, runtime, dataset)
            return _unit_write(
                job,
                experiment,
                parameters,
                f"{lam:g}",
                entry,
                rows,
                base_outputs.scores(),
                maxima=base_outputs.max_attention,
                predicted=base_outputs.predicted,
                held_ids=held_ids,
                adversary=(lam, attention),
            )
    raise ValueError(f"unknown training unit {unit!r}")


def _held_out_ids(recipe: Recipe, dataset: Dataset) -> list[int]:
    """Return the instance ids of the recipe's held-out examples, in their order."""
    labelled = list(
        dataset.instances.filter(gold_label__isnull=False)
        .order_by("position")
        .values_list("pk", flat=True)
    )
    return [labelled[k] for k in recipe.split()[1]]


def _attention_everywhere(
    module: torch.nn.Module, runtime: NativeRuntime, dataset: Dataset
) -> dict[int, tuple[list[float], int]]:
    """Return the module's attention and predicted label on every instance of the dataset."""
    found: dict[int, tuple[list[float], int]] = {}
    instances = list(dataset.instances.order_by("position"))
    module.eval()
    with torch.no_grad():
        for start in range(0, len(instances), 128):
            chunk = instances[start : start + 128]
            seqs = [runtime.vocab.encode(i.explained_tokens) for i in chunk]
            contexts = (
                [runtime.vocab.encode(i.context_tokens or []) for i in chunk]
                if chunk[0].context_tokens is not None
                else None
            )
            output = module(make_batch(seqs, contexts))
            for row, instance in enumerate(chunk):
                weights = output.attention[row, : len(seqs[row])].double().tolist()
                found[instance.pk] = (weights, int(output.logits[row].argmax()))
    return found


def _locked(job: Job, experiment: str) -> tuple[ModelDiagnostic, dict[str, Any]]:
    """Return the experiment's model-level row, locked, and its values for this job.

    Values of an earlier job are dropped: a re-run replaces, never mixes.
    """
    assert job.model is not None
    assert job.dataset is not None
    row, _ = ModelDiagnostic.objects.select_for_update().get_or_create(
        model=job.model, dataset=job.dataset, experiment=experiment
    )
    values = dict(row.values) if row.values.get("job") == job.pk else {"job": job.pk}
    return row, values


def _model_write(
    job: Job, experiment: str, parameters: dict[str, Any], values: dict[str, Any]
) -> ShardWrite:
    def write() -> None:
        row, _ = _locked(job, experiment)
        row.values = {"job": job.pk, **values}
        row.parameters = parameters
        row.job = job
        row.save()

    return write


def _unit_write(
    job: Job,
    experiment: str,
    parameters: dict[str, Any],
    key: str,
    entry: dict[str, Any],
    rows: dict[int, dict[str, float]],
    base_scores: dict[str, float],
    *,
    maxima: np.ndarray,
    predicted: np.ndarray,
    held_ids: Sequence[int],
    adversary: tuple[float, dict[int, tuple[list[float], int]]] | None = None,
) -> ShardWrite:
    """Return the write of one unit's entries: model-level and per held-out instance."""
    assert job.model is not None
    model = job.model
    per_instance = {pk: (float(maxima[k]), int(predicted[k])) for k, pk in enumerate(held_ids)}

    def write() -> None:
        summary, values = _locked(job, experiment)
        units = dict(values.get("units", {}))
        units[key] = entry
        values.update({"base": base_scores, "units": units})
        kept_before = values.get("kept")
        if adversary is not None:
            values["kept"] = _kept(units, base_scores, float(parameters["kept_f1_drop"]))
        summary.values = values
        summary.parameters = parameters
        summary.job = job
        summary.save()
        existing = {
            d.instance_id: d
            for d in Diagnostic.objects.select_for_update().filter(
                model=model, experiment=experiment, instance_id__in=list(rows)
            )
        }
        updated = []
        for pk, numbers in rows.items():
            found = existing.get(pk)
            old = found.values if found is not None and found.values.get("job") == job.pk else {}
            by_unit = {**old.get("units", {}), key: numbers}
            maximum, label = per_instance[pk]
            updated.append(
                Diagnostic(
                    model=model,
                    instance_id=pk,
                    experiment=experiment,
                    predicted_label=label,
                    max_attention=maximum,
                    values={"job": job.pk, "units": by_unit, **_instance_summary(by_unit)},
                    parameters=parameters,
                    job=job,
                )
            )
        diagnostics_upsert(updated)
        if adversary is not None and values["kept"] == key and kept_before != key:
            _store_adversary(model, adversary, parameters)

    return write


def _instance_summary(by_unit: dict[str, dict[str, float]]) -> dict[str, float]:
    """Return W&P's per-instance figures over the units so far: median JSD, mean TVD."""
    jsds = [u["jsd"] for u in by_unit.values()]
    tvds = [u["tvd"] for u in by_unit.values()]
    return {"median_jsd": statistics.median(jsds), "mean_tvd": statistics.fmean(tvds)}


def _kept(units: dict[str, dict[str, Any]], base: dict[str, float], drop: float) -> str | None:
    """Return the lambda kept: largest mean JSD among adversaries within ``drop`` of base F1."""
    eligible = [
        (entry["mean_jsd"], key)
        for key, entry in units.items()
        if entry["macro_f1"] >= base["macro_f1"] - drop
    ]
    return max(eligible)[1] if eligible else None


def _store_adversary(
    model: ClassifierModel,
    adversary: tuple[float, dict[int, tuple[list[float], int]]],
    parameters: dict[str, Any],
) -> None:
    """Store the kept adversary's attention as explanations of ``adversary_attention``."""
    lam, attention = adversary
    method_id = known_methods_ensure()[ADVERSARY_METHOD]
    present = set(Instance.objects.filter(pk__in=list(attention)).values_list("pk", flat=True))
    Explanation.objects.filter(model=model, method_id=method_id).exclude(
        instance_id__in=present
    ).delete()
    settings = {"lambda": lam, "kept_f1_drop": parameters["kept_f1_drop"]}
    ids = [pk for pk in attention if pk in present]
    rows: list[ExplanationRow] = [(pk, method_id, attention[pk][0], settings) for pk in ids]
    explanation_rows_upsert(
        model_id=model.pk,
        rows=rows,
        target_labels=[attention[pk][1] for pk in ids],
    )
