"""The body of a diagnostics job's shard: the attention experiments on its instances.

Reads the instances and runs every chosen experiment of
:mod:`explanations.compute.diagnostics` with no transaction open; returns the write of
one :class:`Diagnostic` row per instance and experiment (upserted, so a retried shard
replaces) and, for the adversarial experiment, of the kept distribution as an
explanation of method ``adversarial_attention``. Random streams are keyed by the
instance's id, so a shard's numbers do not depend on how the job was split.

An imported Hugging Face model gets the correlation and the zeroing of its last layer's
first-token attention, per word (:mod:`explanations.compute.diagnostics.hf_intervention`);
words past its maximum length are unseen, left out, and counted in each row's values.
"""

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from explanations.compute.architectures import BiLSTMAttentionClassifier
from explanations.compute.batching import Batch, make_batch
from explanations.compute.diagnostics import (
    AdversarialSettings,
    adversarial_attention,
    intervention_for,
    jain_wallace_gradient,
    jain_wallace_leave_one_out,
    kendall_per_instance,
    permutation_test,
    zeroing_diagnostics,
)
from explanations.compute.diagnostics.hf_intervention import (
    hf_leave_one_out_tvd,
    hf_word_attention,
    hf_zeroing_diagnostics,
)
from explanations.compute.diagnostics.intervention import as_rows
from explanations.compute.diagnostics.zeroing import ZeroingResult
from explanations.compute.modes import evaluation_mode
from explanations.models import Diagnostic, Explanation, Instance, Job
from explanations.services.bulk import ExplanationRow, explanation_rows_upsert
from explanations.services.diagnostics import TRANSFORMER_SKIPPED
from explanations.services.jobs import ShardWrite
from explanations.services.methods import known_methods_ensure
from explanations.services.runtime import HFRuntime, NativeRuntime, runtime_for

ADVERSARIAL_METHOD = "adversarial_attention"
_ONE_VECTOR = TRANSFORMER_SKIPPED["permutation"]
# The stored explanations the "platform" correlation definitions compare attention with.
PLATFORM_MEASURES = {"gradient": "gradient", "leave_one_out": "omission"}


def _number(value: Any) -> float | None:
    """Return ``value`` as a float, or None when it is NaN (JSON has no NaN)."""
    number = float(value)
    return None if math.isnan(number) else number


def _numbers(values: Sequence[Any] | np.ndarray) -> list[float | None]:
    return [_number(v) for v in values]


def diagnose_shard(job: Job, instance_ids: list[int], unit: str = "") -> ShardWrite:
    """Run the job's experiments on the shard's instances; return the write of the results.

    A shard with a ``unit`` trains one model of Wiegreffe & Pinter's tests instead
    (:mod:`explanations.jobs.diagnose_training`).
    """
    if unit:
        from explanations.jobs.diagnose_training import diagnose_training_unit

        return diagnose_training_unit(job, instance_ids, unit)
    assert job.model is not None
    model = job.model
    runtime = runtime_for(model)
    if not isinstance(runtime, NativeRuntime | HFRuntime):
        raise ValueError(
            f"model {model.name} ({model.architecture}): the attention diagnostics need a "
            "model built here (bilstm_attention or transformer) or an imported one"
        )
    experiments: list[str] = job.parameters["experiments"]
    parameters: dict[str, dict[str, Any]] = job.parameters["parameters"]
    skipped: dict[str, str] = job.parameters.get("skipped", {})
    by_id = {i.pk: i for i in Instance.objects.filter(pk__in=instance_ids)}
    ids = [pk for pk in instance_ids if pk in by_id]  # an instance deleted since is skipped
    if not ids:
        return _nothing
    instances = [by_id[pk] for pk in ids]
    if isinstance(runtime, HFRuntime):
        figures = _hf_values(runtime, instances, ids, model.pk, experiments, parameters)
        return _shard_write(job, ids, *figures, parameters, skipped, [])
    module = runtime.module
    seqs = [runtime.vocab.encode(i.explained_tokens) for i in instances]
    contexts = (
        [runtime.vocab.encode(i.context_tokens or []) for i in instances]
        if instances[0].context_tokens is not None
        else None
    )
    device = next(module.parameters()).device
    batch = make_batch(seqs, contexts).to(device)
    with evaluation_mode(module), torch.no_grad():
        intervention = intervention_for(module, batch)
        attention = as_rows(intervention.attention, batch.lengths)
        predicted = intervention.probabilities.argmax(dim=1).cpu().numpy()
    maxima = [float(a.max()) if a.size else None for a in attention]
    values: dict[str, list[dict[str, Any]]] = {}
    kept_rows: list[tuple[int, list[float], dict[str, float]]] = []
    if "correlation" in experiments:
        values["correlation"] = _correlation(
            module, batch, seqs, contexts, attention, ids, model.pk, parameters["correlation"]
        )
    # The plan never asks a transformer for these (skipped, with why); refuse loudly if asked.
    bilstm = module if isinstance(module, BiLSTMAttentionClassifier) else None
    if bilstm is None and {"permutation", "adversarial"} & set(experiments):
        raise ValueError(f"permutation and adversarial attention: {_ONE_VECTOR}")
    if "permutation" in experiments:
        assert bilstm is not None
        settings = parameters["permutation"]
        result = permutation_test(
            bilstm, batch, permutations=settings["permutations"], seed=settings["seed"], keys=ids
        )
        values["permutation"] = [
            {"median_tvd": _number(result.median_tvd[row]), "tvd": _numbers(result.tvd[row])}
            for row in range(len(ids))
        ]
    if "adversarial" in experiments:
        assert bilstm is not None
        settings = dict(parameters["adversarial"])
        seed = settings.pop("seed")
        found = adversarial_attention(
            bilstm, batch, settings=AdversarialSettings(**settings), seed=seed, keys=ids
        )
        values["adversarial"] = []
        for row, pk in enumerate(ids):
            feasible = bool(found.feasible[row])
            values["adversarial"].append(
                {
                    "feasible": feasible,
                    "jsd": _number(found.jsd[row]),
                    "tvd": _number(found.tvd[row]),
                    "candidate_jsd": _numbers(found.candidate_jsd[row]),
                    "candidate_tvd": _numbers(found.candidate_tvd[row]),
                }
            )
            kept = found.kept[row]
            if feasible and kept is not None:
                extras = {"jsd": float(found.jsd[row]), "tvd": float(found.tvd[row])}
                kept_rows.append((pk, [float(x) for x in kept], extras))
    if "zeroing" in experiments:
        zeroed = zeroing_diagnostics(module, batch, seed=parameters["zeroing"]["seed"], keys=ids)
        values["zeroing"] = _zeroing_values(zeroed, len(ids))
    return _shard_write(job, ids, values, predicted, maxima, parameters, skipped, kept_rows)


def _zeroing_values(zeroed: ZeroingResult, count: int) -> list[dict[str, Any]]:
    """Return each instance's zeroing figures as JSON: the single zeroing and every order's flips."""
    single = zeroed.single
    return [
        {
            **{name: _scalar(getattr(single, name)[row]) for name in single.__dataclass_fields__},
            "flips": {
                order: {
                    "flipped": bool(flip.flipped[row]),
                    "items": _number(flip.items[row]),
                    "fraction": _number(flip.fraction[row]),
                    "mass": _number(flip.mass[row]),
                }
                for order, flip in zeroed.flips.items()
            },
        }
        for row in range(count)
    ]


def _hf_values(
    runtime: HFRuntime,
    instances: list[Instance],
    ids: list[int],
    model_id: int,
    experiments: list[str],
    parameters: dict[str, dict[str, Any]],
) -> tuple[dict[str, list[dict[str, Any]]], np.ndarray, list[float | None]]:
    """Return an imported model's correlation and zeroing figures, predictions and max attention.

    Every figure is over the words the model saw; each row says how many of how many.
    """
    refused = sorted(set(experiments) - {"correlation", "zeroing"})
    if refused:
        raise ValueError(f"{', '.join(refused)}: not defined for an imported Hugging Face model")
    encoded = runtime.encode(instances)
    classifier = runtime.classifier
    attention, probabilities = hf_word_attention(classifier, encoded)
    predicted = probabilities.argmax(axis=1)
    maxima = [float(a.max()) if a.size else None for a in attention]
    seen = [{"seen_words": p.seen_words, "words": p.n_words} for p in encoded]
    values: dict[str, list[dict[str, Any]]] = {}
    if "correlation" in experiments:
        if parameters["correlation"]["definitions"] == "jain_wallace":
            measures: dict[str, list[np.ndarray | None]] = {
                "leave_one_out": list(hf_leave_one_out_tvd(classifier, encoded))
            }
            reasons: dict[str, str] = {}
        else:
            measures, reasons = _platform_measures(ids, model_id)
            # Stored scores cover every word (unseen ones 0): keep the seen words' scores.
            for scores in measures.values():
                for row, pieces in enumerate(encoded):
                    stored = scores[row]
                    if stored is not None and stored.shape[0] == pieces.n_words:
                        scores[row] = stored[: pieces.seen_words]
        entries = _tau_entries(attention, measures, reasons)
        values["correlation"] = [
            {**entry, **extra} for entry, extra in zip(entries, seen, strict=True)
        ]
    if "zeroing" in experiments:
        zeroed = hf_zeroing_diagnostics(
            classifier, encoded, seed=parameters["zeroing"]["seed"], keys=ids
        )
        figures = _zeroing_values(zeroed, len(ids))
        values["zeroing"] = [{**row, **extra} for row, extra in zip(figures, seen, strict=True)]
    return values, predicted, maxima


def _shard_write(
    job: Job,
    ids: list[int],
    values: dict[str, list[dict[str, Any]]],
    predicted: np.ndarray,
    maxima: list[float | None],
    parameters: dict[str, dict[str, Any]],
    skipped: dict[str, str],
    kept_rows: list[tuple[int, list[float], dict[str, float]]],
) -> ShardWrite:
    """Return the write of one Diagnostic row per instance and experiment (and the adversaries)."""
    assert job.model is not None
    model = job.model
    diagnostics = [
        Diagnostic(
            model=model,
            instance_id=pk,
            experiment=experiment,
            predicted_label=int(predicted[row]),
            max_attention=maxima[row],
            values=rows[row],
            parameters={**parameters[experiment], "skipped": _skipped_for(experiment, skipped)},
            job=job,
        )
        for experiment, rows in values.items()
        for row, pk in enumerate(ids)
    ]
    adversarial_parameters = parameters.get("adversarial", {})
    labels = dict(zip(ids, (int(p) for p in predicted), strict=True))

    def write() -> None:
        diagnostics_upsert(diagnostics)
        if "adversarial" not in values:
            return
        method_id = known_methods_ensure()[ADVERSARIAL_METHOD]
        # An instance without a feasible adversary this time keeps no stale one.
        kept_ids = {pk for pk, _, _ in kept_rows}
        Explanation.objects.filter(
            model=model, method_id=method_id, instance_id__in=set(ids) - kept_ids
        ).delete()
        rows: list[ExplanationRow] = [
            (pk, method_id, scores, adversarial_parameters) for pk, scores, _ in kept_rows
        ]
        explanation_rows_upsert(
            model_id=model.pk,
            rows=rows,
            extras=[extras for _, _, extras in kept_rows],
            target_labels=[labels[pk] for pk, _, _ in kept_rows],
        )

    return write


def diagnostics_upsert(rows: Sequence[Diagnostic]) -> None:
    """Insert the rows, or replace those of the same model, instance and experiment."""
    Diagnostic.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["model", "instance", "experiment"],
        update_fields=[
            "predicted_label",
            "max_attention",
            "values",
            "parameters",
            "job",
            "updated_at",
        ],
    )


def _scalar(value: Any) -> Any:
    """Return a numpy scalar as JSON: bool, int, or float (None for NaN)."""
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    return _number(value)


def _skipped_for(experiment: str, skipped: dict[str, str]) -> dict[str, str]:
    """Return the parts of ``experiment`` skipped for the model, with why."""
    parts = {
        "correlation": ("jain_wallace_gradient",),
        "zeroing": ("zeroing_gradient_orders",),
    }.get(experiment, ())
    return {name: skipped[name] for name in parts if name in skipped}


def _correlation(
    module: torch.nn.Module,
    batch: Batch,
    seqs: list[list[int]],
    contexts: list[list[int]] | None,
    attention: list[np.ndarray],
    ids: list[int],
    model_id: int,
    settings: dict[str, Any],
) -> list[dict[str, Any]]:
    """Return each instance's tau and p-value of attention against each measure."""
    measures: dict[str, list[np.ndarray | None]] = {}
    reasons: dict[str, str] = {}
    if settings["definitions"] == "jain_wallace":
        # The transformer has no one attention vector to detach (skipped, with why).
        if isinstance(module, BiLSTMAttentionClassifier):
            measures["gradient"] = list(jain_wallace_gradient(module, batch))
        measures["leave_one_out"] = list(jain_wallace_leave_one_out(module, seqs, contexts))
    else:
        measures, reasons = _platform_measures(ids, model_id)
    return _tau_entries(attention, measures, reasons)


def _platform_measures(
    ids: list[int], model_id: int
) -> tuple[dict[str, list[np.ndarray | None]], dict[str, str]]:
    """Return the stored gradient and omission scores per instance (None where not stored)."""
    measures: dict[str, list[np.ndarray | None]] = {}
    reasons: dict[str, str] = {}
    for measure, method in PLATFORM_MEASURES.items():
        stored = dict(
            Explanation.objects.filter(
                model_id=model_id, instance_id__in=ids, method__name=method
            ).values_list("instance_id", "scores")
        )
        measures[measure] = [
            np.asarray(stored[pk], dtype=np.float64) if pk in stored else None for pk in ids
        ]
        reasons[measure] = f"no stored {method} explanation; run compute_explanations"
    return measures, reasons


def _tau_entries(
    attention: list[np.ndarray],
    measures: dict[str, list[np.ndarray | None]],
    reasons: dict[str, str],
) -> list[dict[str, Any]]:
    """Return each instance's tau and p-value of its attention against each measure."""
    out: list[dict[str, Any]] = [{"tau": {}, "p_value": {}} for _ in attention]
    for measure, rows in measures.items():
        for row, other in enumerate(rows):
            entry = out[row]
            if other is None or other.shape != attention[row].shape:
                entry["tau"][measure] = entry["p_value"][measure] = None
                entry.setdefault("undefined_because", {})[measure] = (
                    reasons.get(measure, "")
                    if other is None
                    else "the stored explanation has another number of tokens"
                )
                continue
            found = kendall_per_instance([attention[row]], [other], label=measure)
            entry["tau"][measure] = _number(found.tau[0])
            entry["p_value"][measure] = _number(found.p_value[0])
            if entry["tau"][measure] is None:
                entry.setdefault("undefined_because", {})[measure] = (
                    "fewer than two tokens or a constant vector"
                )
    return out


def _nothing() -> None:
    """Write nothing: every instance of the shard was deleted since the job was created."""
