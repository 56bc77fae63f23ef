"""Decision flip: the fraction of tokens deleted before the prediction changes.

Delete tokens one at a time in explanation order (highest score first, ties by
position); the metric is k / n for the first k at which the model's predicted class
(argmax of the probabilities, first class on ties) differs from its prediction on
the whole instance (Serrano & Smith 2019, "fraction of items removed before the
decision flips"; Nguyen 2018). Lower is more faithful: the explanation found the
tokens the decision rests on. Deleting every token (k = n) is the last step; if
even that does not change the prediction the value is undefined (None).
"""

import numpy as np

from explanations.compute.faithfulness.erasure import deletion_kept
from explanations.compute.faithfulness.variants import VariantPool

NEVER_FLIPS = "the prediction never changed, even with every token deleted"


def plan_decision_flip(pool: VariantPool, instance: int, order: np.ndarray) -> np.ndarray:
    """Add the deletion of the top k tokens, for k = 1..n, to ``pool``; return the rows."""
    return np.array(
        [pool.add(instance, deletion_kept(order, k)) for k in range(1, order.shape[0] + 1)],
        dtype=np.int64,
    )


def flip_fraction(predicted: int, prefix_probs: np.ndarray) -> float | None:
    """Return k / n for the first k whose prediction differs from ``predicted``, else None.

    Row k - 1 of ``prefix_probs`` holds the probabilities after deleting the top k
    tokens, so n is the number of rows.
    """
    n = prefix_probs.shape[0]
    changed = np.flatnonzero(np.argmax(prefix_probs, axis=1) != predicted)
    if changed.size == 0:
        return None
    return float(changed[0] + 1) / n
