"""Explanation order and the rank correlations used by the faithfulness metrics.

The correlations are written out here (rather than imported from scipy) so the
tests can check them against scipy as an independent reference.
"""

from collections.abc import Sequence

import numpy as np

_PAIR_BLOCK = 1024  # rows of the pairwise sign matrix built at once (bounds memory)


def as_scores(scores: Sequence[float] | np.ndarray, length: int, *, label: str) -> np.ndarray:
    """Return ``scores`` as ``length`` finite float64 values, or raise naming ``label``."""
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim != 1 or array.shape[0] != length:
        raise ValueError(
            f"{label}: expected {length} scores (one per token), got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{label}: scores must be finite (found NaN or infinity)")
    return array


def explanation_order(scores: np.ndarray) -> np.ndarray:
    """Return token positions from most to least important.

    Importance is the signed score, highest first (ERASER's convention: a negative
    score is evidence against the explained class). Ties keep position order, so
    the order is deterministic: ``argsort(-scores)`` with a stable sort.
    """
    return np.argsort(-scores, kind="stable")


def kendall_tau_b(x: np.ndarray, y: np.ndarray) -> float | None:
    """Return Kendall's tau-b of two equally long vectors, or None when undefined.

    tau_b = (n_c - n_d) / sqrt((n_0 - n_1) (n_0 - n_2)), with n_c - n_d the sum over
    pairs i < j of sign(x_i - x_j) sign(y_i - y_j), n_0 = n (n - 1) / 2, and n_1, n_2
    the pairs tied in x and in y (Kendall 1945; scipy.stats.kendalltau's default).
    Undefined (None) when fewer than two values or when x or y is constant.
    O(n^2) time, O(n * 1024) memory.
    """
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"kendall_tau_b: lengths differ ({n} and {y.shape[0]})")
    if n < 2:
        return None
    n0 = n * (n - 1) // 2
    n1 = _tied_pairs(x)
    n2 = _tied_pairs(y)
    if n1 == n0 or n2 == n0:
        return None
    concordance = 0
    for start in range(0, n, _PAIR_BLOCK):
        stop = min(start + _PAIR_BLOCK, n)
        sx = np.sign(x[start:stop, None] - x[None, :]).astype(np.int8)
        sy = np.sign(y[start:stop, None] - y[None, :]).astype(np.int8)
        concordance += int(np.einsum("ij,ij->", sx, sy, dtype=np.int64))
    # Every pair was counted twice (i, j) and (j, i), with the same sign product.
    tau = (concordance // 2) / np.sqrt(float(n0 - n1) * float(n0 - n2))
    return float(np.clip(tau, -1.0, 1.0))


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Return 1-based ranks of ``x``, tied values sharing their mean rank."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.flatnonzero(np.r_[True, sorted_x[1:] != sorted_x[:-1]])
    ends = np.r_[starts[1:], x.shape[0]]
    mean_rank = (starts + ends + 1) / 2.0  # mean of the 1-based ranks starts+1 .. ends
    ranks = np.empty(x.shape[0], dtype=np.float64)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def spearman_rho(x: np.ndarray, y: np.ndarray) -> float | None:
    """Return Spearman's rho (Pearson correlation of average ranks), or None when undefined.

    rho = cov(r_x, r_y) / (sd(r_x) sd(r_y)) with r the average ranks (Spearman 1904;
    scipy.stats.spearmanr). Undefined (None) when fewer than two values or when x or
    y is constant.
    """
    n = x.shape[0]
    if y.shape[0] != n:
        raise ValueError(f"spearman_rho: lengths differ ({n} and {y.shape[0]})")
    if n < 2:
        return None
    rx = average_ranks(x)
    ry = average_ranks(y)
    rx -= rx.mean()
    ry -= ry.mean()
    denominator = np.sqrt(float(rx @ rx) * float(ry @ ry))
    if denominator == 0.0:
        return None
    return float(np.clip(float(rx @ ry) / denominator, -1.0, 1.0))


def _tied_pairs(x: np.ndarray) -> int:
    """Return the number of pairs i < j with x_i == x_j."""
    _, counts = np.unique(x, return_counts=True)
    return int(np.sum(counts * (counts - 1) // 2))


def undefined_correlation_reason(x: np.ndarray, y: np.ndarray, *, x_name: str, y_name: str) -> str:
    """Return why a rank correlation of ``x`` and ``y`` is undefined (for a None value)."""
    if x.shape[0] < 2:
        return "fewer than two tokens: a rank correlation needs at least two"
    if np.all(x == x[0]):
        return f"the {x_name} are all equal, so they rank nothing"
    if np.all(y == y[0]):
        return f"the {y_name} are all equal, so they rank nothing"
    return "undefined"
