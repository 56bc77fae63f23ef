"""Decision flip on worked examples with a logistic bag-of-words model."""

import numpy as np
import pytest

from explanations.compute.faithfulness import faithfulness_scores
from explanations.compute.faithfulness.decision_flip import NEVER_FLIPS, flip_fraction
from tests.explanations.compute.toy_probabilities import LogisticModel


def flip(model, seq, scores):
    result = faithfulness_scores(model, [seq], {"m": [scores]}, metrics=["decision_flip"])["m"][0]
    return result.values["decision_flip"], result.reasons.get("decision_flip")


def test_flip_after_three_of_six_tokens():
    # Logit = 0.5 + ones - zeros. [1, 1, 0, 1, 2, 0]: 0.5 + 3 - 2 = 1.5 -> class 1.
    # Order: positions 1 (a one), 4 (the neutral 2), 0 (a one), ...
    # Deleting 1: logit 0.5 (class 1); also 4: 0.5 (class 1); also 0: -0.5 -> class 0.
    value, _ = flip(LogisticModel(), [1, 1, 0, 1, 2, 0], [0.5, 0.9, 0.1, 0.3, 0.8, 0.0])
    assert value == pytest.approx(3 / 6)


def test_a_better_ranking_flips_sooner():
    seq = [1, 1, 0, 1, 2, 0]
    # Ranking the ones first: deleting positions 0, then 1 gives logits 0.5, -0.5.
    value, _ = flip(LogisticModel(), seq, [0.9, 0.8, 0.0, 0.7, 0.1, 0.0])
    assert value == pytest.approx(2 / 6)


def test_never_flips_is_none_with_a_reason():
    # [1, 1, 1]: logits 3.5, 2.5, 1.5, 0.5 as ones are deleted: always class 1.
    value, reason = flip(LogisticModel(), [1, 1, 1], [0.3, 0.2, 0.1])
    assert value is None
    assert reason == NEVER_FLIPS


def test_flip_on_the_empty_sequence_counts():
    # Bias -0.5: [1] has logit 0.5 (class 1), the empty sequence -0.5 (class 0).
    value, _ = flip(LogisticModel(bias=-0.5), [1], [0.4])
    assert value == pytest.approx(1.0)


def test_flip_fraction_reads_the_first_changed_prediction():
    prefix_probs = np.array([[0.2, 0.8], [0.4, 0.6], [0.7, 0.3], [0.1, 0.9]])
    assert flip_fraction(1, prefix_probs) == pytest.approx(3 / 4)
    assert flip_fraction(0, prefix_probs) == pytest.approx(1 / 4)
