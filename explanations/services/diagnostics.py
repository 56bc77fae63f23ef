"""Attention under test (issue #13): what runs for which model, and the diagnostics jobs.

The experiments of the attention debate (:mod:`explanations.compute.diagnostics`) run as
a sharded job of kind ``diagnose``, in-process or on Celery like explanation and score
jobs (:mod:`explanations.services.jobs`); the shard body is
:mod:`explanations.jobs.diagnose`. Each instance's figures are a :class:`Diagnostic`
row per experiment, with every parameter they were computed with.

This module imports no compute code (no torch): the web tier plans and enqueues jobs
through it. What each model kind supports, and why not, is therefore stated here as
text; a test checks it against the compute core's own statement
(``TRANSFORMER_SKIPPED``).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User

from explanations.compute.attention_debate import (
    TRANSFORMER_SKIPPED,
)
from explanations.models import ClassifierModel, Dataset, Diagnostic, Job

from .jobs import job_create, job_run
from .progress import Progress, no_progress

EXPERIMENTS: tuple[str, ...] = tuple(Diagnostic.Experiment.values)

# Each experiment's parameters and their defaults (Jain & Wallace's and Serrano & Smith's).
DEFAULT_PARAMETERS: dict[str, dict[str, Any]] = {
    "correlation": {"definitions": "jain_wallace", "significance": 0.05},
    "permutation": {"permutations": 100, "seed": 0},
    "adversarial": {
        "candidates": 5,
        "steps": 500,
        "learning_rate": 0.01,
        "penalty": 500.0,
        "margin": 0.01,
        "tvd_threshold": 0.05,
        "init_scale": 3.0,
        "double_precision": True,
        "seed": 0,
    },
    "zeroing": {"seed": 0},
}
CORRELATION_DEFINITIONS: tuple[str, ...] = ("jain_wallace", "platform")

# What each experiment measures, stated beside its table and figure and in every export.
DEFINITIONS: dict[str, str] = {
    "correlation": (
        "Per instance, Kendall's tau-b between the attention weights and another importance "
        "measure over the instance's tokens, with its two-sided p-value (Jain & Wallace 2019, "
        "Table 2). Definitions 'jain_wallace': their gradient |sum_d dp_c/dx_id x_id| with the "
        "attention detached, and their leave-one-out TVD(p(x), p(x without token i)); "
        "'platform': the stored gradient (L2 norm of d logit_c / d x_i) and omission "
        "(p_c(x) - p_c(x without i)) explanations. Reported: mean, population sd and the "
        "share of instances with p <= significance, over all instances and per predicted class."
    ),
    "permutation": (
        "The attention weights are shuffled over the instance's tokens (hidden states fixed) "
        "'permutations' times; the figure is the median total variation distance (half the "
        "L1 distance) between the permuted and the original output distributions, plotted "
        "against the instance's maximum attention weight by predicted class (J&W 4.2.1)."
    ),
    "adversarial": (
        "With the model frozen, 'candidates' attention distributions are optimised by Adam "
        "for 'steps' steps to differ most (JSD, natural log) from the model's attention while "
        "the output stays close; the candidate with the largest JSD among those with output "
        "TVD <= 'tvd_threshold' is kept (J&W 4.2.2) and stored as an explanation of method "
        "adversarial_attention. Reported: that max JSD against the maximum attention weight; "
        "an instance with no feasible candidate is its own category."
    ),
    "zeroing": (
        "Serrano & Smith 2019: (a) zero the largest attention weight, renormalise, and compare "
        "the output JSD with zeroing a random other weight (difference = top - random); "
        "(b) zero weights in an order (attention, reverse, 5 random, and for the BiLSTM the "
        "gradient orders) until the decision flips: the fraction of tokens zeroed; an "
        "instance whose decision never flips is its own category."
    ),
}


_NOT_BUILT_HERE = (
    "the diagnostics rerun the layers after attention with other weights, which needs a "
    "model built here (bilstm_attention or transformer)"
)


# The compute core names the adversarial experiment after its method.
_SKIP_KEY = {"adversarial": "adversarial_attention"}


def diagnostics_skipped(architecture: str) -> dict[str, str]:
    """Return what is not run for models of ``architecture``, each with the reason.

    Keys are experiments, or parts of one (``jain_wallace_gradient`` of the correlation,
    ``zeroing_gradient_orders`` of the zeroing), as the compute core names them.
    """
    if architecture == ClassifierModel.Architecture.BILSTM_ATTENTION:
        return {}
    if architecture == ClassifierModel.Architecture.TRANSFORMER:
        return dict(TRANSFORMER_SKIPPED)
    reason = _NOT_BUILT_HERE
    if architecture == ClassifierModel.Architecture.EXTERNAL:
        reason = "its explanations are imported: there is no model here to intervene on"
    return {experiment: reason for experiment in EXPERIMENTS}


def diagnostics_supported(architecture: str) -> tuple[str, ...]:
    """Return the experiments run (wholly or in part) for models of ``architecture``."""
    skipped = diagnostics_skipped(architecture)
    return tuple(e for e in EXPERIMENTS if _SKIP_KEY.get(e, e) not in skipped and e not in skipped)


def diagnostics_parameters(
    *, experiments: Sequence[str], overrides: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Return each experiment's parameters: defaults, updated by ``overrides``, checked.

    ``overrides`` maps an experiment to ``{parameter: value}``; those of experiments not
    in ``experiments`` are ignored. Raises ValueError naming
    the field (``parameters.<experiment>.<name>``) and what was expected.
    """
    overrides = dict(overrides or {})
    # Parameters of a known experiment not run now are ignored (one set of settings may
    # serve several runs); an unknown name is a mistake.
    unknown = sorted(set(overrides) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(
            f"parameters: unknown experiment {', '.join(unknown)}; "
            f"expected some of {', '.join(EXPERIMENTS)}"
        )
    resolved: dict[str, dict[str, Any]] = {}
    for experiment in experiments:
        given = overrides.get(experiment, {})
        if not isinstance(given, Mapping):
            raise ValueError(f"parameters.{experiment}: expected an object of name: value")
        defaults = DEFAULT_PARAMETERS[experiment]
        extra = sorted(set(given) - set(defaults))
        if extra:
            raise ValueError(
                f"parameters.{experiment}: unknown {', '.join(extra)}; "
                f"expected some of {', '.join(defaults)}"
            )
        resolved[experiment] = {
            name: _checked(f"parameters.{experiment}.{name}", default, given.get(name, default))
            for name, default in defaults.items()
        }
    if "correlation" in resolved:
        chosen = resolved["correlation"]["definitions"]
        if chosen not in CORRELATION_DEFINITIONS:
            raise ValueError(
                f"parameters.correlation.definitions: expected one of "
                f"{', '.join(CORRELATION_DEFINITIONS)}, got {chosen!r}"
            )
        if not 0 < resolved["correlation"]["significance"] < 1:
            raise ValueError("parameters.correlation.significance: expected a number in (0, 1)")
    minimum = {"permutations": 1, "candidates": 1}
    for experiment, values in resolved.items():
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            floor = minimum.get(name, 0)
            if value < floor:
                raise ValueError(
                    f"parameters.{experiment}.{name}: expected at least {floor}, got {value}"
                )
    return resolved


def _checked(field: str, default: Any, value: Any) -> Any:
    """Return ``value`` if it has the default's type (an int is a float), else raise."""
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ValueError(f"{field}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{field}: expected an integer, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{field}: expected a number, got {value!r}")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"{field}: expected a finite number, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise ValueError(f"{field}: expected a string, got {value!r}")
    return value


def diagnostics_plan(
    *, model: ClassifierModel, experiments: Sequence[str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """Return the experiments to run on ``model`` and what is skipped (with why).

    ``experiments=None`` (or empty) means every experiment the model supports. An
    unknown experiment, or one not defined for the model, is a ValueError naming it.
    """
    supported = diagnostics_supported(model.architecture)
    skipped = diagnostics_skipped(model.architecture)
    if not experiments:
        if not supported:
            reason = next(iter(skipped.values()), "")
            raise ValueError(
                f"model {model.name} ({model.architecture}) supports no attention "
                f"diagnostic: {reason}"
            )
        return list(supported), skipped
    unknown = [e for e in experiments if e not in EXPERIMENTS]
    if unknown:
        raise ValueError(
            f"experiments: unknown {', '.join(unknown)}; expected some of {', '.join(EXPERIMENTS)}"
        )
    refused = [e for e in dict.fromkeys(experiments) if e not in supported]
    if refused:
        reasons = "; ".join(
            f"{e}: {skipped.get(_SKIP_KEY.get(e, e)) or skipped.get(e, '')}" for e in refused
        )
        raise ValueError(
            f"experiments: {', '.join(refused)} not defined for model {model.name} "
            f"({model.architecture}): {reasons}"
        )
    return list(dict.fromkeys(experiments)), skipped


def diagnostics_job_create(
    *,
    model: ClassifierModel,
    dataset: Dataset,
    experiments: Sequence[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    created_by: User | None = None,
) -> Job:
    """Create a ``diagnose`` job over every instance of ``dataset`` (checked, not yet run).

    Instances go in shards sorted by the explained text's length (less padding). A
    dataset without instances gives an unsaved, done job (see ``job_create``).
    """
    chosen, skipped = diagnostics_plan(model=model, experiments=experiments)
    resolved = diagnostics_parameters(experiments=chosen, overrides=parameters)
    field = "tokens_b" if dataset.is_pair else "tokens"
    ids = [
        pk
        for pk, tokens in sorted(
            dataset.instances.values_list("pk", field), key=lambda row: (len(row[1]), row[0])
        )
    ]
    return job_create(
        kind=Job.Kind.DIAGNOSE,
        model=model,
        dataset=dataset,
        instance_ids=ids,
        created_by=created_by,
        parameters={"experiments": chosen, "parameters": resolved, "skipped": skipped},
    )


def diagnostics_run(
    *,
    model: ClassifierModel,
    dataset: Dataset,
    experiments: Sequence[str] | None = None,
    parameters: Mapping[str, Any] | None = None,
    created_by: User | None = None,
    progress: Progress = no_progress,
    wait: bool = True,
) -> Job:
    """Create the diagnostics job and run it, in-process or on Celery (see ``job_run``)."""
    job = diagnostics_job_create(
        model=model,
        dataset=dataset,
        experiments=experiments,
        parameters=parameters,
        created_by=created_by,
    )
    return job_run(job, progress=progress, wait=wait)
