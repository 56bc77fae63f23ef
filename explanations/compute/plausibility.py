"""Plausibility of an explanation against people's rationales (never against the model).

A human rationale marks the tokens an annotator found important: a list of token
indices, or one soft score in [0, 1] per token (for example the share of annotators
who marked it), binarised as score >= ``soft_threshold``. Against each rationale R
(|R| = K tokens) the explanation's scores give:

* ``rationale_f1``: token F1 of the explanation's top-K tokens P (highest score
  first, ties by position) against R. With |P| = |R| = K, precision = recall =
  F1 = |P & R| / K (ERASER's token-level F1 for a hard rationale of the same size).
* ``rationale_iou``: token intersection over union |P & R| / |P | R|.
* ``rationale_auprc``: area under the precision-recall curve of the scores against
  R, every distinct score a threshold, the curve starting at (recall 0,
  precision 1) and integrated with the trapezoid rule over recall; the same as
  ERASER's ``auc(recall, precision)`` on sklearn's ``precision_recall_curve``.

Each is computed per annotator and averaged over the annotators for whom it is
defined; an empty rationale leaves all three undefined (None).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from explanations.compute.faithfulness.ranking import as_scores, explanation_order
from explanations.compute.score_names import (
    RATIONALE_AUPRC,
    RATIONALE_F1,
    RATIONALE_IOU,
    paired_metric,
)

PLAUSIBILITY_METRICS: tuple[str, ...] = (RATIONALE_F1, RATIONALE_IOU, RATIONALE_AUPRC)
DEFAULT_SOFT_THRESHOLD = 0.5
EMPTY_RATIONALE = "the rationale marks no token"
NO_RATIONALE = "no annotator's rationale gives a defined value"


@dataclass(frozen=True)
class Rationale:
    """One annotator's rationale: token ``indices``, or one ``soft`` score per token."""

    annotator: str
    indices: Sequence[int] | None = None
    soft: Sequence[float] | None = None

    def within(self, length: int) -> "Rationale":
        """Return this rationale restricted to the first ``length`` tokens (the ones a model saw)."""
        return Rationale(
            annotator=self.annotator,
            indices=None if self.indices is None else [i for i in self.indices if i < length],
            soft=None if self.soft is None else list(self.soft[:length]),
        )

    def mask(self, length: int, *, soft_threshold: float = DEFAULT_SOFT_THRESHOLD) -> np.ndarray:
        """Return the boolean mask of the marked tokens of a text of ``length`` tokens."""
        label = f"rationale of annotator {self.annotator!r}"
        if (self.indices is None) == (self.soft is None):
            raise ValueError(f"{label}: give either token indices or soft scores, not both")
        if self.indices is not None:
            indices = np.asarray(self.indices, dtype=np.int64).reshape(-1)
            if np.any((indices < 0) | (indices >= length)):
                raise ValueError(f"{label}: token indices must be in 0..{length - 1}")
            mask = np.zeros(length, dtype=bool)
            mask[indices] = True
            return mask
        soft = as_scores(np.asarray(self.soft, dtype=np.float64), length, label=label)
        if np.any((soft < 0.0) | (soft > 1.0)):
            raise ValueError(f"{label}: soft scores must be in [0, 1]")
        return soft >= soft_threshold


@dataclass(frozen=True)
class PlausibilityScores:
    """Scores of one explanation against its instance's rationales.

    ``mean[metric]`` averages ``per_annotator[annotator][metric]`` over the annotators
    where it is defined; a None value has its reason in ``reasons`` (keyed by metric
    for the mean, by ``"<metric>:<annotator>"`` per annotator).
    """

    mean: dict[str, float | None]
    per_annotator: dict[str, dict[str, float | None]]
    reasons: dict[str, str] = field(default_factory=dict)


def top_k_overlap(scores: np.ndarray, truth: np.ndarray) -> tuple[float, float] | None:
    """Return (F1, IOU) of the top-K scored tokens against ``truth``, K = truth's size.

    F1 = |P & R| / K and IOU = |P & R| / (2K - |P & R|); None when K = 0.
    """
    k = int(truth.sum())
    if k == 0:
        return None
    overlap = int(truth[explanation_order(scores)[:k]].sum())
    return overlap / k, overlap / (2 * k - overlap)


def auprc(scores: np.ndarray, truth: np.ndarray) -> float | None:
    """Return the trapezoidal area under the precision-recall curve, None with no positive.

    Thresholds are the distinct scores from high to low; at each, precision =
    TP / (TP + FP) and recall = TP / |R| over the tokens scoring at least that much.
    Area = sum_i (recall_i - recall_{i-1}) (precision_i + precision_{i-1}) / 2, from
    the point (recall 0, precision 1).
    """
    positives = int(truth.sum())
    if positives == 0:
        return None
    order = np.argsort(-scores, kind="stable")
    sorted_scores = scores[order]
    # Last position of each run of equal scores: the tokens above a threshold.
    run_ends = np.flatnonzero(np.r_[sorted_scores[1:] != sorted_scores[:-1], True])
    true_positives = np.cumsum(truth[order])[run_ends]
    precision = np.r_[1.0, true_positives / (run_ends + 1)]
    recall = np.r_[0.0, true_positives / positives]
    return float(np.sum(np.diff(recall) * (precision[1:] + precision[:-1]) / 2.0))


def plausibility_scores(
    scores: Sequence[float] | np.ndarray,
    rationales: Sequence[Rationale],
    *,
    soft_threshold: float = DEFAULT_SOFT_THRESHOLD,
) -> PlausibilityScores:
    """Return F1, IOU and AUPRC of ``scores`` against each rationale, and their means.

    ``scores`` has one value per token of the instance, the rationales index the
    same tokens.
    """
    vector = np.asarray(scores, dtype=np.float64).reshape(-1)
    vector = as_scores(vector, vector.shape[0], label="explanation scores")
    annotators = [rationale.annotator for rationale in rationales]
    if len(set(annotators)) != len(annotators):
        raise ValueError(f"rationales: an annotator appears twice in {annotators}")
    reasons: dict[str, str] = {}
    per_annotator: dict[str, dict[str, float | None]] = {}
    for rationale in rationales:
        truth = rationale.mask(vector.shape[0], soft_threshold=soft_threshold)
        overlap = top_k_overlap(vector, truth)
        values: dict[str, float | None] = {
            RATIONALE_F1: None if overlap is None else overlap[0],
            RATIONALE_IOU: None if overlap is None else overlap[1],
            RATIONALE_AUPRC: auprc(vector, truth),
        }
        for metric, value in values.items():
            if value is None:
                reasons[paired_metric(metric, rationale.annotator)] = EMPTY_RATIONALE
        per_annotator[rationale.annotator] = values
    mean: dict[str, float | None] = {}
    for metric in PLAUSIBILITY_METRICS:
        defined = [v for values in per_annotator.values() if (v := values[metric]) is not None]
        mean[metric] = float(np.mean(defined)) if defined else None
        if not defined:
            reasons[metric] = NO_RATIONALE
    return PlausibilityScores(mean=mean, per_annotator=per_annotator, reasons=reasons)
