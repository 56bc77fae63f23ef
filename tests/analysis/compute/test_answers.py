"""The rating table: checks on construction and per-explanation means against pandas."""

import numpy as np
import pandas as pd
import pytest

from analysis.compute.answers import RatingAnswers


def _answers(**changes):
    arguments = {
        "participant": np.array([10, 10, 42, 42, 7]),
        "explanation": np.array([0, 1, 0, 2, 2]),
        "rating": np.array([4.0, 2.0, 5.0, 1.0, 3.0]),
        "explanation_item": np.array([3, 3, 9, 8]),
        "explanation_method": np.array([0, 1, 0, 1]),
        "method_names": ("attention", "random"),
    }
    arguments.update(changes)
    return RatingAnswers(**arguments)


def test_codes_count_only_clusters_that_answered():
    answers = _answers()
    assert answers.n_participants == 3
    assert answers.n_items == 2  # items 3 and 9; item 8's explanation was never rated
    assert answers.participant_code.tolist() == [1, 1, 2, 2, 0]
    assert answers.explanation_item_code.tolist() == [0, 0, 1, -1]
    assert answers.method.tolist() == [0, 1, 0, 0, 0]


def test_explanation_means_match_pandas():
    answers = _answers()
    means, counts = answers.explanation_means()
    expected = pd.Series(answers.rating).groupby(answers.explanation).mean()
    np.testing.assert_allclose(means[expected.index], expected.to_numpy())
    assert np.isnan(means[3])
    assert counts.tolist() == [2, 1, 2, 0]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"explanation": np.array([0, 1, 0, 2, 4])}, "explanation: indices must be < 4"),
        ({"rating": np.array([4.0, np.nan, 5.0, 1.0, 3.0])}, "rating: missing"),
        ({"participant": np.array([1, 2])}, "same length"),
        ({"method_names": ("attention",)}, "method_names"),
    ],
)
def test_bad_tables_are_refused(changes, message):
    with pytest.raises(ValueError, match=message):
        _answers(**changes)
