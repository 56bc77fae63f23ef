"""Krippendorff's alpha against his worked example and the ``krippendorff`` package."""

import json

import krippendorff
import numpy as np
import pytest

from analysis.compute.agreement import krippendorff_alpha, krippendorff_alpha_long

NAN = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C:
# 4 observers x 12 units with missing values.
WORKED_EXAMPLE = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)
LEVELS = ("nominal", "ordinal", "interval", "ratio")


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_worked_example_matches_published_values(level, published):
    result = krippendorff_alpha(WORKED_EXAMPLE, level)
    assert round(result.alpha, 3) == published
    # Unit 12 has a single value, so 11 units and 40 of 41 values are pairable.
    assert result.n_units == 11
    assert result.n_values == 40


def test_worked_example_nominal_by_hand():
    # Coincidence-matrix route for the nominal metric, computed here from scratch:
    # o_cc = sum_u n_uc (n_uc - 1) / (m_u - 1); alpha = 1 - (n-1)(n - sum o_cc)/(n^2 - sum n_c^2).
    diagonal = 0.0
    frequencies: dict[float, int] = {}
    n = 0
    for column in WORKED_EXAMPLE.T:
        values = column[~np.isnan(column)]
        if values.size < 2:
            continue
        n += values.size
        for value in np.unique(values):
            count = int((values == value).sum())
            diagonal += count * (count - 1) / (values.size - 1)
            frequencies[value] = frequencies.get(value, 0) + count
    expected = n * n - sum(c * c for c in frequencies.values())
    by_hand = 1 - (n - 1) * (n - diagonal) / expected
    assert krippendorff_alpha(WORKED_EXAMPLE, "nominal").alpha == pytest.approx(by_hand, abs=1e-12)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("seed", range(4))
def test_random_data_with_missing_values_matches_package(level, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 7, size=(6, 50)).astype(float)
    data += rng.normal(0, 1, size=(1, 50)).round()  # some agreement between raters
    data = np.abs(data)
    data[rng.random(data.shape) < 0.3] = NAN
    ours = krippendorff_alpha(data, level).alpha
    reference = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert ours == pytest.approx(reference, abs=1e-10)


@pytest.mark.parametrize("level", ["interval", "ratio", "ordinal"])
def test_continuous_values_match_package(level):
    rng = np.random.default_rng(7)
    truth = rng.gamma(2.0, 1.0, size=30)
    data = truth + rng.normal(0, 0.5, size=(4, 30))
    data = np.abs(data)
    data[rng.random(data.shape) < 0.2] = NAN
    ours = krippendorff_alpha(data, level).alpha
    reference = krippendorff.alpha(reliability_data=data, level_of_measurement=level)
    assert ours == pytest.approx(reference, abs=1e-9)


def test_long_form_equals_matrix_form():
    raters, units = np.nonzero(~np.isnan(WORKED_EXAMPLE))
    values = WORKED_EXAMPLE[raters, units]
    shuffled = np.random.default_rng(0).permutation(values.size)
    for level in LEVELS:
        long = krippendorff_alpha_long(units[shuffled] * 10 + 3, values[shuffled], level)
        assert long.alpha == pytest.approx(krippendorff_alpha(WORKED_EXAMPLE, level).alpha)


def test_perfect_agreement_is_one():
    data = np.array([[1, 2, 3, NAN], [1, 2, 3, 4], [NAN, 2, 3, 4]])
    for level in LEVELS:
        assert krippendorff_alpha(data, level).alpha == pytest.approx(1.0)


def test_no_variation_is_undefined_not_nan():
    result = krippendorff_alpha(np.array([[2, 2, 2], [2, 2, NAN]]), "interval")
    assert result.alpha is None
    assert "identical" in result.reason
    json.dumps(result.to_dict(), allow_nan=False)


def test_no_pairable_unit_is_undefined():
    result = krippendorff_alpha(np.array([[1, NAN, 3], [NAN, 2, NAN]]), "nominal")
    assert result.alpha is None
    assert result.n_units == 0
    assert "two or more raters" in result.reason


def test_one_rater_is_undefined():
    result = krippendorff_alpha(np.array([[1.0, 2.0, 3.0]]), "ordinal")
    assert result.alpha is None


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="raters x units"):
        krippendorff_alpha(np.ones(3), "nominal")
    with pytest.raises(ValueError, match="level"):
        krippendorff_alpha(WORKED_EXAMPLE, "cardinal")
    with pytest.raises(ValueError, match="non-negative"):
        krippendorff_alpha(-WORKED_EXAMPLE, "ratio")
    with pytest.raises(ValueError, match="same length|differ in length"):
        krippendorff_alpha_long([0, 0, 1], [1.0, 2.0], "nominal")
