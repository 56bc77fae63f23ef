"""Per-method mean ratings against pandas and against materialised resamples."""

import json

import numpy as np
import pandas as pd
import pytest

from analysis.compute.answers import RatingAnswers
from analysis.compute.bootstrap import iter_resamples
from analysis.compute.ratings import method_mean_ratings


def _answers(seed=0, n_participants=10, n_items=7, methods=("attention", "ig", "random")):
    rng = np.random.default_rng(seed)
    k = len(methods)
    grid = np.meshgrid(np.arange(n_participants), np.arange(n_items), np.arange(k), indexing="ij")
    participant, item, method = (g.ravel() for g in grid)
    keep = rng.random(participant.size) < 0.8
    participant, item, method = participant[keep], item[keep], method[keep]
    rating = np.clip(
        np.round(
            4 + rng.normal(0, 1, n_participants)[participant] + rng.normal(0, 1, participant.size)
        ),
        1,
        7,
    )
    return RatingAnswers(
        participant=participant,
        explanation=item * k + method,
        rating=rating,
        explanation_item=np.repeat(np.arange(n_items), k),
        explanation_method=np.tile(np.arange(k), n_items),
        method_names=methods,
    )


def test_means_and_counts_match_pandas():
    answers = _answers()
    frame = pd.DataFrame({"method": answers.method, "rating": answers.rating})
    grouped = frame.groupby("method")["rating"].agg(["mean", "size"])
    results = method_mean_ratings(answers, n_resamples=0)
    for k, result in enumerate(results):
        assert result.estimate == pytest.approx(grouped.loc[k, "mean"])
        assert result.n_answers == grouped.loc[k, "size"]


def test_intervals_equal_materialised_resamples_and_differences_are_paired():
    answers = _answers(1)
    n_resamples = 40
    results = method_mean_ratings(
        answers, reference_method="random", n_resamples=n_resamples, seed=3
    )
    chunk = next(
        iter_resamples(
            "two_way",
            n_participants=answers.n_participants,
            n_items=answers.n_items,
            n_answers=answers.n_answers,
            n_resamples=n_resamples,
            seed=3,
            chunk_size=n_resamples,
        )
    )
    frame = pd.DataFrame(
        {
            "participant": answers.participant_code,
            "item": answers.item_code,
            "method": answers.method,
            "rating": answers.rating,
        }
    )
    slow = []
    for b in range(n_resamples):
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
        resample = frame.merge(drawn_p, on="participant").merge(drawn_i, on="item")
        slow.append(resample.groupby("method")["rating"].mean().reindex(range(3)).to_numpy())
    slow = np.array(slow)
    for k in range(3):
        assert results[k].ci.lower == pytest.approx(np.quantile(slow[:, k], 0.025))
        assert results[k].ci.upper == pytest.approx(np.quantile(slow[:, k], 0.975))
    # Differences to "random" (index 2), from the same resamples.
    differences = [r for r in results if r.reference == "random"]
    assert [d.method for d in differences] == ["attention", "ig"]
    for k, difference in enumerate(differences):
        assert difference.estimate == pytest.approx(results[k].estimate - results[2].estimate)
        assert difference.ci.lower == pytest.approx(np.quantile(slow[:, k] - slow[:, 2], 0.025))
    json.dumps([r.to_dict() for r in results], allow_nan=False)


def test_trial_scheme_resamples_answers():
    answers = _answers(2)
    result = method_mean_ratings(answers, n_resamples=200, resampling="trial", seed=0)[0]
    two_way = method_mean_ratings(answers, n_resamples=200, seed=0)[0]
    # Participants differ strongly here, so ignoring them narrows the interval.
    assert result.ci.upper - result.ci.lower < two_way.ci.upper - two_way.ci.lower


def test_method_without_answers_and_single_participant():
    answers = _answers(3, n_participants=1)
    results = method_mean_ratings(answers, n_resamples=20)
    assert all(r.ci is None and "only 1 participant" in r.reason for r in results)
    empty = RatingAnswers(
        participant=answers.participant,
        explanation=answers.explanation,
        rating=answers.rating,
        explanation_item=answers.explanation_item,
        explanation_method=np.minimum(answers.explanation_method, 1),
        method_names=("a", "b", "never shown"),
    )
    last = method_mean_ratings(empty, n_resamples=10)[2]
    assert last.estimate is None
    assert "no answers" in last.reason
    json.dumps(last.to_dict(), allow_nan=False)


def test_constant_ratings_give_a_zero_width_interval():
    answers = _answers(4)
    constant = RatingAnswers(
        participant=answers.participant,
        explanation=answers.explanation,
        rating=np.full(answers.n_answers, 5.0),
        explanation_item=answers.explanation_item,
        explanation_method=answers.explanation_method,
        method_names=answers.method_names,
    )
    result = method_mean_ratings(constant, n_resamples=50)[0]
    assert result.estimate == 5.0
    assert result.ci.lower == 5.0
    assert result.ci.upper == 5.0


def test_unknown_reference_is_refused():
    with pytest.raises(ValueError, match="reference_method"):
        method_mean_ratings(_answers(), reference_method="lrp")
