"""Answer parsing shared by the study types."""

import pytest
from django.core.exceptions import ValidationError

from studies.forms import parse_positions
from studies.types.answers import clean_label, clean_scale
from studies.types.base import Option
from studies.types.rationale_annotation import parse_indices


def test_integer_zero_from_a_json_client_is_the_first_label():
    assert clean_label({"label": 0}, ["negative", "positive"]) == 0
    assert clean_label({"label": "1"}, ["negative", "positive"]) == 1


@pytest.mark.parametrize("data", [{}, {"label": None}, {"label": ""}])
def test_missing_label_asks_for_one(data):
    with pytest.raises(ValidationError, match="Please choose one of the labels"):
        clean_label(data, ["negative", "positive"])


@pytest.mark.parametrize("value", [2, "7", True, "-1"])
def test_out_of_range_or_wrong_type_is_refused(value):
    with pytest.raises(ValidationError, match="must be one of"):
        clean_label({"label": value}, ["negative", "positive"])


def test_scale_accepts_integers_and_refuses_out_of_range():
    assert clean_scale({"rating": 5}, "rating", 5, "a rating") == 5
    with pytest.raises(ValidationError, match="from 1 to 5"):
        clean_scale({"rating": 0}, "rating", 5, "a rating")


@pytest.mark.parametrize(
    ("parse", "match"),
    [
        (lambda v: clean_label({"label": v}, ["negative", "positive"]), "must be one of"),
        (lambda v: clean_scale({"rating": v}, "rating", 5, "a rating"), "whole number from 1"),
        (lambda v: Option("points", "points", int, 5, low=2).clean(v), "expected a whole number"),
        (lambda v: parse_indices({"tokens": v}, 10), "sent as word numbers"),
        (lambda v: parse_positions(v, "Attention checks"), "is not a position"),
    ],
    ids=["label", "scale", "option", "tokens", "positions"],
)
def test_superscript_digits_are_refused_clearly(parse, match):
    """A superscript two passes str.isdigit() but not int(): refused with a message."""
    with pytest.raises(ValidationError, match=match):
        parse("²")
