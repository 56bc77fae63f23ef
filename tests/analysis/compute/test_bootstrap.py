"""Cluster resampling: draws, weighted sums and intervals against explicit loops."""

import numpy as np
import pytest

from analysis.compute.bootstrap import (
    WeightedSums,
    bootstrap_ci,
    clustering_problem,
    estimate_with_ci,
    iter_resamples,
    resampled_column_sums,
)


def _draws(resampling, n_resamples=7, chunk_size=3, seed=5):
    return list(
        iter_resamples(
            resampling,
            n_participants=4,
            n_items=6,
            n_answers=10,
            n_resamples=n_resamples,
            seed=seed,
            chunk_size=chunk_size,
        )
    )


def test_two_way_draws_are_multinomial_counts_of_each_cluster():
    chunks = _draws("two_way")
    participant = np.concatenate([c.participant for c in chunks])
    item = np.concatenate([c.item for c in chunks])
    assert participant.shape == (7, 4)
    assert item.shape == (7, 6)
    assert np.all(participant.sum(axis=1) == 4)
    assert np.all(item.sum(axis=1) == 6)
    assert all(c.answer is None for c in chunks)


def test_draws_do_not_depend_on_chunk_size():
    by_three = _draws("two_way", chunk_size=3)
    by_seven = _draws("two_way", chunk_size=7)
    np.testing.assert_array_equal(np.concatenate([c.item for c in by_three]), by_seven[0].item)
    np.testing.assert_array_equal(
        np.concatenate([c.participant for c in by_three]), by_seven[0].participant
    )


def test_one_way_and_trial_schemes_hold_the_rest_fixed():
    participant_only = _draws("participant")[0]
    assert np.all(participant_only.item == 1)
    item_only = _draws("item")[0]
    assert np.all(item_only.participant == 1)
    trial = _draws("trial")[0]
    assert trial.answer.shape == (3, 10)
    assert np.all(trial.answer.sum(axis=1) == 10)


def test_multiplicities_average_one_per_cluster():
    chunk = next(
        iter_resamples(
            "two_way",
            n_participants=50,
            n_items=20,
            n_answers=0,
            n_resamples=4000,
            seed=0,
            chunk_size=4000,
        )
    )
    # Multinomial(n, 1/n) counts: mean 1, variance 1 - 1/n.
    assert chunk.participant.mean() == pytest.approx(1.0)
    assert chunk.participant.var() == pytest.approx(1 - 1 / 50, rel=0.05)


@pytest.mark.parametrize("resampling", ["two_way", "participant", "item", "trial"])
def test_weighted_sums_equal_a_loop_over_answers(resampling):
    rng = np.random.default_rng(1)
    participant = rng.integers(0, 4, 10)
    item = rng.integers(0, 6, 10)
    values = rng.normal(size=(10, 3))
    values[rng.random((10, 3)) < 0.3] = 0.0
    sums = WeightedSums(participant, item, values, n_participants=4, n_items=6)
    for chunk in _draws(resampling):
        got = sums(chunk)
        for b in range(chunk.size):
            expected = np.zeros(3)
            for a in range(10):
                if chunk.answer is not None:
                    weight = chunk.answer[b, a]
                else:
                    weight = chunk.participant[b, participant[a]] * chunk.item[b, item[a]]
                expected += weight * values[a]
            np.testing.assert_allclose(got[b], expected, atol=1e-12)


def test_resampled_column_sums_concatenates_chunks():
    rng = np.random.default_rng(2)
    participant, item = rng.integers(0, 4, 10), rng.integers(0, 6, 10)
    values = rng.normal(size=(10, 2))
    total = resampled_column_sums(
        participant,
        item,
        values,
        n_participants=4,
        n_items=6,
        n_resamples=7,
        resampling="two_way",
        seed=5,
    )
    sums = WeightedSums(participant, item, values, n_participants=4, n_items=6)
    expected = np.concatenate([sums(chunk) for chunk in _draws("two_way")])
    np.testing.assert_allclose(total, expected)


def test_percentile_interval_is_numpy_quantile():
    samples = np.random.default_rng(3).normal(size=1000)
    ci = bootstrap_ci(samples, estimate=0.0, level=0.9, resampling="two_way", seed=0)
    assert ci.lower == pytest.approx(np.percentile(samples, 5))
    assert ci.upper == pytest.approx(np.percentile(samples, 95))
    assert ci.n_valid == 1000
    assert ci.note is None
    assert ci.bias == pytest.approx(samples.mean())


def test_basic_interval_reflects_around_the_estimate():
    samples = np.random.default_rng(4).normal(loc=0.0, size=500)
    ci = bootstrap_ci(
        samples, estimate=2.0, level=0.95, resampling="two_way", seed=0, interval="basic"
    )
    assert ci.lower == pytest.approx(4.0 - np.percentile(samples, 97.5))
    assert ci.upper == pytest.approx(4.0 - np.percentile(samples, 2.5))
    assert "centred" in ci.note  # the shift of -2 is flagged


def test_undefined_resamples_are_left_out_and_reported():
    samples = np.r_[np.arange(95.0), np.full(5, np.nan)]
    ci = bootstrap_ci(samples, estimate=47.0, level=0.95, resampling="item", seed=0)
    assert ci.n_valid == 95
    assert ci.lower == pytest.approx(np.percentile(np.arange(95.0), 2.5))
    assert "5 of 100 resamples" in ci.note


def test_too_few_defined_resamples_give_no_interval():
    samples = np.r_[np.arange(50.0), np.full(50, np.nan)]
    ci = bootstrap_ci(samples, estimate=1.0, level=0.95, resampling="item", seed=0)
    assert ci.lower is None
    assert ci.upper is None
    assert "only 50 of 100" in ci.note


def test_clustering_problems_are_explained():
    kwargs = {"n_answers": 10, "n_resamples": 100}
    assert "participant" in clustering_problem("two_way", n_participants=1, n_items=5, **kwargs)
    assert "item" in clustering_problem("two_way", n_participants=5, n_items=1, **kwargs)
    assert clustering_problem("participant", n_participants=5, n_items=1, **kwargs) is None
    assert clustering_problem("two_way", n_participants=5, n_items=5, **kwargs) is None
    assert "n_resamples=0" in clustering_problem(
        "two_way", n_participants=5, n_items=5, n_answers=10, n_resamples=0
    )


def test_estimate_with_ci_never_reports_nan():
    undefined = estimate_with_ci(
        None, None, problem=None, level=0.95, resampling="two_way", interval="percentile", seed=0
    )
    assert undefined.value is None
    assert undefined.reason
    blocked = estimate_with_ci(
        0.5,
        np.zeros(10),
        problem="one item",
        level=0.95,
        resampling="two_way",
        interval="percentile",
        seed=0,
    )
    assert blocked.ci is None
    assert blocked.reason == "one item"
