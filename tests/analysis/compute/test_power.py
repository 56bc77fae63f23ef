"""Power by simulation: the fast Wald tests against statsmodels' MixedLM, study by study and
as a brute-force power simulation written here with plain numpy, pandas and statsmodels."""

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from analysis.compute.power import (
    FAITHFULNESS_TEST,
    OMNIBUS_TEST,
    PowerCell,
    PowerDesign,
    PowerEstimate,
    PowerModel,
    design_power,
    method_test,
    recommend,
    simulate_studies,
    study_p_values,
)

METHODS = ("gradient", "lrp", "random")
ALPHA = 0.05


def _model(slope=0.14, effects=(0.33, 0.0, 0.0), scale=(1, 7), **overrides):
    values = {
        "method_names": METHODS,
        "reference_method": "random",
        "intercept": 4.0,
        "method_effects": effects,
        "faithfulness_slope": slope,
        "faithfulness_mean": (0.0, 0.0, 0.0),
        "faithfulness_sd": (1.0, 1.0, 1.0),
        "sd_participant": 0.5,
        "sd_item": 0.4,
        "sd_residual": 1.0,
        "scale": scale,
    }
    values.update(overrides)
    return PowerModel(**values)


def _mixedlm_p_values(frame: pd.DataFrame) -> dict[str, float]:
    """Fit the analysis's model with statsmodels' formula interface; return its p-values."""
    frame = frame.assign(group=0, f_sd=frame["f"] / frame["f"].std(ddof=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = smf.mixedlm(
            "rating ~ f_sd + C(method, Treatment('random'))",
            frame,
            groups="group",
            vc_formula={"participant": "0 + C(participant)", "item": "0 + C(item)"},
        ).fit(reml=True)
    found = {FAITHFULNESS_TEST: float(fitted.pvalues["f_sd"])}
    names = []
    for name in ("gradient", "lrp"):
        term = f"C(method, Treatment('random'))[T.{name}]"
        found[method_test(name, "random")] = float(fitted.pvalues[term])
        names.append(term)
    wald = fitted.wald_test(
        np.array([[1.0 if c == n else 0.0 for c in fitted.params.index] for n in names]),
        scalar=True,
    )
    found[OMNIBUS_TEST] = float(wald.pvalue)
    return found


def _brute_force_study(rng, slope, effects, n_participants, n_items):
    """Simulate one study the plain way: every participant rates every item, the method
    rotating with the participant's list (Latin square), ratings rounded to 1..7."""
    rows = []
    u = rng.normal(0.0, 0.5, n_participants)
    v = rng.normal(0.0, 0.4, n_items)
    f = rng.normal(0.0, 1.0, (n_items, len(METHODS)))
    for p in range(n_participants):
        for i in range(n_items):
            m = (i + p % len(METHODS)) % len(METHODS)
            latent = 4.0 + effects[m] + slope * f[i, m] + u[p] + v[i] + rng.normal(0.0, 1.0)
            rating = min(max(round(latent), 1), 7)
            rows.append((p, i, METHODS[m], f[i, m], rating))
    return pd.DataFrame(rows, columns=["participant", "item", "method", "f", "rating"])


def test_p_values_match_mixedlm_study_by_study():
    model = _model()
    design = PowerDesign(n_participants=18, items_per_participant=12, n_items=12, n_methods=3)
    studies = simulate_studies(model, design, 30, np.random.default_rng(5))
    fast = study_p_values(model, studies)
    agree = {test: 0 for test in fast}
    for s in range(30):
        frame = pd.DataFrame(
            {
                "participant": studies.participant,
                "item": studies.item,
                "method": np.asarray(METHODS)[studies.method],
                "f": studies.faithfulness[s, studies.explanation],
                "rating": studies.rating[s],
            }
        )
        reference = _mixedlm_p_values(frame)
        for test, p in reference.items():
            # Moment instead of REML variance components: p-values agree closely, not exactly.
            assert fast[test][s] == pytest.approx(p, abs=0.03 + 0.15 * p), (test, s)
            agree[test] += (fast[test][s] < ALPHA) == (p < ALPHA)
    assert min(agree.values()) >= 28


@pytest.mark.slow
def test_power_agrees_with_a_brute_force_mixedlm_simulation():
    slope, effects = 0.14, (0.33, 0.0, 0.0)
    n_participants, n_items, n_brute = 18, 12, 150
    rng = np.random.default_rng(2024)
    rejections = {FAITHFULNESS_TEST: 0, method_test("gradient", "random"): 0, OMNIBUS_TEST: 0}
    for _ in range(n_brute):
        found = _mixedlm_p_values(_brute_force_study(rng, slope, effects, n_participants, n_items))
        for test in rejections:
            rejections[test] += found[test] < ALPHA
    cell = design_power(
        _model(slope=slope, effects=effects),
        PowerDesign(n_participants=18, items_per_participant=12, n_items=12, n_methods=3),
        n_studies=3000,
        seed=1,
    )
    for test, count in rejections.items():
        brute = count / n_brute
        ours = cell.power_of(test)
        # Independent Monte-Carlo estimates: their difference has this standard error.
        se = np.sqrt(brute * (1 - brute) / n_brute + ours * (1 - ours) / 3000)
        assert 0.2 < ours < 0.9, (test, ours)  # sizes chosen where power is informative
        assert abs(ours - brute) < 3 * se, (test, ours, brute, se)


def test_type_one_error_is_alpha_under_the_null():
    null = _model(slope=0.0, effects=(0.0, 0.0, 0.0))
    design = PowerDesign(n_participants=60, items_per_participant=24, n_items=24, n_methods=3)
    cell = design_power(null, design, n_studies=4000, seed=11)
    # Binomial standard error of a rejection rate of 0.05 over 4000 studies.
    se = np.sqrt(ALPHA * (1 - ALPHA) / 4000)
    for test in cell.tests:
        assert test.n_failed == 0
        assert abs(test.power - ALPHA) < 3.5 * se, (test.test, test.power)
        assert test.mc_se == pytest.approx(np.sqrt(test.power * (1 - test.power) / 4000))


def test_p_values_are_uniform_under_the_null():
    null = _model(slope=0.0, effects=(0.0, 0.0, 0.0), scale=None)
    design = PowerDesign(n_participants=45, items_per_participant=10, n_items=30, n_methods=3)
    studies = simulate_studies(null, design, 1500, np.random.default_rng(3))
    p = study_p_values(null, studies)[FAITHFULNESS_TEST]
    assert stats.kstest(p, "uniform").pvalue > 0.01


def test_power_increases_with_participants():
    model = _model(slope=0.1, effects=(0.2, 0.1, 0.0))
    powers = [
        design_power(
            model,
            PowerDesign(n_participants=n, items_per_participant=12, n_items=24, n_methods=3),
            n_studies=600,
            seed=4,
        )
        for n in (12, 30, 90)
    ]
    for test in (FAITHFULNESS_TEST, OMNIBUS_TEST, method_test("gradient", "random")):
        values = [cell.power_of(test) for cell in powers]
        assert values == sorted(values), (test, values)
        assert values[-1] - values[0] > 0.3, (test, values)


def test_design_follows_the_platforms_latin_square_and_list_order():
    design = PowerDesign(n_participants=14, items_per_participant=4, n_items=10, n_methods=3)
    participant, item, method = design.arrays()
    # Blocks of 4, 4 and 2 instances, three rotations each: 9 lists; participant 9 is
    # back on list 0 (least filled first, in list order).
    assert design.n_lists == 9
    assert item[participant == 0].tolist() == [0, 1, 2, 3]
    assert method[participant == 0].tolist() == [0, 1, 2, 0]
    assert method[participant == 1].tolist() == [1, 2, 0, 1]
    assert item[participant == 6].tolist() == [8, 9]
    assert item[participant == 9].tolist() == item[participant == 0].tolist()
    # Each participant rates an instance at most once.
    assert len(set(zip(participant.tolist(), item.tolist(), strict=True))) == participant.size


def test_simulated_ratings_are_rounded_and_clipped_to_the_scale():
    model = _model(intercept=6.5, sd_residual=1.5)
    design = PowerDesign(n_participants=10, items_per_participant=6, n_items=6, n_methods=3)
    rating = simulate_studies(model, design, 50, np.random.default_rng(0)).rating
    assert set(np.unique(rating)) <= set(range(1, 8))
    assert (rating == 7).mean() > 0.3  # many latent values above 7 are clipped
    continuous = simulate_studies(_model(scale=None), design, 5, np.random.default_rng(0)).rating
    assert not np.all(continuous == np.round(continuous))


def _cell(n_participants, per, powers):
    design = PowerDesign(
        n_participants=n_participants, items_per_participant=per, n_items=per, n_methods=3
    )
    tests = tuple(
        PowerEstimate(test=t, effect=None, power=p, mc_se=0.01, n_studies=100, n_failed=0)
        for t, p in powers.items()
    )
    return PowerCell(
        design=design, n_answers=n_participants * per, ratings_per_explanation=1.0, tests=tests
    )


def test_recommend_returns_the_smallest_design_reaching_the_target_on_every_test():
    cells = [
        _cell(100, 20, {"a": 0.95, "b": 0.9}),  # 2000 answers
        _cell(50, 20, {"a": 0.85, "b": 0.81}),  # 1000 answers
        _cell(100, 10, {"a": 0.86, "b": 0.79}),  # 1000 answers, b below target
        _cell(20, 20, {"a": 0.5, "b": 0.4}),
    ]
    best = recommend(cells, tests=["a", "b"], target=0.8)
    assert best.design == cells[1].design
    assert best.power == (0.85, 0.81)
    assert recommend(cells, tests=["a"], target=0.8).design == cells[1].design  # fewer people
    assert recommend(cells, tests=["b"], target=0.9).design == cells[0].design
    none = recommend(cells, tests=["a", "b"], target=0.99)
    assert none.design is None
    assert "100 participants x 20 items" in none.reason
    assert "simulate larger" in none.reason
    with pytest.raises(ValueError, match="target"):
        recommend(cells, tests=["a"], target=1.5)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"sd_item": -0.1}, "sd_item"),
        ({"sd_residual": 0.0}, "sd_residual"),
        ({"method_effects": (0.1, 0.2)}, "method_effects"),
        ({"method_effects": (0.1, 0.2, 0.3)}, "method_effects"),
        ({"reference_method": "lime"}, "reference_method"),
        ({"scale": (7, 1)}, "scale"),
    ],
)
def test_bad_parameters_name_the_field(overrides, field):
    with pytest.raises(ValueError, match=f"^{field}:"):
        _model(**overrides)


def test_bad_design_names_the_field():
    with pytest.raises(ValueError, match="^items_per_participant:"):
        PowerDesign(n_participants=10, items_per_participant=12, n_items=6, n_methods=3)
    with pytest.raises(ValueError, match="^n_participants:"):
        PowerDesign(n_participants=1, items_per_participant=6, n_items=6, n_methods=3)
    with pytest.raises(ValueError, match="^n_methods:"):
        simulate_studies(
            _model(),
            PowerDesign(n_participants=4, items_per_participant=6, n_items=6, n_methods=2),
            1,
            np.random.default_rng(0),
        )


def test_a_singular_covariance_has_no_joint_test_and_spares_the_other_studies():
    from analysis.compute.crossed_wald import WaldBatch

    estimate = np.array([[0.0, 0.5, 0.2], [0.0, 0.5, 0.2]])
    good = np.diag([1.0, 0.04, 0.09])
    singular = np.array([[1.0, 0, 0], [0, 0.04, 0.04], [0, 0.04, 0.04]])  # two equal contrasts
    batch = WaldBatch(estimate, np.stack([singular, good]), np.ones((2, 3)))
    p = batch.joint_p_value([1, 2])
    assert np.isnan(p[0])
    statistic = 0.5**2 / 0.04 + 0.2**2 / 0.09
    assert p[1] == pytest.approx(stats.chi2.sf(statistic, df=2), rel=1e-12)
