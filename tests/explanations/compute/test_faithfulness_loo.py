"""tau_loo on a worked example, and against scipy's Kendall tau-b."""

import numpy as np
import pytest
from scipy import stats

from explanations.compute.faithfulness import faithfulness_scores
from tests.explanations.compute.toy_probabilities import LogisticModel, sigmoid


def tau_loo(model, seq, scores):
    result = faithfulness_scores(model, [seq], {"m": [scores]}, metrics=["tau_loo"])["m"][0]
    return result.values["tau_loo"], result.reasons.get("tau_loo")


def test_tau_loo_worked_example():
    # Logit 0.5 + ones - zeros; [1, 0, 1, 2, 0] has logit 0.5 (class 1).
    # Leave-one-out p1(x) - p1(x without i): a one -> s(.5) - s(-.5) = a > 0,
    # a zero -> s(.5) - s(1.5) = -b < 0, the neutral 2 -> 0. So loo = [a, -b, a, 0, -b].
    seq = [1, 0, 1, 2, 0]
    explanation = [0.9, 0.1, 0.5, 0.3, 0.2]
    # Of the 10 pairs, (0, 2) and (1, 4) tie in loo; the other 8 are concordant.
    # tau_b = 8 / sqrt((10 - 0) * (10 - 2)).
    value, _ = tau_loo(LogisticModel(), seq, explanation)
    assert value == pytest.approx(8 / np.sqrt(80))
    a = sigmoid(0.5) - sigmoid(-0.5)
    b = sigmoid(1.5) - sigmoid(0.5)
    assert value == pytest.approx(stats.kendalltau(explanation, [a, -b, a, 0, -b]).statistic)


def test_tau_loo_matches_scipy_on_a_longer_instance():
    rng = np.random.default_rng(0)
    seq = rng.integers(0, 3, 25).tolist()
    explanation = rng.normal(size=25)
    model = LogisticModel()
    base = sigmoid(model.logit(seq))
    loo = [base - sigmoid(model.logit(seq[:i] + seq[i + 1 :])) for i in range(len(seq))]
    value, _ = tau_loo(model, seq, explanation)
    assert value == pytest.approx(stats.kendalltau(explanation, loo).statistic, abs=1e-12)


def test_tau_loo_is_none_for_constant_scores_and_single_tokens():
    value, reason = tau_loo(LogisticModel(), [1, 0, 1], [0.0, 0.0, 0.0])
    assert value is None
    assert "explanation scores are all equal" in reason
    # Every token is a one: every deletion changes p1 equally.
    value, reason = tau_loo(LogisticModel(), [1, 1, 1], [0.1, 0.2, 0.3])
    assert value is None
    assert "leave-one-out scores are all equal" in reason
    value, reason = tau_loo(LogisticModel(), [1], [0.1])
    assert value is None
    assert "fewer than two tokens" in reason


def test_given_leave_one_out_scores_need_no_model_call():
    # The worked example's loo = [a, -b, a, 0, -b], passed in as a stored omission
    # explanation would be: same tau, and the model is never called.
    a = sigmoid(0.5) - sigmoid(-0.5)
    b = sigmoid(1.5) - sigmoid(0.5)
    model = LogisticModel()
    result = faithfulness_scores(
        model,
        [[1, 0, 1, 2, 0], []],
        {"m": [[0.9, 0.1, 0.5, 0.3, 0.2], []]},
        metrics=["tau_loo"],
        leave_one_out=[[a, -b, a, 0.0, -b], []],
    )["m"]
    assert result[0].values["tau_loo"] == pytest.approx(8 / np.sqrt(80))
    assert result[1].values["tau_loo"] is None
    assert result[1].reasons["tau_loo"] == "the instance has no tokens"
    assert model.calls == []
    with pytest.raises(ValueError, match=r"leave_one_out\[0\]: expected 5 scores"):
        faithfulness_scores(
            model, [[1, 0, 1, 2, 0]], {"m": [[0.1] * 5]}, leave_one_out=[[0.1, 0.2]]
        )
