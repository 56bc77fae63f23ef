"""Comprehensiveness, sufficiency and AOPC on a worked example computed by hand."""

from fractions import Fraction as F

import numpy as np
import pytest

from explanations.compute.faithfulness import faithfulness_scores
from explanations.compute.faithfulness.erasure import (
    DEFAULT_BINS,
    aopc,
    check_bins,
    erasure_size,
)
from tests.explanations.compute.toy_probabilities import CountingModel

# Counting model: p1(x) = (1 + ones) / (2 + n). Six ones among ten tokens:
# p1(x) = 7/12, so the predicted class is 1.
SEQ = [1, 1, 0, 1, 1, 0, 1, 0, 0, 1]
# Explanation order: positions 0, 3, 6, 9, 4 (all ones), 7, 1, 5, 8, 2.
SCORES = [0.9, 0.1, -0.5, 0.8, 0.3, 0.0, 0.7, 0.2, -0.1, 0.6]


def test_erasure_size_is_the_ceiling_of_the_fraction():
    assert [erasure_size(10, t) for t in DEFAULT_BINS] == [1, 1, 1, 2, 5]
    assert erasure_size(30, 0.1) == 3  # 0.1 * 30 is 3.0000000000000004 in floating point
    assert erasure_size(7, 0.5) == 4
    assert erasure_size(200, 0.01) == 2
    assert erasure_size(3, 1.0) == 3


def test_comprehensiveness_and_sufficiency_worked_example():
    scores = faithfulness_scores(
        CountingModel(), [SEQ], {"m": [SCORES]}, metrics=["comprehensiveness", "sufficiency"]
    )["m"][0].values
    base = F(7, 12)
    # k = 1 (bins 1, 5, 10%): delete position 0 -> 5 ones in 9 tokens, p1 = 6/11;
    # keep only position 0 -> [1], p1 = 2/3.
    comp1, suff1 = base - F(6, 11), base - F(2, 3)
    # k = 2 (20%): delete positions 0, 3 -> 4 ones in 8 tokens, p1 = 5/10; keep [1, 1], p1 = 3/4.
    comp2, suff2 = base - F(5, 10), base - F(3, 4)
    # k = 5 (50%): delete the five ones -> [1, 0, 0, 0, 0], p1 = 2/7; keep five ones, p1 = 6/7.
    comp5, suff5 = base - F(2, 7), base - F(6, 7)
    expected = {
        "comprehensiveness@1": comp1,
        "comprehensiveness@5": comp1,
        "comprehensiveness@10": comp1,
        "comprehensiveness@20": comp2,
        "comprehensiveness@50": comp5,
        "comprehensiveness_aopc": (3 * comp1 + comp2 + comp5) / 5,
        "sufficiency@1": suff1,
        "sufficiency@5": suff1,
        "sufficiency@10": suff1,
        "sufficiency@20": suff2,
        "sufficiency@50": suff5,
        "sufficiency_aopc": (3 * suff1 + suff2 + suff5) / 5,
    }
    assert scores.keys() == expected.keys()
    for name, value in expected.items():
        assert scores[name] == pytest.approx(float(value), abs=1e-12), name


def test_custom_bins_and_explained_class():
    # Explaining class 0 instead of the predicted class: p0 = 1 - p1, so every
    # difference changes sign. Bin 100% deletes everything: p1(empty) = 1/2.
    result = faithfulness_scores(
        CountingModel(),
        [SEQ],
        {"m": [SCORES]},
        metrics=["comprehensiveness"],
        bins=[0.3, 1.0],
        targets=[0],
    )["m"][0].values
    # k = 3: delete positions 0, 3, 6 -> 3 ones in 7 tokens, p1 = 4/9.
    comp3 = (1 - F(7, 12)) - (1 - F(4, 9))
    comp_all = (1 - F(7, 12)) - (1 - F(1, 2))
    assert result == pytest.approx(
        {
            "comprehensiveness@30": float(comp3),
            "comprehensiveness@100": float(comp_all),
            "comprehensiveness_aopc": float((comp3 + comp_all) / 2),
        }
    )


def test_deletion_and_selection_keep_the_original_token_order():
    model = CountingModel()
    # Top two tokens are positions 1 and 2 (ids 11 and 12), whichever scores higher.
    faithfulness_scores(
        model,
        [[10, 11, 12, 13]],
        {"m": [[0.1, 0.5, 0.9, 0.2]]},
        metrics=["comprehensiveness", "sufficiency"],
        bins=[0.5],
    )
    ((sent, _),) = model.calls
    assert [10, 13] in sent  # top two deleted
    assert [11, 12] in sent  # only the top two kept, in text order
    assert [10, 11, 12, 13] in sent  # the whole instance, for p_c(x)


def test_aopc_is_the_mean_over_bins():
    assert aopc([0.1, 0.2, 0.6]) == pytest.approx(0.3)


def test_bins_are_checked():
    assert check_bins([0.05, 0.5]) == (0.05, 0.5)
    for bad in ([], [0.0], [1.5], [0.05, 0.05]):
        with pytest.raises(ValueError, match="bins"):
            check_bins(bad)


def test_given_base_probabilities_are_used():
    model = CountingModel()
    base = np.array([[0.2, 0.8]])
    result = faithfulness_scores(
        model, [SEQ], {"m": [SCORES]}, metrics=["comprehensiveness"], bins=[0.2], base_probs=base
    )["m"][0].values
    # 0.8 - p1(two ones deleted) = 0.8 - 1/2; the whole instance is not sent to the model.
    assert result["comprehensiveness@20"] == pytest.approx(0.3)
    ((sent, _),) = model.calls
    assert SEQ not in sent
