"""Input checks name the argument that is wrong."""

import numpy as np
import pytest

from analysis.compute.arrays import (
    bool_array,
    check_names,
    dense_codes,
    float_array,
    index_array,
    same_length,
)


def test_index_array_accepts_whole_numbers():
    assert index_array("item", [0, 2.0, 5]).tolist() == [0, 2, 5]
    assert index_array("item", []).size == 0


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ([0, -1], "item: indices must be >= 0"),
        ([0, 1.5], "item: expected whole-number"),
        ([[0, 1]], "item: expected a 1-d"),
        (["a"], "item: expected integer"),
        ([True, False], "item: expected integer"),
        ([0, 3], "item: indices must be < 3"),
    ],
)
def test_index_array_rejects(values, message):
    with pytest.raises(ValueError, match=message):
        index_array("item", values, bound=3)


def test_float_array_nan_policy():
    assert np.isnan(float_array("score", [1.0, np.nan], allow_nan=True)[1])
    with pytest.raises(ValueError, match="rating: missing"):
        float_array("rating", [1.0, np.nan])
    with pytest.raises(ValueError, match="rating: infinite"):
        float_array("rating", [np.inf], allow_nan=True)


def test_bool_array():
    assert bool_array("post", [0, 1, 1]).tolist() == [False, True, True]
    with pytest.raises(ValueError, match="post: expected booleans"):
        bool_array("post", [0, 2])


def test_same_length_lists_lengths():
    with pytest.raises(ValueError, match="a=2, b=3"):
        same_length(a=np.zeros(2), b=np.zeros(3))


def test_dense_codes_keep_sorted_order():
    codes, count = dense_codes(np.array([40, 7, 40, 12]))
    assert codes.tolist() == [2, 0, 2, 1]
    assert count == 3


def test_check_names():
    with pytest.raises(ValueError, match="distinct"):
        check_names("method_names", ("a", "a"), 2)
    with pytest.raises(ValueError, match="index 2 is used"):
        check_names("method_names", ("a", "b"), 3)
