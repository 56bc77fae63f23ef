"""Attention under test (issue #13): what runs for which model, and the diagnostics jobs.

The experiments of the attention debate (:mod:`explanations.compute.diagnostics`) run as
a sharded job of kind ``diagnose``, in-process or on Celery like explanation and score
jobs (:mod:`explanations.services.jobs`); the shard body is
:mod:`explanations.jobs.diagnose`. Each instance's figures are a :class:`Diagnostic`
row per experiment, with every parameter they were computed with.

This module imports no compute code (no torch): the web tier plans and enqueues jobs
through it. What each model kind supports, and why not, is therefore stated here as
text; a test checks it against the compute core's own statements
(``TRANSFORMER_SKIPPED``, ``HUGGINGFACE_SKIPPED``).
"""

from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth.models import User

from explanations.compute.attention_debate import (
    HUGGINGFACE_SKIPPED,
    TRANSFORMER_SKIPPED,
    huggingface_skipped,
)
from explanations.io.limits import finite
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
    # Wiegreffe & Pinter's tests train models the way the model under test was trained
    # (its config, data, held-out split and seed); only what each test varies is set here.
    "uniform": {},
    "seed_variance": {"seeds": 8},
    "diagnostic_mlp": {"embeddings": "initial"},
    # W&P's protocol: up to 80 epochs, stopped after 10 without a lower training loss.
    "model_adversary": {
        "lambdas": [0.0001, 0.001, 0.01, 0.1, 1.0],
        # the spread of held-out F1 across seeds on the demo BiLSTM was 0.854 to 0.908: a
        # tighter bound than seed noise kept no adversary at all
        "kept_f1_drop": 0.05,
        "epochs": 80,
        "patience": 10,
    },
}
TRAINING_EXPERIMENTS: tuple[str, ...] = (
    "uniform",
    "seed_variance",
    "diagnostic_mlp",
    "model_adversary",
)
"""Wiegreffe & Pinter's tests: each trains models, one shard per model (a unit)."""
CORRELATION_DEFINITIONS: tuple[str, ...] = ("jain_wallace", "platform")
# How the diagnostic MLP's embeddings start (the compute core's EMBEDDING_STARTS).
MLP_EMBEDDINGS: tuple[str, ...] = ("initial", "trained")

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
        "instance whose decision never flips is its own category. For a transformer or an "
        "imported Hugging Face model the weights are the last layer's first-token row in "
        "every head; an imported model's word is zeroed with all its subword pieces, its "
        "weight is the sum of theirs (mean over heads), special tokens are never zeroed, and "
        "words past its maximum length are left out (seen_words of words)."
    ),
    "uniform": (
        "Wiegreffe & Pinter 2019 (3.1): the same architecture trained the same way (config, "
        "data, held-out split, seed) with its attention frozen to uniform over the real "
        "tokens. If it reaches the model's held-out F1, attention is not needed for the task "
        "and its weights cannot be expected to explain the predictions."
    ),
    "seed_variance": (
        "Wiegreffe & Pinter 2019 (3.2): 'seeds' models trained like the model under test with "
        "other random seeds (same held-out split). Per held-out instance: the median over "
        "seeds of the JSD between their attention and the model's, and the mean output TVD; "
        "plotted against the instance's maximum attention weight. Attention that varies "
        "across seeds with the same outputs is one of many that would do."
    ),
    "diagnostic_mlp": (
        "Wiegreffe & Pinter 2019 (3.4): a token-wise MLP (Linear + tanh, no context) over "
        "the same embeddings, pooled by its own trained attention, by uniform weights, or by "
        "the attention of the model under test imported and frozen. Held-out F1 of each: "
        "imported weights that beat uniform ones carry information about the task."
    ),
    "model_adversary": (
        "Wiegreffe & Pinter 2019 (4): a model trained to keep the outputs of the model under "
        "test while its attention differs most, loss TVD(y_adv, y) - lambda KL(a_adv || a), "
        "for each lambda in 'lambdas'. Reported per lambda: held-out F1, mean output TVD and "
        "mean attention JSD against the model. The attention of the adversary with the "
        "largest mean JSD whose F1 is within 'kept_f1_drop' of the model's is stored as an "
        "explanation of method adversary_attention."
    ),
}


_NOT_BUILT_HERE = (
    "the diagnostics rerun the layers after attention with other weights, which needs a "
    "model built here (bilstm_attention or transformer)"
)


# The compute core names the adversarial experiment after its method.
_SKIP_KEY = {"adversarial": "adversarial_attention"}


def diagnostics_skipped(architecture: str, model_type: str | None = None) -> dict[str, str]:
    """Return what is not run for models of ``architecture``, each with the reason.

    Keys are experiments, or parts of one (``jain_wallace_gradient`` of the correlation,
    ``zeroing_gradient_orders`` of the zeroing), as the compute core names them.
    ``model_type``: an imported Hugging Face model's family (its card's ``model_type``);
    the zeroing is refused, with why, for a family it is not built for.
    """
    if architecture == ClassifierModel.Architecture.BILSTM_ATTENTION:
        return {}
    if architecture == ClassifierModel.Architecture.TRANSFORMER:
        return dict(TRANSFORMER_SKIPPED)
    if architecture == ClassifierModel.Architecture.HUGGINGFACE:
        return dict(HUGGINGFACE_SKIPPED) if model_type is None else huggingface_skipped(model_type)
    reason = _NOT_BUILT_HERE
    if architecture == ClassifierModel.Architecture.EXTERNAL:
        reason = "its explanations are imported: there is no model here to intervene on"
    return {experiment: reason for experiment in EXPERIMENTS}


def model_diagnostics_skipped(model: ClassifierModel) -> dict[str, str]:
    """Return what is not run for ``model`` (its architecture and, if imported, family)."""
    return diagnostics_skipped(model.architecture, (model.config or {}).get("model_type"))


def diagnostics_supported(architecture: str, model_type: str | None = None) -> tuple[str, ...]:
    """Return the experiments run (wholly or in part) for models of ``architecture``."""
    skipped = diagnostics_skipped(architecture, model_type)
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
    if "diagnostic_mlp" in resolved:
        start = resolved["diagnostic_mlp"]["embeddings"]
        if start not in MLP_EMBEDDINGS:
            raise ValueError(
                f"parameters.diagnostic_mlp.embeddings: expected one of "
                f"{', '.join(MLP_EMBEDDINGS)}, got {start!r}"
            )
    minimum = {"permutations": 1, "candidates": 1, "seeds": 1, "epochs": 1, "patience": 1}
    # Bounds on a job's work (each seed, each epoch is a model trained; each permutation,
    # candidate and step a pass over every instance) and on what a random generator takes.
    maximum = {
        "seeds": 32,
        "epochs": 500,
        "patience": 500,
        "permutations": 10_000,
        "candidates": 100,
        "steps": 10_000,
        "seed": 2**32 - 1,
    }
    for experiment, values in resolved.items():
        for name, value in values.items():
            numbers = value if isinstance(value, list) else [value]
            for number in numbers:
                if isinstance(number, bool) or not isinstance(number, int | float):
                    continue
                floor = minimum.get(name, 0)
                if number < floor:
                    raise ValueError(
                        f"parameters.{experiment}.{name}: expected at least {floor}, got {number}"
                    )
                if name in maximum and number > maximum[name]:
                    raise ValueError(
                        f"parameters.{experiment}.{name}: expected at most {maximum[name]}, "
                        f"got {number}"
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
    if isinstance(default, list):
        if (
            not isinstance(value, list)
            or not value
            or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value)
        ):
            raise ValueError(f"{field}: expected a non-empty list of numbers, got {value!r}")
        if not all(finite(v) for v in value):
            raise ValueError(f"{field}: expected finite numbers, got {value!r}")
        return sorted({float(v) for v in value})
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{field}: expected a number, got {value!r}")
        if not finite(value):
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
    model_type = (model.config or {}).get("model_type")
    supported = diagnostics_supported(model.architecture, model_type)
    skipped = model_diagnostics_skipped(model)
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
    training = [e for e in chosen if e in TRAINING_EXPERIMENTS]
    reason = retraining_refused(model=model, dataset=dataset) if training else None
    if reason is not None:
        if experiments:
            raise ValueError(f"experiments: {', '.join(training)}: {reason}")
        # Asked for everything: the tests that cannot retrain the model are skipped, with why.
        chosen = [e for e in chosen if e not in TRAINING_EXPERIMENTS]
        skipped = {**skipped, **dict.fromkeys(training, reason)}
        training = []
    resolved = diagnostics_parameters(experiments=chosen, overrides=parameters)
    per_instance = [e for e in chosen if e not in TRAINING_EXPERIMENTS]
    field = "tokens_b" if dataset.is_pair else "tokens"
    ids = (
        [
            pk
            for pk, tokens in sorted(
                dataset.instances.values_list("pk", field), key=lambda row: (len(row[1]), row[0])
            )
        ]
        if per_instance
        else []
    )
    held_out = model.held_out_instance_ids or []
    return job_create(
        kind=Job.Kind.DIAGNOSE,
        model=model,
        dataset=dataset,
        instance_ids=ids,
        units=[(unit, held_out) for unit in training_units(resolved)],
        created_by=created_by,
        parameters={"experiments": chosen, "parameters": resolved, "skipped": skipped},
    )


def retraining_refused(*, model: ClassifierModel, dataset: Dataset) -> str | None:
    """Return why Wiegreffe & Pinter's tests cannot retrain ``model`` on ``dataset``, or None.

    They train models the way the model under test was trained and compare them on the
    instances it never trained on: the model must have been trained here on this dataset,
    with its seed and held-out instances recorded.
    """
    if model.dataset_id != dataset.pk:
        return (
            f"model {model.name} was not trained on dataset {dataset.name}; the tests retrain "
            "it on its own training data"
        )
    if model.seed is None or not model.held_out_instance_ids:
        return (
            f"model {model.name} does not record its seed and held-out instances (trained "
            "before they were recorded); retrain it with train_model"
        )
    if model.config.get("attention") == "uniform":
        return f"model {model.name} has uniform attention already: there is no attention to test"
    return None


def training_units(parameters: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Return the models the chosen training experiments train, one unit (shard) each.

    ``uniform:0``, ``seed_variance:1`` .. ``seed_variance:N`` (the seed offset from the
    model's), ``diagnostic_mlp:0`` (its three variants), ``model_adversary:k`` (the k-th
    lambda of the sorted grid).
    """
    units: list[str] = []
    for experiment in TRAINING_EXPERIMENTS:
        if experiment not in parameters:
            continue
        if experiment == "seed_variance":
            count = int(parameters[experiment]["seeds"])
            units += [f"{experiment}:{k}" for k in range(1, count + 1)]
        elif experiment == "model_adversary":
            count = len(parameters[experiment]["lambdas"])
            units += [f"{experiment}:{k}" for k in range(count)]
        else:
            units.append(f"{experiment}:0")
    return units


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
