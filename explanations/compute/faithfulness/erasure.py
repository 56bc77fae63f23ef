"""Comprehensiveness, sufficiency and their AOPC (ERASER; DeYoung et al. 2020).

For an instance x of n tokens, the model's probability p_c of the explained class c
(by default the predicted class), and a bin t (a fraction of the tokens), let r_t be
the k = ceil(t * n) tokens ranked highest by the explanation (ties by position):

* comprehensiveness@t = p_c(x) - p_c(x without r_t): how much the prediction loses
  when the explanation's top tokens are deleted (higher = more faithful);
* sufficiency@t = p_c(x) - p_c(r_t alone, in their original order): how much it
  loses when only those tokens are kept (lower = more faithful);
* the AOPC of each is the mean over the bins, as ERASER's ``_instances_aopc``
  (a bin whose k repeats another bin's is still counted, as in ERASER).

The default bins are ERASER's {1, 5, 10, 20, 50}%.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explanations.compute.faithfulness.variants import VariantPool
from explanations.compute.score_names import (
    COMPREHENSIVENESS,
    COMPREHENSIVENESS_AOPC,
    SUFFICIENCY,
    SUFFICIENCY_AOPC,
    bin_metric,
)

DEFAULT_BINS: tuple[float, ...] = (0.01, 0.05, 0.10, 0.20, 0.50)


def check_bins(bins: Sequence[float]) -> tuple[float, ...]:
    """Return ``bins`` as a tuple after checking each is a distinct fraction in (0, 1]."""
    checked = tuple(float(t) for t in bins)
    if not checked:
        raise ValueError("bins: give at least one fraction of tokens, e.g. 0.05 for 5%")
    for t in checked:
        if not 0.0 < t <= 1.0:
            raise ValueError(f"bins: {t} is not a fraction of tokens in (0, 1]")
    if len({bin_metric(COMPREHENSIVENESS, t) for t in checked}) != len(checked):
        raise ValueError(f"bins: {checked} repeats a bin")
    return checked


def erasure_size(length: int, fraction: float) -> int:
    """Return k = ceil(fraction * length), the number of tokens a bin deletes or keeps.

    The product is rounded to 9 decimals first so that binary floating point does
    not turn 0.1 * 30 = 3.0000000000000004 into 4.
    """
    return min(length, math.ceil(round(fraction * length, 9)))


def deletion_kept(order: np.ndarray, k: int) -> np.ndarray:
    """Return the positions left after deleting the first ``k`` of ``order``, in text order."""
    return np.sort(order[k:])


def selection_kept(order: np.ndarray, k: int) -> np.ndarray:
    """Return the first ``k`` positions of ``order``, in text order."""
    return np.sort(order[:k])


@dataclass(frozen=True)
class ErasurePlan:
    """Result rows of one instance's erasure variants, one per bin."""

    comprehensiveness_rows: tuple[int, ...] | None
    sufficiency_rows: tuple[int, ...] | None


def plan_erasure(
    pool: VariantPool,
    instance: int,
    order: np.ndarray,
    bins: Sequence[float],
    *,
    comprehensiveness: bool = True,
    sufficiency: bool = True,
) -> ErasurePlan:
    """Add the deletion (comprehensiveness) and selection (sufficiency) variants of every bin."""
    n = order.shape[0]
    sizes = [erasure_size(n, t) for t in bins]
    return ErasurePlan(
        comprehensiveness_rows=(
            tuple(pool.add(instance, deletion_kept(order, k)) for k in sizes)
            if comprehensiveness
            else None
        ),
        sufficiency_rows=(
            tuple(pool.add(instance, selection_kept(order, k)) for k in sizes)
            if sufficiency
            else None
        ),
    )


def erasure_values(
    plan: ErasurePlan,
    bins: Sequence[float],
    probs: np.ndarray,
    base_probability: float,
    target: int,
) -> dict[str, float | None]:
    """Return comprehensiveness and sufficiency per bin and their AOPC (those planned).

    ``probs`` are the pool's probabilities and ``base_probability`` is p_c(x).
    """
    values: dict[str, float | None] = {}
    for family, aopc_name, rows in (
        (COMPREHENSIVENESS, COMPREHENSIVENESS_AOPC, plan.comprehensiveness_rows),
        (SUFFICIENCY, SUFFICIENCY_AOPC, plan.sufficiency_rows),
    ):
        if rows is None:
            continue
        differences = [base_probability - float(probs[row, target]) for row in rows]
        for t, difference in zip(bins, differences, strict=True):
            values[bin_metric(family, t)] = difference
        values[aopc_name] = aopc(differences)
    return values


def aopc(differences: Sequence[float]) -> float:
    """Return the area over the perturbation curve: the mean of the per-bin differences."""
    return float(np.mean(differences))
