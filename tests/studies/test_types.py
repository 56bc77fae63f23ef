"""Study types: options, answers, per-trial randomisation, the registry."""

from collections import Counter
from random import Random

import pytest
from django.core.exceptions import ValidationError

from studies.types.base import Display, ItemRef, TrialView, get_type, type_names

SNAPSHOT = {
    "instance": {"tokens": ["a", "good", "film"], "text": "a good film", "context": ""},
    "prediction": {"label": 1, "label_name": "positive", "probabilities": [0.2, 0.8]},
    "explanations": [
        {"id": 1, "method": "gradient", "scores": [0.1, 0.9, 0.0], "metric_scores": []},
        {"id": 2, "method": "lrp", "scores": [0.0, -0.5, 1.0], "metric_scores": []},
    ],
}


def view(name, options, *, payload=None, expected=None):
    kind = get_type(name)
    return TrialView(
        snapshot=SNAPSHOT,
        role="test",
        phase="main",
        payload=payload or {},
        expected=expected,
        options=kind.clean_options(options),
        display=Display(),
    )


def test_registry_knows_both_types_and_names_the_known_ones():
    assert {"plausibility_rating", "pairwise_preference"} <= set(type_names())
    with pytest.raises(ValidationError, match="expected one of"):
        get_type("telepathy")


def test_rating_answers_are_checked_against_the_scale():
    kind = get_type("plausibility_rating")
    seven = view("plausibility_rating", {"points": 7})
    assert kind.clean_answer(seven, {"rating": "7"}) == {"rating": 7, "comment": ""}
    for bad, message in [
        ({"rating": "8"}, "between 1 and 7"),
        ({}, "Please choose"),
        ({"rating": "x"}, "whole number"),
    ]:
        with pytest.raises(ValidationError, match=message):
            kind.clean_answer(seven, bad)
    slider = view("plausibility_rating", {"scale": "slider", "comment": True})
    assert kind.clean_answer(slider, {"rating": "0", "comment": " hm "}) == {
        "rating": 0,
        "comment": "hm",
    }
    with pytest.raises(ValidationError, match="option points=9"):
        kind.clean_options({"points": 9})
    with pytest.raises(ValidationError, match="unknown option"):
        kind.clean_options({"colour": "red"})


def test_rating_attention_check_and_gold_rules():
    kind = get_type("plausibility_rating")
    options = kind.clean_options({"points": 5})
    rule = kind.attention_check(options=options, rng=Random(0))
    target = rule["min"]
    check = view("plausibility_rating", {"points": 5}, expected=rule)
    assert kind.passes(check, {"rating": target}) is True
    assert kind.passes(check, {"rating": target % 5 + 1}) is False
    gold = view("plausibility_rating", {"points": 5}, expected=kind.gold_expected(options=options))
    assert kind.passes(gold, {"rating": 3}) is True  # midpoint of 1..5
    assert kind.passes(gold, {"rating": 2}) is False


def test_pairwise_sides_are_randomised_recorded_and_mapped_back():
    kind = get_type("pairwise_preference")
    options = kind.clean_options({})
    item = ItemRef(id=1, role="test", position=0, methods=("gradient", "lrp"))
    sides = Counter(
        [
            kind.trial_payload(item=item, options=options, rng=Random(s))["sides"][0]
            for s in range(200)
        ]
    )
    assert 60 < sides[0] < 140  # both orders occur
    swapped = view("pairwise_preference", {}, payload={"sides": [1, 0]})
    value = kind.clean_answer(swapped, {"choice": "left"})
    record = kind.record(swapped, value)
    assert record["chosen_method"] == "lrp"
    assert record["left_method"] == "lrp"
    assert record["rejected_method"] == "gradient"
    context = kind.trial_context(swapped)
    assert [e["label"] for e in context["pair"]] == ["Explanation A", "Explanation B"]
    with pytest.raises(ValidationError, match="must be one of left, right"):
        kind.clean_answer(swapped, {"choice": "tie"})
    assert kind.variants(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c")]
    gold = view("pairwise_preference", {}, payload={"sides": [1, 0]}, expected={"method": "lrp"})
    assert kind.passes(gold, {"choice": "left"}) is True


def test_default_trial_order_places_checks_and_gold():
    kind = get_type("plausibility_rating")
    items = [ItemRef(id=k, role="test", position=k, methods=("m",)) for k in range(5)]
    items += [
        ItemRef(id=10, role="practice", position=0, methods=("m",)),
        ItemRef(id=11, role="attention_check", position=0, methods=("m",)),
        ItemRef(id=12, role="gold", position=0, methods=("human_rationale",)),
    ]
    specs = kind.build_trials(
        items=items,
        options=kind.clean_options({}),
        attention_positions=[2],
        gold_positions=[99],
        rng=Random(1),
    )
    roles = [s.role for s in specs]
    assert roles[0] == "practice"
    assert roles[2] == "attention_check"  # 2nd of the main trials
    assert roles[-1] == "gold"  # past the end: appended
    assert sorted(s.item_id for s in specs if s.role == "test") == list(range(5))
