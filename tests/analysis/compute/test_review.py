"""Expert-review summaries against pandas and the krippendorff package."""

import json

import krippendorff
import numpy as np
import pandas as pd
import pytest

from analysis.compute.review import adjudications_by_method, criteria_by_method, flags_by_method

METHODS = ("attention", "ig", "random")
EXPLANATION_METHOD = np.array([0, 1, 2, 0, 1, 2, 0, 1])


def test_criteria_means_and_agreement():
    rng = np.random.default_rng(0)
    rows = [(r, e, c) for r in range(3) for e in range(8) for c in range(2) if rng.random() < 0.85]
    reviewer, explanation, criterion = (np.array(x) for x in zip(*rows, strict=True))
    value = np.clip(np.round(3 + rng.normal(0, 1, explanation.size)), 1, 5)
    results = criteria_by_method(
        reviewer,
        explanation,
        criterion,
        value,
        EXPLANATION_METHOD,
        METHODS,
        ("faithful-looking", "clear"),
    )
    frame = pd.DataFrame(
        {
            "reviewer": reviewer,
            "explanation": explanation,
            "criterion": criterion,
            "value": value,
            "method": EXPLANATION_METHOD[explanation],
        }
    )
    assert len(results) == 2 * 4
    for result in results:
        c = ("faithful-looking", "clear").index(result.criterion)
        subset = frame[frame["criterion"] == c]
        if result.method is not None:
            subset = subset[subset["method"] == METHODS.index(result.method)]
        assert result.mean == pytest.approx(subset["value"].mean())
        assert result.std_dev == pytest.approx(subset["value"].std())
        assert result.n_reviewers == subset["reviewer"].nunique()
        matrix = subset.pivot(index="reviewer", columns="explanation", values="value").to_numpy()
        if result.agreement.alpha is not None:
            reference = krippendorff.alpha(reliability_data=matrix, level_of_measurement="ordinal")
            assert result.agreement.alpha == pytest.approx(reference, abs=1e-10)
    json.dumps([r.to_dict() for r in results], allow_nan=False)


def test_flags_count_explanations_flagged_among_reviewed():
    results = flags_by_method(
        reviewer=[0, 1, 0, 2],
        explanation=[0, 0, 3, 1],
        flag=[0, 0, 1, 0],
        reviewed_explanations=[0, 1, 2, 3, 4, 5],
        explanation_method=EXPLANATION_METHOD,
        method_names=METHODS,
        flag_names=("misleading", "offensive"),
    )
    by_key = {(r.method, r.flag): r for r in results}
    misleading = by_key["attention", "misleading"]
    # Attention's reviewed explanations are 0 and 3; explanation 0 was flagged twice.
    assert (misleading.n_flags, misleading.n_explanations_flagged, misleading.n_reviewed) == (
        2,
        1,
        2,
    )
    assert misleading.fraction_flagged == 0.5
    assert misleading.n_reviewers == 2
    assert by_key["attention", "offensive"].fraction_flagged == 0.5
    assert by_key["random", "misleading"].fraction_flagged == 0.0
    with pytest.raises(ValueError, match="not in reviewed_explanations"):
        flags_by_method([0], [7], [0], [0, 1], EXPLANATION_METHOD, METHODS, ("misleading",))


def test_adjudications():
    results = adjudications_by_method(
        explanation=[0, 3, 1, 6],
        outcome=[0, 1, 1, 0],
        explanation_method=EXPLANATION_METHOD,
        method_names=METHODS,
        outcome_names=("upheld", "dismissed"),
    )
    assert results[0].counts == {"upheld": 2, "dismissed": 1}
    assert results[0].fractions["upheld"] == pytest.approx(2 / 3)
    assert results[2].n_adjudicated == 0
    assert results[2].fractions["upheld"] is None
    assert results[2].reason
    json.dumps([r.to_dict() for r in results], allow_nan=False)
    with pytest.raises(ValueError, match="more than one adjudicated outcome"):
        adjudications_by_method([0, 0], [0, 1], EXPLANATION_METHOD, METHODS, ("a", "b"))


def test_duplicate_rating_is_refused():
    with pytest.raises(ValueError, match="twice"):
        criteria_by_method([0, 0], [1, 1], [0, 0], [3.0, 4.0], EXPLANATION_METHOD, METHODS, ("c",))
