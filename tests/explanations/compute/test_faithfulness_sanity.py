"""Randomisation sanity check: Spearman's rho, against a worked example and scipy."""

import numpy as np
import pytest
from scipy import stats

from explanations.compute.faithfulness import faithfulness_scores
from explanations.compute.faithfulness.sanity import randomization_spearman
from tests.explanations.compute.toy_probabilities import CountingModel


def test_worked_example():
    # Ranks (1,3,2,4) and (2,1,4,3): sum d^2 = 1 + 4 + 4 + 1 = 10, rho = 1 - 60/60 = 0.
    trained, randomized = np.array([0.1, 0.5, 0.3, 0.9]), np.array([0.2, 0.1, 0.4, 0.3])
    assert randomization_spearman(trained, randomized) == pytest.approx(0.0, abs=1e-12)
    # Same ranks -> 1.
    assert randomization_spearman(trained, trained * 3 + 1) == pytest.approx(1.0)


def test_absolute_option_matches_scipy_on_magnitudes():
    rng = np.random.default_rng(0)
    trained, randomized = rng.normal(size=20), rng.normal(size=20)
    assert randomization_spearman(trained, randomized, absolute=True) == pytest.approx(
        stats.spearmanr(np.abs(trained), np.abs(randomized)).statistic
    )
    assert randomization_spearman(trained, randomized) == pytest.approx(
        stats.spearmanr(trained, randomized).statistic
    )


def test_in_batched_scores():
    rng = np.random.default_rng(1)
    trained = [rng.normal(size=5), rng.normal(size=3)]
    randomized = [rng.normal(size=5), np.ones(3)]
    result = faithfulness_scores(
        CountingModel(),
        [[1, 0, 1, 0, 1], [0, 0, 1]],
        {"gradient": trained},
        metrics=["randomization_spearman"],
        randomized={"gradient": randomized},
    )["gradient"]
    assert result[0].values["randomization_spearman"] == pytest.approx(
        stats.spearmanr(trained[0], randomized[0]).statistic
    )
    assert result[1].values["randomization_spearman"] is None
    assert "random-model scores are all equal" in result[1].reasons["randomization_spearman"]


def test_needs_the_randomized_scores():
    with pytest.raises(ValueError, match="randomized"):
        faithfulness_scores(
            CountingModel(), [[1]], {"m": [[0.1]]}, metrics=["randomization_spearman"]
        )
    with pytest.raises(ValueError, match="no scores for method 'm'"):
        faithfulness_scores(
            CountingModel(),
            [[1]],
            {"m": [[0.1]]},
            metrics=["randomization_spearman"],
            randomized={"other": [[0.2]]},
        )
