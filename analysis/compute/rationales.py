"""Human rationales: how much annotators agree.

Agreement among annotators (DeYoung et al. 2020, ERASER, report it for every
dataset):

* Krippendorff's alpha over token selections: a unit is one token of one instance,
  a rater is an annotator, the value is 1 if the token is selected and 0 if not
  (nominal); soft rationales (scores per token) use the interval metric. See
  :mod:`analysis.compute.agreement`;
* mean pairwise token F1 between annotators: for two selections ``A`` and ``B`` of
  one instance, ``F1 = 2 |A & B| / (|A| + |B|)`` (undefined when both are empty);
  averaged over pairs within an instance, then over instances. It is the ceiling a
  method's token F1 against one annotator can be read against.

How each method scores against the human rationales (token F1, IOU, AUPRC) is
computed per explanation in ``explanations.compute``, not here.
"""

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from analysis.compute.agreement import AlphaResult, krippendorff_alpha_long
from analysis.compute.arrays import (
    BoolArray,
    FloatArray,
    IntArray,
    float_array,
    index_array,
    same_length,
)
from analysis.compute.bootstrap import (
    Estimate,
    check_resampling,
    clustering_problem,
    estimate_with_ci,
    ratio_or_nan,
    resampled_column_sums,
)
from analysis.compute.result import Record, finite_or_none


@dataclass(frozen=True)
class RationaleSet:
    """Human rationales: ``selections[r]`` is annotator ``annotator[r]``'s rationale on
    instance ``instance[r]``, one value per token (bool selection, or a soft score).

    Every rationale of one instance must cover the same number of tokens.
    """

    annotator: IntArray
    instance: IntArray
    selections: tuple[FloatArray, ...]
    binary: bool = field(init=False)

    def __post_init__(self) -> None:
        """Check lengths and token counts; note whether all selections are 0/1."""
        annotator = index_array("annotator", self.annotator)
        instance = index_array("instance", self.instance)
        selections = tuple(
            float_array(f"selections[{r}]", values) for r, values in enumerate(self.selections)
        )
        same_length(annotator=annotator, instance=instance, selections=np.empty(len(selections)))
        lengths: dict[int, int] = {}
        seen: set[tuple[int, int]] = set()
        for r, (who, where) in enumerate(zip(annotator.tolist(), instance.tolist(), strict=True)):
            expected = lengths.setdefault(where, selections[r].size)
            if selections[r].size != expected:
                raise ValueError(
                    f"selections[{r}]: instance {where} has {expected} tokens in another "
                    f"rationale but {selections[r].size} here"
                )
            if (who, where) in seen:
                raise ValueError(f"selections[{r}]: annotator {who} has two rationales on {where}")
            seen.add((who, where))
        binary = all(np.all((s == 0) | (s == 1)) for s in selections)
        for name, value in (
            ("annotator", annotator),
            ("instance", instance),
            ("selections", selections),
            ("binary", binary),
        ):
            object.__setattr__(self, name, value)


@dataclass(frozen=True)
class RationaleAgreement(Record):
    """Agreement among human rationales."""

    alpha: AlphaResult
    mean_pairwise_f1: Estimate
    n_annotators: int
    n_instances: int
    n_rationales: int
    n_pairs: int
    n_pairs_both_empty: int


def rationale_agreement(
    rationales: RationaleSet,
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    interval: str = "percentile",
    seed: int = 0,
) -> RationaleAgreement:
    """Return alpha over token selections and the mean pairwise token F1 of annotators.

    Alpha is nominal for 0/1 selections and interval for soft scores (Krippendorff
    2011). F1 and the instance-bootstrap interval as in the module docstring; F1
    needs 0/1 selections.
    """
    check_resampling("item", n_resamples, level, interval)
    instances = np.unique(rationales.instance)
    offsets: dict[int, int] = {}
    total = 0
    for r, where in enumerate(rationales.instance.tolist()):
        if where not in offsets:
            offsets[where] = total
            total += rationales.selections[r].size
    units = np.concatenate(
        [
            offsets[where] + np.arange(rationales.selections[r].size)
            for r, where in enumerate(rationales.instance.tolist())
        ]
        or [np.zeros(0, dtype=np.int64)]
    )
    values = np.concatenate(list(rationales.selections) or [np.zeros(0)])
    alpha = krippendorff_alpha_long(units, values, "nominal" if rationales.binary else "interval")
    per_instance, n_pairs, n_empty = _pairwise_f1(rationales, instances)
    defined = np.isfinite(per_instance)
    if not rationales.binary:
        f1 = Estimate(value=None, ci=None, reason="token F1 needs 0/1 selections; these are soft")
    else:
        f1 = _mean_over_items(
            per_instance[defined],
            n_resamples=n_resamples,
            level=level,
            interval=interval,
            seed=seed,
            empty_reason="no instance has two annotators with a non-empty selection",
        )
    return RationaleAgreement(
        alpha=alpha,
        mean_pairwise_f1=f1,
        n_annotators=int(np.unique(rationales.annotator).size),
        n_instances=int(instances.size),
        n_rationales=len(rationales.selections),
        n_pairs=n_pairs,
        n_pairs_both_empty=n_empty,
    )


def _pairwise_f1(rationales: RationaleSet, instances: IntArray) -> tuple[FloatArray, int, int]:
    """Return each instance's mean pairwise F1 (NaN if none defined), pairs, empty pairs."""
    by_instance: dict[int, list[BoolArray]] = {int(i): [] for i in instances}
    for r, where in enumerate(rationales.instance.tolist()):
        by_instance[where].append(rationales.selections[r] > 0)
    means = np.full(instances.size, np.nan)
    n_pairs = n_empty = 0
    for j, where in enumerate(instances.tolist()):
        scores = []
        for a, b in combinations(by_instance[where], 2):
            n_pairs += 1
            size = a.sum() + b.sum()
            if size == 0:
                n_empty += 1
                continue
            scores.append(2.0 * float((a & b).sum()) / float(size))
        if scores:
            means[j] = float(np.mean(scores))
    return means, n_pairs, n_empty


def _mean_over_items(
    values: FloatArray,
    *,
    n_resamples: int,
    level: float,
    interval: str,
    seed: int,
    empty_reason: str,
) -> Estimate:
    """Return the mean of per-item ``values`` with an item-bootstrap interval."""
    if values.size == 0:
        return Estimate(value=None, ci=None, reason=empty_reason)
    n = values.size
    problem = clustering_problem(
        "item", n_participants=1, n_items=n, n_answers=n, n_resamples=n_resamples
    )
    samples = None
    if problem is None:
        sums = resampled_column_sums(
            np.zeros(n, dtype=np.int64),
            np.arange(n),
            np.column_stack([values, np.ones(n)]),
            n_participants=1,
            n_items=n,
            n_resamples=n_resamples,
            resampling="item",
            seed=seed,
        )
        samples = ratio_or_nan(sums[:, 0], sums[:, 1])
    return estimate_with_ci(
        finite_or_none(values.mean()),
        samples,
        problem=problem,
        level=level,
        resampling="item",
        interval=interval,
        seed=seed,
    )
