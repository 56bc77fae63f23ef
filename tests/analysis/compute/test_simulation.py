"""Simulation effects against pandas and materialised resamples; the logistic model
against scikit-learn and a two-way cluster-robust sandwich computed by hand."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn.linear_model import LogisticRegression

from analysis.compute.bootstrap import iter_resamples
from analysis.compute.simulation import (
    SimulationAnswers,
    rating_predicts_simulation,
    simulation_effects,
)

METHODS = ("none", "attention", "ig")


def _study(seed, n_participants=45, n_items=20):
    rng = np.random.default_rng(seed)
    participant = np.repeat(np.arange(n_participants), n_items)
    item = np.tile(np.arange(n_items), n_participants)
    method = np.repeat(np.arange(n_participants) % 3, n_items)  # between participants
    post = np.tile(np.arange(n_items) >= n_items // 2, n_participants)
    model_output = rng.integers(0, 2, n_items)[item]
    gold = np.where(rng.random(n_items) < 0.7, model_output[:n_items], 1 - model_output[:n_items])
    skill = rng.normal(0, 0.8, n_participants)[participant] + rng.normal(0, 0.8, n_items)[item]
    gain = np.array([0.2, 0.6, 1.0])[method] * post
    right = rng.random(participant.size) < 1 / (1 + np.exp(-(0.2 + skill + gain)))
    guess = np.where(right, model_output, 1 - model_output)
    answers = SimulationAnswers(
        participant=participant,
        item=item,
        method=method,
        post=post,
        guess=guess,
        model_output=model_output,
        method_names=METHODS,
    )
    return answers, gold[item]


def _accuracies(frame):
    table = frame.groupby(["method", "post"])["correct"].mean().unstack()
    return table[False].to_numpy(), table[True].to_numpy()


def test_accuracy_is_against_the_model_output_not_gold():
    answers, gold = _study(0)
    results = simulation_effects(answers, n_resamples=0)
    frame = pd.DataFrame(
        {
            "method": answers.method,
            "post": answers.post,
            "correct": answers.guess == answers.model_output,
        }
    )
    pre, post = _accuracies(frame)
    for k, result in enumerate(results):
        assert result.pre_accuracy.value == pytest.approx(pre[k])
        assert result.post_accuracy.value == pytest.approx(post[k])
        assert result.effect.value == pytest.approx(post[k] - pre[k])
    against_gold = frame.assign(correct=answers.guess == gold)
    assert _accuracies(against_gold)[1][0] != pytest.approx(results[0].post_accuracy.value)


def test_intervals_equal_materialised_resamples():
    answers, _ = _study(1)
    results = simulation_effects(answers, control_method="none", n_resamples=30, seed=2)
    chunk = next(
        iter_resamples(
            "two_way",
            n_participants=answers.n_participants,
            n_items=answers.n_items,
            n_answers=answers.correct.size,
            n_resamples=30,
            seed=2,
            chunk_size=30,
        )
    )
    frame = pd.DataFrame(
        {
            "participant": answers.participant_code,
            "item": answers.item_code,
            "method": answers.method,
            "post": answers.post,
            "correct": answers.correct,
        }
    )
    effects = []
    for b in range(30):
        drawn_p = pd.DataFrame(
            {
                "participant": np.repeat(
                    np.arange(answers.n_participants), chunk.participant[b].astype(int)
                )
            }
        )
        drawn_i = pd.DataFrame(
            {"item": np.repeat(np.arange(answers.n_items), chunk.item[b].astype(int))}
        )
        pre, post = _accuracies(frame.merge(drawn_p, on="participant").merge(drawn_i, on="item"))
        effects.append(post - pre)
    effects = np.array(effects)
    for k, result in enumerate(results):
        assert result.effect.ci.lower == pytest.approx(np.quantile(effects[:, k], 0.025))
        assert result.effect.ci.upper == pytest.approx(np.quantile(effects[:, k], 0.975))
        if k:
            versus = effects[:, k] - effects[:, 0]
            assert result.effect_vs_control.ci.lower == pytest.approx(np.quantile(versus, 0.025))
            assert result.control == "none"
    assert results[0].effect_vs_control is None
    json.dumps([r.to_dict() for r in results], allow_nan=False)


def _hand_two_way_se(y, x, participant, item, params):
    """Cameron-Gelbach-Miller two-way CRV1 for a logit, computed from scratch."""
    design = np.column_stack([np.ones(x.size), x])
    p = 1 / (1 + np.exp(-design @ params))
    bread = np.linalg.inv(design.T @ (design * (p * (1 - p))[:, None]))
    scores = design * (y - p)[:, None]
    n, k = design.shape

    def crv1(groups):
        labels = np.unique(groups, axis=0, return_inverse=True)[1].reshape(-1)
        g = labels.max() + 1
        summed = np.zeros((g, k))
        np.add.at(summed, labels, scores)
        return g / (g - 1) * (n - 1) / (n - k) * bread @ summed.T @ summed @ bread

    both = np.column_stack([participant, item])
    covariance = crv1(participant) + crv1(item) - crv1(both)
    return np.sqrt(covariance[1, 1])


def test_logistic_regression_matches_sklearn_and_hand_sandwich():
    answers, _ = _study(3)
    rng = np.random.default_rng(3)
    rating = rng.integers(1, 8, answers.correct.size).astype(float)
    rating += answers.correct * rng.integers(0, 2, answers.correct.size)  # a weak link
    result = rating_predicts_simulation(answers.correct, rating, answers.participant, answers.item)
    reference = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(
        rating[:, None], answers.correct
    )
    assert result.coefficient == pytest.approx(reference.coef_[0, 0], abs=1e-5)
    assert result.intercept == pytest.approx(reference.intercept_[0], abs=1e-5)
    se = _hand_two_way_se(
        answers.correct.astype(float),
        rating,
        answers.participant,
        answers.item,
        np.array([result.intercept, result.coefficient]),
    )
    assert result.std_error == pytest.approx(se, rel=1e-6)
    z = stats.norm.ppf(0.975)
    assert result.ci_lower == pytest.approx(result.coefficient - z * se, rel=1e-6)
    assert result.odds_ratio == pytest.approx(np.exp(result.coefficient))
    assert result.covariance.startswith("two-way")


def test_degenerate_logistic_inputs_give_reasons():
    participant, item = np.arange(6) % 3, np.arange(6) % 2
    all_right = rating_predicts_simulation(np.ones(6, bool), np.arange(6.0), participant, item)
    assert all_right.coefficient is None
    assert "every answer is correct" in all_right.reason
    flat = rating_predicts_simulation([1, 0, 1, 0, 1, 1], np.full(6, 3.0), participant, item)
    assert flat.coefficient is None
    assert "same" in flat.reason
    one_person = rating_predicts_simulation(
        [1, 0, 1, 0, 1, 1, 0, 1], [1.0, 2, 5, 1, 4, 3, 2, 6], np.zeros(8), np.arange(8) % 4
    )
    assert one_person.covariance.startswith("cluster-robust by item")
    json.dumps(one_person.to_dict(), allow_nan=False)


def test_methods_without_answers_and_single_item():
    answers, _ = _study(4, n_items=1)
    results = simulation_effects(answers, n_resamples=20)
    assert all(r.effect.ci is None for r in results)
    # One item: it is either in the pre-test or the post-test, never both.
    assert all(r.effect.value is None for r in results)
    json.dumps([r.to_dict() for r in results], allow_nan=False)
