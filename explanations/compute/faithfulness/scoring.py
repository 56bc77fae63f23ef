"""Faithfulness scores of a batch of explanations, from one shared pass of erasure variants.

:func:`faithfulness_scores` takes a batch of instances and, for each explanation
method, one score vector per instance. It builds every erasure variant the requested
metrics need (each bin of comprehensiveness and sufficiency, each decision-flip
prefix, each leave-one-out deletion) for every instance and method, drops duplicates,
and sends them through one call of the probability function, so variants of many
instances share the model's batches. The metrics that need no model (agreement
between methods, the randomisation check) are computed from the scores alone.
Formulas are in the modules named after each metric.
"""

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from explanations.compute.faithfulness.agreement import (
    ALL_ZERO,
    absolute_distribution,
    jensen_shannon_divergence,
    rank_agreement,
)
from explanations.compute.faithfulness.decision_flip import (
    NEVER_FLIPS,
    flip_fraction,
    plan_decision_flip,
)
from explanations.compute.faithfulness.erasure import (
    DEFAULT_BINS,
    ErasurePlan,
    check_bins,
    erasure_values,
    plan_erasure,
)
from explanations.compute.faithfulness.loo import leave_one_out_scores, plan_leave_one_out
from explanations.compute.faithfulness.ranking import (
    as_scores,
    explanation_order,
    kendall_tau_b,
    undefined_correlation_reason,
)
from explanations.compute.faithfulness.sanity import compared_scores, randomization_spearman
from explanations.compute.faithfulness.variants import ProbabilityFn, VariantPool
from explanations.compute.score_names import (
    AGREEMENT_JSD,
    AGREEMENT_TAU,
    COMPREHENSIVENESS,
    COMPREHENSIVENESS_AOPC,
    DECISION_FLIP,
    RANDOMIZATION_SPEARMAN,
    SUFFICIENCY,
    SUFFICIENCY_AOPC,
    TAU_LOO,
    bin_metric,
    paired_metric,
)

MODEL_METRICS: tuple[str, ...] = (COMPREHENSIVENESS, SUFFICIENCY, DECISION_FLIP, TAU_LOO)
"""Metric families computed by running the model on erasure variants."""

SCORE_METRICS: tuple[str, ...] = (AGREEMENT_TAU, AGREEMENT_JSD, RANDOMIZATION_SPEARMAN)
"""Metric families computed from explanation scores alone."""

EMPTY = "the instance has no tokens"


@dataclass
class MetricScores:
    """Scores of one explanation: a float per metric, or None and ``reasons[metric]`` says why."""

    values: dict[str, float | None] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)

    def set(self, metric: str, value: float | None, reason: str = "") -> None:
        """Record ``value`` for ``metric``; a None value needs its ``reason``."""
        self.values[metric] = value
        if value is None:
            self.reasons[metric] = reason or "undefined"


@dataclass
class _Planned:
    """Rows of one explanation's variants in the pool."""

    erasure: ErasurePlan | None = None
    flip_rows: np.ndarray | None = None


def faithfulness_scores(
    probability_fn: ProbabilityFn,
    seqs: Sequence[Sequence[int]],
    explanations: Mapping[str, Sequence[Sequence[float] | np.ndarray]],
    contexts: Sequence[Sequence[int]] | None = None,
    *,
    metrics: Collection[str] = MODEL_METRICS + (AGREEMENT_TAU, AGREEMENT_JSD),
    bins: Sequence[float] = DEFAULT_BINS,
    base_probs: np.ndarray | None = None,
    targets: Sequence[int] | None = None,
    leave_one_out: Sequence[Sequence[float] | np.ndarray] | None = None,
    randomized: Mapping[str, Sequence[Sequence[float] | np.ndarray]] | None = None,
    randomization_absolute: bool = False,
    chunk_size: int | None = None,
) -> dict[str, list[MetricScores]]:
    """Return ``{method: [MetricScores per instance]}`` for a batch of explained instances.

    ``seqs[i]`` are the token ids of the explained text of instance i (for pair tasks
    ``contexts[i]`` is the first text, never erased); ``explanations[method][i]`` has
    one score per token of ``seqs[i]``. ``base_probs`` ([N, C], the model's
    probabilities on the whole instances) are computed in the same pass when not
    given. ``targets`` default to the predicted class argmax(base_probs); decision
    flip always refers to the predicted class. ``leave_one_out[i]``, when given, are
    instance i's leave-one-out scores p_c(x) - p_c(x without token i) for the same
    class, such as the stored ``omission`` explanation: tau_loo then needs no model
    call. ``metrics`` selects families among :data:`MODEL_METRICS` and
    :data:`SCORE_METRICS`; ``randomization_spearman`` needs ``randomized[method][i]``,
    the same method's scores on the re-initialised model.

    Metric names in the result: ``comprehensiveness@<percent>``,
    ``comprehensiveness_aopc``, the same for ``sufficiency``, ``decision_flip``,
    ``tau_loo``, ``agreement_tau:<other method>``, ``agreement_jsd:<other method>``,
    ``randomization_spearman``.
    """
    wanted = set(metrics)
    unknown = wanted - set(MODEL_METRICS) - set(SCORE_METRICS)
    if unknown:
        raise ValueError(
            f"metrics: unknown {sorted(unknown)}; choose from {list(MODEL_METRICS + SCORE_METRICS)}"
        )
    if RANDOMIZATION_SPEARMAN in wanted and randomized is None:
        raise ValueError("metrics: randomization_spearman needs the `randomized` explanations")
    checked_bins = check_bins(bins)
    count = len(seqs)
    lengths = [len(seq) for seq in seqs]
    given_base = None if base_probs is None else _checked_base(base_probs, count)
    given_targets = None if targets is None else _checked_targets(targets, count, given_base)
    scores = {
        method: _checked_explanations(f"explanations[{method!r}]", lists, lengths)
        for method, lists in explanations.items()
    }
    given_loo = (
        None
        if leave_one_out is None
        else _checked_explanations("leave_one_out", leave_one_out, lengths)
    )
    model_families = wanted & set(MODEL_METRICS)
    if given_loo is not None:
        model_families.discard(TAU_LOO)
    results: dict[str, list[MetricScores]] = {
        method: [MetricScores() for _ in range(count)] for method in scores
    }

    if model_families and count:
        _model_pass(
            probability_fn,
            VariantPool(seqs, contexts),
            scores,
            results,
            families=model_families,
            bins=checked_bins,
            given_base=given_base,
            given_targets=given_targets,
            chunk_size=chunk_size,
        )

    if given_loo is not None and TAU_LOO in wanted:
        for method, vectors in scores.items():
            for i, result in enumerate(results[method]):
                _set_tau_loo(result, vectors[i], given_loo[i])

    if wanted & {AGREEMENT_TAU, AGREEMENT_JSD}:
        _agreement(results, scores, wanted)
    if RANDOMIZATION_SPEARMAN in wanted and randomized is not None:
        _randomization(results, scores, randomized, lengths, absolute=randomization_absolute)
    return results


def _model_pass(
    probability_fn: ProbabilityFn,
    pool: VariantPool,
    scores: Mapping[str, list[np.ndarray]],
    results: dict[str, list[MetricScores]],
    *,
    families: set[str],
    bins: Sequence[float],
    given_base: np.ndarray | None,
    given_targets: np.ndarray | None,
    chunk_size: int | None,
) -> None:
    """Plan every variant the model metrics need, run them in one pass, record the metrics."""
    count = pool.instances
    lengths = [pool.length(i) for i in range(count)]
    base_rows = (
        [pool.add(i, np.arange(lengths[i])) for i in range(count)] if given_base is None else None
    )
    loo_rows = [plan_leave_one_out(pool, i) for i in range(count)] if TAU_LOO in families else None
    planned = {
        method: [_plan(pool, i, vectors[i], bins, families) for i in range(count)]
        for method, vectors in scores.items()
    }
    probs = pool.evaluate(probability_fn, chunk_size=chunk_size)
    base = probs[np.asarray(base_rows)] if base_rows is not None else given_base
    assert base is not None  # either given or computed with the variants
    if len(pool) and probs.shape[1] != base.shape[1]:
        raise ValueError(
            f"base_probs has {base.shape[1]} classes, the probability function {probs.shape[1]}"
        )
    predicted = np.argmax(base, axis=1)
    target = predicted if given_targets is None else given_targets
    if np.any(target >= base.shape[1]):
        raise ValueError(f"targets: every class must be in 0..{base.shape[1] - 1}")
    for method, vectors in scores.items():
        for i, result in enumerate(results[method]):
            if lengths[i] == 0:
                _mark_empty(result, families, bins)
                continue
            base_probability = float(base[i, target[i]])
            _model_metrics(
                result,
                planned[method][i],
                probs,
                base_probability=base_probability,
                target=int(target[i]),
                predicted=int(predicted[i]),
                bins=bins,
            )
            if loo_rows is not None:
                loo = leave_one_out_scores(base_probability, probs[loo_rows[i]], int(target[i]))
                _set_tau_loo(result, vectors[i], loo)


def _checked_explanations(
    label: str, vectors: Sequence[Sequence[float] | np.ndarray], lengths: Sequence[int]
) -> list[np.ndarray]:
    """Return one finite score vector per instance, checked against the token counts."""
    if len(vectors) != len(lengths):
        raise ValueError(f"{label}: {len(vectors)} score vectors for {len(lengths)} instances")
    return [
        as_scores(vector, length, label=f"{label}[{i}]")
        for i, (vector, length) in enumerate(zip(vectors, lengths, strict=True))
    ]


def _plan(
    pool: VariantPool, instance: int, scores: np.ndarray, bins: Sequence[float], wanted: set[str]
) -> _Planned:
    """Add one explanation's variants to the pool."""
    order = explanation_order(scores)
    planned = _Planned()
    if order.shape[0] == 0:
        return planned
    if wanted & {COMPREHENSIVENESS, SUFFICIENCY}:
        planned.erasure = plan_erasure(
            pool,
            instance,
            order,
            bins,
            comprehensiveness=COMPREHENSIVENESS in wanted,
            sufficiency=SUFFICIENCY in wanted,
        )
    if DECISION_FLIP in wanted:
        planned.flip_rows = plan_decision_flip(pool, instance, order)
    return planned


def _checked_base(base_probs: np.ndarray, count: int) -> np.ndarray:
    """Return the given [N, C] probabilities on the whole instances after checking them."""
    base = np.asarray(base_probs, dtype=np.float64)
    if base.ndim != 2 or base.shape[0] != count or base.shape[1] < 1:
        raise ValueError(f"base_probs: expected shape ({count}, classes), got {base.shape}")
    if not np.all(np.isfinite(base)):
        raise ValueError("base_probs: probabilities must be finite")
    return base


def _checked_targets(targets: Sequence[int], count: int, base: np.ndarray | None) -> np.ndarray:
    """Return the explained classes as an array after checking what can be checked now."""
    target = np.asarray(targets, dtype=np.int64)
    if target.shape != (count,) or np.any(target < 0):
        raise ValueError(f"targets: expected {count} class indices, each at least 0")
    if base is not None and np.any(target >= base.shape[1]):
        raise ValueError(f"targets: every class must be in 0..{base.shape[1] - 1}")
    return target


def _mark_empty(result: MetricScores, families: set[str], bins: Sequence[float]) -> None:
    """Record every requested model metric of an empty instance as undefined."""
    for family, aopc_name in (
        (COMPREHENSIVENESS, COMPREHENSIVENESS_AOPC),
        (SUFFICIENCY, SUFFICIENCY_AOPC),
    ):
        if family in families:
            for t in bins:
                result.set(bin_metric(family, t), None, EMPTY)
            result.set(aopc_name, None, EMPTY)
    for name in (DECISION_FLIP, TAU_LOO):
        if name in families:
            result.set(name, None, EMPTY)


def _model_metrics(
    result: MetricScores,
    planned: _Planned,
    probs: np.ndarray,
    *,
    base_probability: float,
    target: int,
    predicted: int,
    bins: Sequence[float],
) -> None:
    """Read one explanation's erasure metrics from the pool's probabilities."""
    if planned.erasure is not None:
        for name, value in erasure_values(
            planned.erasure, bins, probs, base_probability, target
        ).items():
            result.set(name, value)
    if planned.flip_rows is not None:
        result.set(DECISION_FLIP, flip_fraction(predicted, probs[planned.flip_rows]), NEVER_FLIPS)


def _set_tau_loo(result: MetricScores, scores: np.ndarray, loo: np.ndarray) -> None:
    """Record Kendall's tau-b between an explanation and the leave-one-out scores."""
    reason = (
        EMPTY
        if scores.shape[0] == 0
        else undefined_correlation_reason(
            scores, loo, x_name="explanation scores", y_name="leave-one-out scores"
        )
    )
    result.set(TAU_LOO, kendall_tau_b(scores, loo), reason)


def _agreement(
    results: dict[str, list[MetricScores]],
    scores: Mapping[str, list[np.ndarray]],
    wanted: set[str],
) -> None:
    """Record tau and JSD between every pair of methods on every instance."""
    methods = list(scores)
    for a_index, a in enumerate(methods):
        for b in methods[a_index + 1 :]:
            for i, (x, y) in enumerate(zip(scores[a], scores[b], strict=True)):
                if AGREEMENT_TAU in wanted:
                    tau = rank_agreement(x, y)
                    reason = undefined_correlation_reason(
                        np.abs(x), np.abs(y), x_name=f"|{a}| scores", y_name=f"|{b}| scores"
                    )
                    results[a][i].set(paired_metric(AGREEMENT_TAU, b), tau, reason)
                    results[b][i].set(paired_metric(AGREEMENT_TAU, a), tau, reason)
                if AGREEMENT_JSD in wanted:
                    p, q = absolute_distribution(x), absolute_distribution(y)
                    jsd = None if p is None or q is None else jensen_shannon_divergence(p, q)
                    reason = EMPTY if x.shape[0] == 0 else ALL_ZERO
                    results[a][i].set(paired_metric(AGREEMENT_JSD, b), jsd, reason)
                    results[b][i].set(paired_metric(AGREEMENT_JSD, a), jsd, reason)


def _randomization(
    results: dict[str, list[MetricScores]],
    scores: Mapping[str, list[np.ndarray]],
    randomized: Mapping[str, Sequence[Sequence[float] | np.ndarray]],
    lengths: Sequence[int],
    *,
    absolute: bool,
) -> None:
    """Record the Spearman correlation between trained-model and random-model scores."""
    for method, vectors in scores.items():
        if method not in randomized:
            raise ValueError(
                f"randomized: no scores for method {method!r} on the re-initialised model"
            )
        random_vectors = _checked_explanations(
            f"randomized[{method!r}]", randomized[method], lengths
        )
        for i, (trained, random) in enumerate(zip(vectors, random_vectors, strict=True)):
            x, y = compared_scores(trained, random, absolute=absolute)
            results[method][i].set(
                RANDOMIZATION_SPEARMAN,
                randomization_spearman(trained, random, absolute=absolute),
                undefined_correlation_reason(
                    x, y, x_name="trained-model scores", y_name="random-model scores"
                ),
            )
