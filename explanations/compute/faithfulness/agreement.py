"""Agreement between two methods' explanations of the same prediction.

Both measures compare importance magnitudes, so each explanation is first turned
into its absolute scores (a gradient norm has no sign, gradient x input has one);
for the divergence they are also normalised to sum to one:
p_i = |a_i| / sum_j |a_j|.

* tau: Kendall's tau-b between |a| and |b| (normalising does not change ranks);
  +1 = same ranking (Jain & Wallace 2019 compare methods the same way).
* jsd: Jensen-Shannon divergence with natural logarithms,
  JSD(p, q) = KL(p || m) / 2 + KL(q || m) / 2 with m = (p + q) / 2, in [0, ln 2];
  0 = identical distributions (Lin 1991). It is the square of scipy's
  ``jensenshannon`` distance.
"""

import numpy as np

from explanations.compute.faithfulness.ranking import kendall_tau_b

ALL_ZERO = "an explanation's scores are all zero, so it is no distribution over tokens"


def absolute_distribution(scores: np.ndarray) -> np.ndarray | None:
    """Return |scores| / sum |scores|, or None when every score is zero."""
    magnitudes = np.abs(scores)
    total = float(magnitudes.sum())
    if total == 0.0:
        return None
    return magnitudes / total


def jensen_shannon_divergence(p: np.ndarray, q: np.ndarray) -> float:
    """Return JSD(p, q) in nats for two probability vectors (0 log 0 = 0)."""
    m = (p + q) / 2.0
    return float(max(0.0, (_kl(p, m) + _kl(q, m)) / 2.0))


def rank_agreement(a: np.ndarray, b: np.ndarray) -> float | None:
    """Return Kendall's tau-b between |a| and |b|, None if either is constant or n < 2."""
    return kendall_tau_b(np.abs(a), np.abs(b))


def _kl(p: np.ndarray, m: np.ndarray) -> float:
    """Return KL(p || m) in nats, skipping the terms where p_i = 0."""
    support = p > 0  # m_i >= p_i / 2 > 0 there
    return float(np.sum(p[support] * np.log(p[support] / m[support])))
