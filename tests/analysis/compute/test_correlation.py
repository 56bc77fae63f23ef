"""Plausibility-faithfulness rank correlations against scipy and materialised resamples."""

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.compute.answers import RatingAnswers
from analysis.compute.bootstrap import iter_resamples
from analysis.compute.correlation import plausibility_faithfulness_correlations


def _study(seed, n_participants=12, n_items=8, n_methods=3, rate=0.7, faith_link=0.8):
    """Return a crossed rating study where faithfulness partly drives ratings."""
    rng = np.random.default_rng(seed)
    grid = np.meshgrid(
        np.arange(n_participants), np.arange(n_items), np.arange(n_methods), indexing="ij"
    )
    participant, item, method = (g.ravel() for g in grid)
    keep = rng.random(participant.size) < rate
    participant, item, method = participant[keep], item[keep], method[keep]
    faithfulness = rng.normal(size=n_items * n_methods)
    explanation = item * n_methods + method
    rating = np.clip(
        np.round(
            4
            + faith_link * faithfulness[explanation]
            + rng.normal(0, 0.7, n_participants)[participant]
            + rng.normal(0, 0.5, n_items)[item]
            + rng.normal(0, 1, participant.size)
        ),
        1,
        7,
    )
    answers = RatingAnswers(
        participant=participant * 3 + 100,  # arbitrary ids
        explanation=explanation,
        rating=rating,
        explanation_item=np.repeat(np.arange(n_items), n_methods),
        explanation_method=np.tile(np.arange(n_methods), n_items),
        method_names=tuple(f"m{k}" for k in range(n_methods)),
    )
    return answers, faithfulness


def _frame(answers):
    return pd.DataFrame(
        {
            "participant": answers.participant_code,
            "item": answers.item_code,
            "explanation": answers.explanation,
            "method": answers.method,
            "rating": answers.rating,
        }
    )


def _materialised(frame, faithfulness, participant_counts, item_counts, method, statistic):
    """Build the resample by copying participants and items, then correlate (the slow way)."""
    drawn_participants = pd.DataFrame(
        {
            "participant": np.repeat(
                np.arange(participant_counts.size), participant_counts.astype(int)
            )
        }
    )
    drawn_items = pd.DataFrame(
        {"item": np.repeat(np.arange(item_counts.size), item_counts.astype(int))}
    )
    drawn_items["copy"] = np.arange(len(drawn_items))
    resample = frame.merge(drawn_participants, on="participant").merge(drawn_items, on="item")
    if method is not None:
        resample = resample[resample["method"] == method]
    means = resample.groupby(["copy", "explanation"])["rating"].mean().reset_index()
    x = means["rating"].to_numpy()
    y = faithfulness[means["explanation"].to_numpy()]
    if x.size < 2 or np.all(x == x[0]) or np.all(y == y[0]):
        return np.nan
    if statistic == "spearman":
        return stats.spearmanr(x, y).statistic
    return stats.kendalltau(x, y).statistic


def test_point_estimates_match_scipy_on_pandas_means():
    answers, faithfulness = _study(0)
    results = plausibility_faithfulness_correlations(
        answers, {"comprehensiveness": faithfulness}, n_resamples=0
    )
    frame = _frame(answers)
    for result in results:
        subset = (
            frame if result.method is None else frame[frame["method"] == int(result.method[1:])]
        )
        means = subset.groupby("explanation")["rating"].mean()
        x, y = means.to_numpy(), faithfulness[means.index.to_numpy()]
        reference = (
            stats.spearmanr(x, y).statistic
            if result.statistic == "spearman"
            else stats.kendalltau(x, y, variant="b").statistic
        )
        assert result.estimate == pytest.approx(reference, abs=1e-12)
        assert result.n_explanations == means.size
        assert result.ci is None
        assert "n_resamples=0" in result.reason
    assert len(results) == 2 * (1 + 3)


@pytest.mark.parametrize("statistic", ["spearman", "kendall_tau_b"])
def test_bootstrap_equals_materialised_resamples(statistic):
    answers, faithfulness = _study(1)
    n_resamples = 30
    results = plausibility_faithfulness_correlations(
        answers,
        {"sufficiency": faithfulness},
        statistics=(statistic,),
        n_resamples=n_resamples,
        level=0.8,
        seed=11,
    )
    chunk = next(
        iter_resamples(
            "two_way",
            n_participants=answers.n_participants,
            n_items=answers.n_items,
            n_answers=answers.n_answers,
            n_resamples=n_resamples,
            seed=11,
            chunk_size=n_resamples,
        )
    )
    frame = _frame(answers)
    for result in results:
        method = None if result.method is None else int(result.method[1:])
        slow = np.array(
            [
                _materialised(
                    frame, faithfulness, chunk.participant[b], chunk.item[b], method, statistic
                )
                for b in range(n_resamples)
            ]
        )
        valid = slow[np.isfinite(slow)]
        assert result.ci.n_valid == valid.size
        assert result.ci.lower == pytest.approx(np.quantile(valid, 0.1), abs=1e-12)
        assert result.ci.upper == pytest.approx(np.quantile(valid, 0.9), abs=1e-12)
        assert result.ci.bias == pytest.approx(valid.mean() - result.estimate, abs=1e-12)


def _null_study(seed, n_participants=30, n_items=12):
    """Ratings and faithfulness both vary by item, independently: the true correlation is 0."""
    rng = np.random.default_rng(seed)
    grid = np.meshgrid(np.arange(n_participants), np.arange(n_items), np.arange(2), indexing="ij")
    participant, item, method = (g.ravel() for g in grid)
    rating = (
        rng.normal(0, 1, n_participants)[participant]
        + rng.normal(0, 1, n_items)[item]
        + rng.normal(0, 1, participant.size)
    )
    faithfulness = np.repeat(rng.normal(0, 1, n_items), 2) + rng.normal(0, 0.3, n_items * 2)
    answers = RatingAnswers(
        participant=participant,
        explanation=item * 2 + method,
        rating=rating,
        explanation_item=np.repeat(np.arange(n_items), 2),
        explanation_method=np.tile(np.arange(2), n_items),
        method_names=("a", "b"),
    )
    return answers, faithfulness


def _interval(answers, faithfulness, resampling, seed):
    result = plausibility_faithfulness_correlations(
        answers,
        {"f": faithfulness},
        statistics=("spearman",),
        by_method=False,
        n_resamples=200,
        resampling=resampling,
        seed=seed,
    )[0]
    return result.ci.lower, result.ci.upper


def test_trial_bootstrap_excludes_zero_where_two_way_covers_it():
    # One study: the answers-level interval claims a correlation the items cannot support.
    answers, faithfulness = _null_study(0)
    trial = _interval(answers, faithfulness, "trial", 0)
    two_way = _interval(answers, faithfulness, "two_way", 0)
    assert trial[0] > 0  # excludes the true value 0
    assert two_way[0] < 0 < two_way[1]  # covers it
    # And systematically, over 40 simulated studies with a true correlation of 0
    # (measured: trial excludes 0 in 29, two-way covers it in 36).
    trial_excludes = two_way_covers = 0
    for seed in range(40):
        answers, faithfulness = _null_study(seed)
        low, high = _interval(answers, faithfulness, "trial", seed)
        trial_excludes += not low <= 0 <= high
        low, high = _interval(answers, faithfulness, "two_way", seed)
        two_way_covers += low <= 0 <= high
    assert trial_excludes >= 20
    assert two_way_covers >= 34


def test_one_participant_gives_an_estimate_but_no_two_way_interval():
    answers, faithfulness = _study(2, n_participants=1, rate=1.0)
    result = plausibility_faithfulness_correlations(
        answers, {"f": faithfulness}, by_method=False, n_resamples=50
    )[0]
    assert result.estimate is not None
    assert result.ci is None
    assert "only 1 participant" in result.reason
    item_only = plausibility_faithfulness_correlations(
        answers, {"f": faithfulness}, by_method=False, n_resamples=50, resampling="item"
    )[0]
    assert item_only.ci.lower is not None


def test_constant_ratings_are_undefined_with_a_reason():
    answers, faithfulness = _study(3)
    constant = RatingAnswers(
        participant=answers.participant,
        explanation=answers.explanation,
        rating=np.full(answers.n_answers, 4.0),
        explanation_item=answers.explanation_item,
        explanation_method=answers.explanation_method,
        method_names=answers.method_names,
    )
    for result in plausibility_faithfulness_correlations(
        constant, {"f": faithfulness}, n_resamples=20
    ):
        assert result.estimate is None
        assert result.ci is None
        assert "same mean rating" in result.reason
        json.dumps(result.to_dict(), allow_nan=False)


def test_too_few_scored_explanations():
    answers, faithfulness = _study(4)
    scores = np.full_like(faithfulness, np.nan)
    scores[:2] = [0.1, 0.9]
    result = plausibility_faithfulness_correlations(
        answers, {"f": scores}, by_method=False, n_resamples=20
    )[0]
    assert result.estimate is None
    assert "only 2 explanation" in result.reason


def test_bad_arguments_are_named():
    answers, faithfulness = _study(5)
    with pytest.raises(ValueError, match="expected 24 scores"):
        plausibility_faithfulness_correlations(answers, {"f": faithfulness[:-1]})
    with pytest.raises(ValueError, match="statistics"):
        plausibility_faithfulness_correlations(
            answers, {"f": faithfulness}, statistics=("pearson",)
        )
    with pytest.raises(ValueError, match="resampling"):
        plausibility_faithfulness_correlations(answers, {"f": faithfulness}, resampling="rows")
