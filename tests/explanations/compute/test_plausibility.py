"""Plausibility against human rationales: worked example, and sklearn for AUPRC."""

import numpy as np
import pytest
from sklearn.metrics import auc, precision_recall_curve

from explanations.compute.plausibility import (
    Rationale,
    auprc,
    plausibility_scores,
    top_k_overlap,
)

SCORES = [0.1, 0.9, 0.4, 0.8, 0.0, 0.3]


def sklearn_auprc(scores, truth):
    precision, recall, _ = precision_recall_curve(truth.astype(int), scores)
    return auc(recall, precision)


def test_worked_example():
    # Rationale {1, 2, 5}, K = 3. Top 3 by score: positions 1, 3, 2 -> overlap {1, 2}.
    # F1 = 2/3, IOU = 2 / |{1, 2, 3, 5}| = 1/2.
    # Ranked truth: T F T T F F. Curve points (recall, precision) from (0, 1):
    # (1/3, 1), (1/3, 1/2), (2/3, 2/3), (1, 3/4), (1, 3/5), (1, 1/2).
    # Area = 1/3 * 1 + 1/3 * (1/2 + 2/3) / 2 + 1/3 * (2/3 + 3/4) / 2 = 55/72.
    result = plausibility_scores(SCORES, [Rationale("ann", indices=[1, 2, 5])])
    assert result.per_annotator["ann"]["rationale_f1"] == pytest.approx(2 / 3)
    assert result.per_annotator["ann"]["rationale_iou"] == pytest.approx(1 / 2)
    assert result.per_annotator["ann"]["rationale_auprc"] == pytest.approx(55 / 72)
    assert result.mean == result.per_annotator["ann"]
    truth = np.zeros(6, dtype=bool)
    truth[[1, 2, 5]] = True
    assert sklearn_auprc(np.array(SCORES), truth) == pytest.approx(55 / 72)


@pytest.mark.parametrize("seed", range(8))
def test_auprc_matches_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 60))
    scores = rng.normal(size=n).round(1)  # ties between scores
    truth = rng.random(n) < 0.3
    truth[int(rng.integers(n))] = True
    assert auprc(scores, truth) == pytest.approx(sklearn_auprc(scores, truth), abs=1e-12)


def test_auprc_with_all_scores_tied_and_all_tokens_marked():
    truth = np.array([True, False, False, True])
    assert auprc(np.zeros(4), truth) == pytest.approx(sklearn_auprc(np.zeros(4), truth))
    assert auprc(np.array([0.3, 0.1, 0.2]), np.ones(3, dtype=bool)) == pytest.approx(1.0)


def test_top_k_ties_are_broken_by_position():
    # Scores tie at the cut: positions 0 and 2 both score 0.5; K = 1 takes position 0.
    assert top_k_overlap(np.array([0.5, 0.1, 0.5]), np.array([False, False, True])) == (0.0, 0.0)
    assert top_k_overlap(np.array([0.5, 0.1, 0.5]), np.array([True, False, False])) == (1.0, 1.0)


def test_per_annotator_mean_soft_and_empty_rationales():
    rationales = [
        Rationale("a", indices=[1, 3]),  # top 2 = {1, 3}: F1 = IOU = 1
        # Soft scores binarised at 0.5: {1, 2} -> overlap {1}: F1 = 1/2, IOU = 1/3.
        Rationale("b", soft=[0.0, 1.0, 0.5, 0.4, 0.0, 0.2]),
        Rationale("c", indices=[]),
    ]
    result = plausibility_scores(SCORES, rationales)
    assert result.per_annotator["b"]["rationale_f1"] == pytest.approx(1 / 2)
    assert result.per_annotator["b"]["rationale_iou"] == pytest.approx(1 / 3)
    assert result.mean["rationale_f1"] == pytest.approx((1 + 1 / 2) / 2)
    assert result.mean["rationale_iou"] == pytest.approx((1 + 1 / 3) / 2)
    assert result.per_annotator["c"] == {
        "rationale_f1": None,
        "rationale_iou": None,
        "rationale_auprc": None,
    }
    assert result.reasons["rationale_f1:c"] == "the rationale marks no token"
    only_empty = plausibility_scores(SCORES, [Rationale("c", indices=[])])
    assert only_empty.mean["rationale_auprc"] is None
    assert "rationale_auprc" in only_empty.reasons


def test_soft_threshold_is_a_parameter():
    result = plausibility_scores(
        SCORES, [Rationale("b", soft=[0.0, 1.0, 0.5, 0.4, 0.0, 0.2])], soft_threshold=0.3
    )
    # {1, 2, 3}: top 3 = {1, 3, 2}: F1 = 1.
    assert result.mean["rationale_f1"] == pytest.approx(1.0)


def test_bad_rationales_are_refused():
    with pytest.raises(ValueError, match="annotator 'a'.*0..5"):
        plausibility_scores(SCORES, [Rationale("a", indices=[6])])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plausibility_scores(SCORES, [Rationale("a", soft=[2.0, 0, 0, 0, 0, 0])])
    with pytest.raises(ValueError, match="expected 6 scores"):
        plausibility_scores(SCORES, [Rationale("a", soft=[1.0, 0.0])])
    with pytest.raises(ValueError, match="either"):
        plausibility_scores(SCORES, [Rationale("a")])
    with pytest.raises(ValueError, match="twice"):
        plausibility_scores(SCORES, [Rationale("a", indices=[1]), Rationale("a", indices=[2])])
