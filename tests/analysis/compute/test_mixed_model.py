"""Crossed random-effects model: recovers simulated components; equals ANOVA when balanced."""

import json

import numpy as np
import pytest

from analysis.compute.answers import RatingAnswers
from analysis.compute.mixed_model import crossed_random_effects

SD_PARTICIPANT, SD_ITEM, SD_RESIDUAL = 0.8, 0.6, 1.0
SLOPE, METHOD_EFFECTS = 0.5, (0.0, 0.3, -0.2)


def _balanced(seed, n_participants=40, n_items=30, with_faithfulness=True):
    rng = np.random.default_rng(seed)
    k = len(METHOD_EFFECTS)
    grid = np.meshgrid(np.arange(n_participants), np.arange(n_items), np.arange(k), indexing="ij")
    participant, item, method = (g.ravel() for g in grid)
    faithfulness = rng.normal(size=n_items * k)
    explanation = item * k + method
    rating = (
        1.0
        + (SLOPE * faithfulness[explanation] if with_faithfulness else 0.0)
        + np.asarray(METHOD_EFFECTS)[method]
        + rng.normal(0, SD_PARTICIPANT, n_participants)[participant]
        + rng.normal(0, SD_ITEM, n_items)[item]
        + rng.normal(0, SD_RESIDUAL, participant.size)
    )
    answers = RatingAnswers(
        participant=participant,
        explanation=explanation,
        rating=rating,
        explanation_item=np.repeat(np.arange(n_items), k),
        explanation_method=np.tile(np.arange(k), n_items),
        method_names=("attention", "ig", "random"),
    )
    return answers, faithfulness


def test_recovers_simulated_effects_and_variance_components():
    answers, faithfulness = _balanced(0, n_participants=50, n_items=40)
    result = crossed_random_effects(answers, faithfulness, faithfulness_name="comprehensiveness")
    assert result.converged is True
    assert result.reason is None
    fixed = {effect.term: effect for effect in result.fixed_effects}
    slope = fixed["comprehensiveness"]
    assert slope.ci_lower < SLOPE < slope.ci_upper
    assert slope.estimate == pytest.approx(SLOPE, abs=0.05)
    assert fixed["method[ig] - method[attention]"].estimate == pytest.approx(0.3, abs=0.06)
    assert fixed["method[random] - method[attention]"].estimate == pytest.approx(-0.2, abs=0.06)
    components = {c.name: c.variance for c in result.variance_components}
    # Sampling error of a variance from 40-50 clusters is about sqrt(2/40) ~ 22%.
    assert components["participant"] == pytest.approx(SD_PARTICIPANT**2, rel=0.35)
    assert components["item"] == pytest.approx(SD_ITEM**2, rel=0.35)
    assert components["residual"] == pytest.approx(SD_RESIDUAL**2, rel=0.05)
    json.dumps(result.to_dict(), allow_nan=False)


def test_balanced_design_reml_equals_anova_estimates():
    # For a balanced crossed design REML equals the ANOVA (expected mean squares)
    # estimates whenever these are positive, so compute those by hand.
    answers, _ = _balanced(2, with_faithfulness=False)
    n_p, n_i, n_m = 40, 30, 3
    y = answers.rating
    p, i, m = answers.participant_code, answers.item_code, answers.method
    grand = y.mean()
    ss_p = n_i * n_m * ((np.bincount(p, y) / (n_i * n_m) - grand) ** 2).sum()
    ss_i = n_p * n_m * ((np.bincount(i, y) / (n_p * n_m) - grand) ** 2).sum()
    ss_m = n_p * n_i * ((np.bincount(m, y) / (n_p * n_i) - grand) ** 2).sum()
    ss_e = ((y - grand) ** 2).sum() - ss_p - ss_i - ss_m
    ms_e = ss_e / (y.size - 1 - (n_p - 1) - (n_i - 1) - (n_m - 1))
    expected = {
        "participant": (ss_p / (n_p - 1) - ms_e) / (n_i * n_m),
        "item": (ss_i / (n_i - 1) - ms_e) / (n_p * n_m),
        "residual": ms_e,
    }
    result = crossed_random_effects(answers)
    assert result.formula == "rating ~ 1 + method + (1|participant) + (1|item)"
    for component in result.variance_components:
        assert component.variance == pytest.approx(expected[component.name], rel=1e-3)
    # Balanced fixed effects are differences of method means.
    means = np.bincount(m, y) / (n_p * n_i)
    fixed = {effect.term: effect.estimate for effect in result.fixed_effects}
    assert fixed["method[ig] - method[attention]"] == pytest.approx(means[1] - means[0], abs=1e-6)


def test_constant_ratings_are_not_fitted():
    answers, faithfulness = _balanced(3, n_participants=5, n_items=4)
    constant = RatingAnswers(
        participant=answers.participant,
        explanation=answers.explanation,
        rating=np.full(answers.n_answers, 3.0),
        explanation_item=answers.explanation_item,
        explanation_method=answers.explanation_method,
        method_names=answers.method_names,
    )
    result = crossed_random_effects(constant, faithfulness)
    assert result.fixed_effects == ()
    assert "same" in result.reason


def test_single_participant_drops_that_component_with_a_note():
    answers, faithfulness = _balanced(4, n_participants=1, n_items=40)
    result = crossed_random_effects(answers, faithfulness, reference_method="random")
    assert [c.name for c in result.variance_components] == ["item", "residual"]
    assert any("only one participant" in note for note in result.notes)
    assert result.fixed_effects[2].term == "method[attention] - method[random]"


def test_missing_and_constant_faithfulness_are_reported():
    answers, faithfulness = _balanced(5, n_participants=8, n_items=10)
    scores = faithfulness.copy()
    scores[:3] = np.nan
    result = crossed_random_effects(answers, scores)
    assert any("left out" in note for note in result.notes)
    assert result.n_answers == answers.n_answers - 3 * 8
    flat = crossed_random_effects(answers, np.ones_like(faithfulness))
    assert any("constant" in note for note in flat.notes)
    assert all(e.term != "faithfulness" for e in flat.fixed_effects)


def test_standardized_slope_is_per_standard_deviation():
    answers, faithfulness = _balanced(6, n_participants=20, n_items=20)
    raw = crossed_random_effects(answers, faithfulness)
    scaled = crossed_random_effects(answers, faithfulness, standardize=True)
    spread = faithfulness[answers.explanation].std()
    assert scaled.fixed_effects[1].estimate == pytest.approx(
        raw.fixed_effects[1].estimate * spread, rel=1e-4
    )
