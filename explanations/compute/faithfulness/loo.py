"""Agreement of an explanation with leave-one-out erasure (tau_loo).

Leave-one-out (omission) importance of token i is loo_i = p_c(x) - p_c(x without
token i), in probability space like every erasure measure here. tau_loo is Kendall's
tau-b between the explanation's scores and loo (Jain & Wallace 2019, section 4.1;
ferret's ``taucorr_loo``, which computes the same signed difference and uses
scipy's tau-b). It is +1 when the explanation ranks tokens exactly as their
individual deletion effects do. The leave-one-out deletions depend only on the
instance, so one set serves every method.
"""

import numpy as np

from explanations.compute.faithfulness.variants import VariantPool


def plan_leave_one_out(pool: VariantPool, instance: int) -> np.ndarray:
    """Add the n single-token deletions of ``instance`` to ``pool``; return the rows."""
    n = pool.length(instance)
    positions = np.arange(n)
    return np.array([pool.add(instance, np.delete(positions, i)) for i in range(n)], dtype=np.int64)


def leave_one_out_scores(base_probability: float, loo_probs: np.ndarray, target: int) -> np.ndarray:
    """Return loo_i = p_c(x) - p_c(x without token i) from the ``[n, C]`` deletion probabilities."""
    return base_probability - loo_probs[:, target]
