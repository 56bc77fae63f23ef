"""Model-randomisation sanity check (Adebayo et al. 2018).

An explanation that reflects what the model learned should change when the learned
weights are thrown away. The check computes the same method on the trained model and
on the same architecture with re-initialised weights and reports Spearman's rank
correlation between the two score vectors of an instance. A value near 1 is a
warning: the method's output barely depends on the weights (Adebayo et al. found
this for guided backprop). Adebayo et al. report the correlation of the signed
scores and of their absolute values; ``absolute`` picks the second.
"""

import numpy as np

from explanations.compute.faithfulness.ranking import spearman_rho


def compared_scores(
    trained: np.ndarray, randomized: np.ndarray, *, absolute: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Return the two score vectors the check correlates: as given, or their absolute values."""
    if absolute:
        return np.abs(trained), np.abs(randomized)
    return trained, randomized


def randomization_spearman(
    trained: np.ndarray, randomized: np.ndarray, *, absolute: bool = False
) -> float | None:
    """Return Spearman's rho between the scores on the trained and the re-initialised model.

    None when undefined: fewer than two tokens, or either score vector constant.
    """
    return spearman_rho(*compared_scores(trained, randomized, absolute=absolute))
