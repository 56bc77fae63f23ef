"""Faithfulness metrics: computed on the model, never by people.

* :mod:`.erasure`: comprehensiveness, sufficiency and their AOPC (ERASER);
* :mod:`.decision_flip`: fraction of tokens deleted until the prediction changes;
* :mod:`.loo`: tau_loo, Kendall's tau-b with leave-one-out erasure;
* :mod:`.agreement`: Kendall's tau-b and Jensen-Shannon divergence between methods;
* :mod:`.sanity`: Spearman correlation with the same method on a re-initialised model;
* :mod:`.scoring`: :func:`faithfulness_scores`, all of them for a batch of instances,
  with every erasure variant sent through the model in one shared pass.
"""

from explanations.compute.faithfulness.erasure import DEFAULT_BINS
from explanations.compute.faithfulness.scoring import (
    MODEL_METRICS,
    SCORE_METRICS,
    MetricScores,
    faithfulness_scores,
)
from explanations.compute.faithfulness.variants import ProbabilityFn

__all__ = [
    "DEFAULT_BINS",
    "MODEL_METRICS",
    "SCORE_METRICS",
    "MetricScores",
    "ProbabilityFn",
    "faithfulness_scores",
]
