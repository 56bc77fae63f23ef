"""Bradley-Terry: a hand-worked example, statsmodels' logistic GLM and materialised resamples."""

import json

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from analysis.compute.bootstrap import iter_resamples
from analysis.compute.bradley_terry import PairwiseChoices, bradley_terry, fit_bradley_terry


def _choices(pairs, names=("A", "B", "C")):
    """Build choices from (winner, loser, count) triples, each choice its own participant."""
    winner = np.concatenate([[first] * n for first, _, n in pairs])
    loser = np.concatenate([[second] * n for _, second, n in pairs])
    n = winner.size
    return PairwiseChoices(
        participant=np.arange(n),
        item=np.arange(n) % 5,
        winner=winner,
        loser=loser,
        method_names=names,
    )


def test_hand_worked_example():
    # Strengths 4 : 2 : 1 predict A beats B 2/3, A beats C 4/5, B beats C 2/3 of the time.
    # Observed exactly so: A-B 4:2, A-C 4:1, B-C 2:1. Then every likelihood equation
    # wins_k = sum_l n_kl p_k / (p_k + p_l) holds at p = (4, 2, 1), e.g. for A:
    # 8 = 6 * 4/6 + 5 * 4/5 = 4 + 4, so the MLE is (4, 2, 1) up to scale.
    choices = _choices([(0, 1, 4), (1, 0, 2), (0, 2, 4), (2, 0, 1), (1, 2, 2), (2, 1, 1)])
    result = bradley_terry(choices, n_resamples=0)
    log_strength = np.array([m.log_strength for m in result.methods])
    expected = np.log([4.0, 2.0, 1.0]) - np.log([4.0, 2.0, 1.0]).mean()
    np.testing.assert_allclose(log_strength, expected, atol=1e-10)
    np.testing.assert_allclose(
        np.array(result.win_probability),
        [[0.5, 2 / 3, 4 / 5], [1 / 3, 0.5, 2 / 3], [1 / 5, 1 / 3, 0.5]],
        atol=1e-10,
    )
    assert [m.wins for m in result.methods] == [8.0, 4.0, 2.0]
    assert [m.comparisons for m in result.methods] == [11.0, 9.0, 8.0]


def test_two_methods_closed_form_and_wald_interval():
    # t_A - t_B = log(w / (n - w)); var = 1 / (n p (1 - p)); sum-to-zero halves it.
    choices = _choices([(0, 1, 30), (1, 0, 10)], names=("A", "B"))
    result = bradley_terry(choices, n_resamples=0, level=0.9)
    difference = np.log(30 / 10)
    a = result.methods[0]
    assert a.log_strength == pytest.approx(difference / 2)
    half_width = stats.norm.ppf(0.95) * np.sqrt(1 / (40 * 0.75 * 0.25)) / 2
    assert a.wald_upper - a.log_strength == pytest.approx(half_width)


def test_matches_statsmodels_logistic_regression():
    rng = np.random.default_rng(0)
    truth = np.array([0.0, 0.6, -0.4, 0.2])
    n = 3000
    first = rng.integers(0, 4, n)
    second = (first + rng.integers(1, 4, n)) % 4
    first_wins = rng.random(n) < 1 / (1 + np.exp(-(truth[first] - truth[second])))
    choices = PairwiseChoices(
        participant=rng.integers(0, 100, n),
        item=rng.integers(0, 50, n),
        winner=np.where(first_wins, first, second),
        loser=np.where(first_wins, second, first),
        method_names=("a", "b", "c", "d"),
    )
    result = bradley_terry(choices, n_resamples=0)
    # Reference coding: P(first wins) = logit^-1(x' beta), x = e_first - e_second, drop "a".
    design = np.zeros((n, 4))
    design[np.arange(n), first] += 1
    design[np.arange(n), second] -= 1
    glm = sm.GLM(first_wins.astype(float), design[:, 1:], family=sm.families.Binomial()).fit()
    theta = np.array([m.log_strength for m in result.methods])
    np.testing.assert_allclose(theta[1:] - theta[0], glm.params, atol=1e-8)
    # Covariance of the sum-to-zero strengths from the GLM's covariance of the contrasts.
    to_sum_zero = np.vstack([np.zeros(3), np.eye(3)]) - np.full((4, 3), 1 / 4)
    covariance = to_sum_zero @ glm.cov_params() @ to_sum_zero.T
    z = stats.norm.ppf(0.975)
    widths = np.array([m.wald_upper - m.wald_lower for m in result.methods])
    np.testing.assert_allclose(widths, 2 * z * np.sqrt(np.diag(covariance)), rtol=1e-6)


def test_bootstrap_equals_refitting_materialised_resamples():
    rng = np.random.default_rng(1)
    n = 120
    first = rng.integers(0, 3, n)
    second = (first + rng.integers(1, 3, n)) % 3
    first_wins = rng.random(n) < np.where(first == 0, 0.7, 0.45)
    tie = rng.random(n) < 0.1
    choices = PairwiseChoices(
        participant=rng.integers(0, 15, n),
        item=rng.integers(0, 10, n),
        winner=np.where(first_wins, first, second),
        loser=np.where(first_wins, second, first),
        tie=tie,
        method_names=("attention", "ig", "random"),
    )
    result = bradley_terry(choices, n_resamples=25, level=0.8, seed=4)
    chunk = next(
        iter_resamples(
            "two_way",
            n_participants=choices.n_participants,
            n_items=choices.n_items,
            n_answers=n,
            n_resamples=25,
            seed=4,
            chunk_size=25,
        )
    )
    refits = []
    for b in range(25):
        copies = (
            chunk.participant[b, choices.participant_code] * chunk.item[b, choices.item_code]
        ).astype(int)
        resample = PairwiseChoices(
            participant=np.repeat(choices.participant, copies),
            item=np.repeat(choices.item, copies),
            winner=np.repeat(choices.winner, copies),
            loser=np.repeat(choices.loser, copies),
            tie=np.repeat(tie, copies),
            method_names=choices.method_names,
        )
        refit = bradley_terry(resample, n_resamples=0)
        refits.append(
            [m.log_strength if m.log_strength is not None else np.nan for m in refit.methods]
        )
    refits = np.array(refits)
    for k, method in enumerate(result.methods):
        valid = refits[:, k][np.isfinite(refits[:, k])]
        assert method.ci.n_valid == valid.size
        assert method.ci.lower == pytest.approx(np.quantile(valid, 0.1), abs=1e-8)
        assert method.ci.upper == pytest.approx(np.quantile(valid, 0.9), abs=1e-8)
    json.dumps(result.to_dict(), allow_nan=False)


def test_a_tie_is_half_a_win_each_way():
    with_tie = PairwiseChoices(
        participant=[0, 1, 2, 3, 4],
        item=[0, 0, 1, 1, 2],
        winner=[0, 0, 1, 2, 1],
        loser=[1, 2, 2, 0, 0],
        tie=[False, False, False, False, True],
        method_names=("A", "B", "C"),
    )
    # Doubling every choice and splitting the tie into one win each way is the same data.
    doubled = _choices([(0, 1, 2), (0, 2, 2), (1, 2, 2), (2, 0, 2), (1, 0, 1), (0, 1, 1)])
    ours = [m.log_strength for m in bradley_terry(with_tie, n_resamples=0).methods]
    reference = [m.log_strength for m in bradley_terry(doubled, n_resamples=0).methods]
    np.testing.assert_allclose(ours, reference, atol=1e-10)


def test_no_maximum_when_a_method_never_wins():
    choices = _choices([(0, 1, 3), (0, 2, 2), (1, 2, 1), (2, 1, 1)])
    result = bradley_terry(choices, n_resamples=10)
    assert all(m.log_strength is None for m in result.methods)
    assert "never passed over: A" in result.reason
    json.dumps(result.to_dict(), allow_nan=False)
    shrunk = bradley_terry(choices, n_resamples=0, pseudo_count=0.5)
    assert shrunk.reason is not None  # n_resamples=0 is said, but the estimate exists
    assert shrunk.methods[0].log_strength > shrunk.methods[1].log_strength


def test_fit_reports_disconnected_rows_as_nan():
    wins = np.array([[[0, 1], [1, 0]], [[0, 2], [0, 0]]], dtype=float)
    theta, converged, _ = fit_bradley_terry(wins)
    assert converged.tolist() == [True, False]
    np.testing.assert_allclose(theta[0], [0.0, 0.0])
    assert np.isnan(theta[1]).all()


def test_bad_choices_are_refused():
    with pytest.raises(ValueError, match="compares a method with itself"):
        PairwiseChoices(participant=[0], item=[0], winner=[1], loser=[1], method_names=("a", "b"))
    with pytest.raises(ValueError, match="winner: indices must be < 2"):
        PairwiseChoices(participant=[0], item=[0], winner=[2], loser=[1], method_names=("a", "b"))
