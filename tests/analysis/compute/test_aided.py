"""Aided-task accuracy, reliance and time against pandas and materialised resamples."""

import json

import numpy as np
import pandas as pd
import pytest

from analysis.compute.aided import AidedAnswers, aided_task_summary, weighted_median
from analysis.compute.bootstrap import iter_resamples

CONDITIONS = ("no explanation", "attention", "ig")


def _study(seed, n_participants=24, n_items=15):
    rng = np.random.default_rng(seed)
    participant = np.repeat(np.arange(n_participants), n_items)
    item = np.tile(np.arange(n_items), n_participants)
    condition = np.repeat(np.arange(n_participants) % 3, n_items)
    gold = rng.integers(0, 3, n_items)[item]
    model_output = np.where(rng.random(n_items) < 0.75, gold[:n_items], (gold[:n_items] + 1) % 3)[
        item
    ]
    follows = rng.random(item.size) < np.array([0.5, 0.7, 0.8])[condition]
    answer = np.where(follows, model_output, rng.integers(0, 3, item.size))
    seconds = rng.lognormal(2.5, 0.5, item.size) * np.array([1.0, 1.2, 1.3])[condition]
    seconds[rng.random(item.size) < 0.05] = np.nan  # not recorded
    return AidedAnswers(
        participant=participant,
        item=item,
        condition=condition,
        answer=answer,
        gold=gold,
        model_output=model_output,
        seconds=seconds.round(1),
        condition_names=CONDITIONS,
    )


def _statistics(frame):
    right = frame["model"] == frame["gold"]
    agrees = frame["answer"] == frame["model"]
    grouped = frame.assign(
        correct=frame["answer"] == frame["gold"],
        agrees=agrees,
        agrees_right=agrees.where(right),
        agrees_wrong=agrees.where(~right),
    ).groupby("condition")
    return pd.DataFrame(
        {
            "accuracy": grouped["correct"].mean(),
            "agreement_with_model": grouped["agrees"].mean(),
            "agreement_when_model_right": grouped["agrees_right"].mean(),
            "agreement_when_model_wrong": grouped["agrees_wrong"].mean(),
            "median_seconds": grouped["seconds"].median(),
        }
    ).reindex(range(3))


def _frame(answers):
    return pd.DataFrame(
        {
            "participant": answers.participant_code,
            "item": answers.item_code,
            "condition": answers.condition,
            "answer": answers.answer,
            "gold": answers.gold,
            "model": answers.model_output,
            "seconds": answers.seconds,
        }
    )


def test_statistics_match_pandas():
    answers = _study(0)
    expected = _statistics(_frame(answers))
    for k, summary in enumerate(aided_task_summary(answers, n_resamples=0)):
        for name in expected.columns:
            assert getattr(summary, name).value == pytest.approx(expected.loc[k, name])
        assert summary.n_timed == int(np.isfinite(answers.seconds[answers.condition == k]).sum())


def test_intervals_equal_materialised_resamples():
    answers = _study(1)
    results = aided_task_summary(
        answers, reference_condition="no explanation", n_resamples=25, level=0.8, seed=6
    )
    chunk = next(
        iter_resamples(
            "two_way",
            n_participants=answers.n_participants,
            n_items=answers.n_items,
            n_answers=answers.answer.size,
            n_resamples=25,
            seed=6,
            chunk_size=25,
        )
    )
    frame = _frame(answers)
    draws = []
    for b in range(25):
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
        draws.append(_statistics(frame.merge(drawn_p, on="participant").merge(drawn_i, on="item")))
    for k, summary in enumerate(results):
        for name in draws[0].columns:
            values = np.array([d.loc[k, name] for d in draws])
            valid = values[np.isfinite(values)]
            estimate = getattr(summary, name)
            assert estimate.ci.lower == pytest.approx(np.quantile(valid, 0.1)), name
            assert estimate.ci.upper == pytest.approx(np.quantile(valid, 0.9)), name
            if k:
                baseline = np.array([d.loc[0, name] for d in draws])
                difference = summary.differences[name]
                paired = values - baseline
                paired = paired[np.isfinite(paired)]
                assert difference.ci.lower == pytest.approx(np.quantile(paired, 0.1)), name
    json.dumps([r.to_dict() for r in results], allow_nan=False)


def test_weighted_median_is_numpy_median_of_repeated_values():
    rng = np.random.default_rng(2)
    values = np.sort(rng.normal(size=9).round(1))
    weights = rng.integers(0, 3, size=(20, 9)).astype(float)
    got = weighted_median(values, weights)
    for b in range(20):
        repeated = np.repeat(values, weights[b].astype(int))
        if repeated.size:
            assert got[b] == pytest.approx(np.median(repeated))
        else:
            assert np.isnan(got[b])


def test_condition_without_timing_or_answers():
    answers = _study(3)
    untimed = AidedAnswers(
        participant=answers.participant,
        item=answers.item,
        condition=answers.condition,
        answer=answers.answer,
        gold=answers.gold,
        model_output=answers.model_output,
        seconds=np.where(answers.condition == 2, np.nan, answers.seconds),
        condition_names=(*CONDITIONS, "never run"),
    )
    results = aided_task_summary(untimed, n_resamples=20)
    assert results[2].median_seconds.value is None
    assert results[2].median_seconds.reason
    assert results[3].accuracy.value is None
    assert results[3].n_answers == 0
    json.dumps([r.to_dict() for r in results], allow_nan=False)


def test_bad_input():
    answers = _study(4)
    with pytest.raises(ValueError, match="seconds: times must be >= 0"):
        AidedAnswers(
            participant=answers.participant,
            item=answers.item,
            condition=answers.condition,
            answer=answers.answer,
            gold=answers.gold,
            model_output=answers.model_output,
            seconds=-np.ones(answers.answer.size),
            condition_names=CONDITIONS,
        )
    with pytest.raises(ValueError, match="reference_condition"):
        aided_task_summary(answers, reference_condition="lrp")
