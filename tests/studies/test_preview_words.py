"""The preview says what the participant chose in words (issue #15), one sentence per type."""

import pytest
from django.test import Client

from studies.models import Response
from studies.types.base import Display, StudyType, TrialView, get_type, type_names

from .factories import make_study

SNAPSHOT = {
    "instance": {
        "id": 1,
        "tokens": ["a", "good", "film", "so", "moving"],
        "text": "a good film so moving",
        "context": "",
    },
    "prediction": {"label": 1, "label_name": "positive", "probabilities": [0.2, 0.8]},
    "label_names": ["negative", "positive"],
    "gold_label": 1,
    "explanations": [
        {"id": 1, "method": "gradient", "scores": [0.1, 0.9, 0.0, 0.0, 0.2]},
        {"id": 2, "method": "lrp", "scores": [0.0, -0.5, 1.0, 0.0, 0.3]},
    ],
}


def view(name, options=None, *, role="test", payload=None):
    kind = get_type(name)
    return kind, TrialView(
        snapshot=SNAPSHOT,
        role=role,
        phase="main",
        payload=payload or {},
        expected=None,
        options=kind.clean_options(options or {}),
        display=Display(),
    )


def test_a_rating_names_the_scale_and_its_end_labels():
    kind, seven = view("plausibility_rating", {"points": 7, "comment": True})
    top = kind.clean_answer(seven, {"rating": "7", "comment": "clear"})
    assert kind.describe_answer(seven, top) == (
        "rated 7 on the 1–7 scale (“Very convincing”); commented “clear”"
    )
    middle = kind.clean_answer(seven, {"rating": "4"})
    assert kind.describe_answer(seven, middle) == (
        "rated 4 on the 1–7 scale (between “Not at all convincing” and “Very convincing”)"
    )
    kind, slider = view("plausibility_rating", {"scale": "slider", "low_label": "Weak"})
    assert kind.describe_answer(slider, {"rating": 0, "comment": ""}) == (
        "rated 0 on the 0–100 scale (“Weak”)"
    )


def test_a_preference_names_the_side_and_its_method():
    kind, pair = view("pairwise_preference", {"allow_tie": True}, payload={"sides": [1, 0]})
    assert kind.describe_answer(pair, {"choice": "left", "comment": ""}) == (
        "preferred the left explanation (lrp)"
    )
    assert kind.describe_answer(pair, {"choice": "tie", "comment": "both fine"}) == (
        "found the two explanations equally good (lrp, gradient); commented “both fine”"
    )


def test_a_label_task_names_the_label_and_the_confidence():
    kind, aided = view("aided_task")
    answer = kind.clean_answer(aided, {"label": "1", "confidence": "3"})
    assert kind.describe_answer(aided, answer) == "chose “positive”, confidence 3 of 5"
    kind, unsure = view("aided_task", {"ask_confidence": False})
    answer = kind.clean_answer(unsure, {"label": "0"})
    assert kind.describe_answer(unsure, answer) == "chose “negative”"


def test_a_rationale_lists_the_marked_words():
    kind, marking = view("rationale_annotation", {"comment": True})
    answer = {"indices": [1, 2, 4], "comment": "the verb"}
    assert kind.describe_answer(marking, answer) == (
        "marked 3 words: good, film, moving; commented “the verb”"
    )
    assert kind.describe_answer(marking, {"indices": [2], "comment": ""}) == "marked 1 word: film"


def test_an_expert_review_gives_each_explanation_its_ratings_and_flag():
    kind, review = view("expert_review", payload={"order": [1, 0]})
    data = {
        "A_justifies": "4",
        "A_complete": "2",
        "A_flag": "misleading",
        "A_comment": "misses film",
        "B_justifies": "5",
        "B_complete": "5",
        "B_flag": "correct",
        "comment": "close call",
    }
    answer = kind.clean_answer(review, data)
    assert kind.describe_answer(review, answer) == (
        "reviewed Explanation A (lrp): justifies 4 of 5, complete 2 of 5, flag “misleading”;"
        " commented “misses film”; Explanation B (gradient): justifies 5 of 5, complete 5 of 5,"
        " flag “correct”; commented “close call”"
    )


@pytest.mark.parametrize("name", ["forward_simulation", "counterfactual_simulation"])
def test_a_simulation_names_the_label_expected_of_the_model(name):
    kind, predict = view(name)
    answer = kind.clean_answer(predict, {"label": "0"})
    assert kind.describe_answer(predict, answer) == "chose “negative” as the model's output"
    kind, rating = view(name, role="rating")
    answer = kind.clean_answer(rating, {"rating": "6"})
    assert kind.describe_answer(rating, answer) == "rated the explanation 6 of 7"
    kind, learn = view(name, role="learn")
    assert kind.describe_answer(learn, kind.clean_answer(learn, {})) == "read the example"


def test_every_registered_type_describes_its_answers_in_its_own_words():
    # A type added later without an override still says something readable (the default).
    built_in = {
        "aided_task",
        "counterfactual_simulation",
        "expert_review",
        "forward_simulation",
        "pairwise_preference",
        "plausibility_rating",
        "rationale_annotation",
    }
    for name in built_in & set(type_names()):
        assert type(get_type(name)).describe_answer is not StudyType.describe_answer, name
    assert StudyType().describe_answer(None, {"score": 3, "comment": "ok"}) == (  # type: ignore[arg-type]
        "answered score 3; commented “ok”"
    )


@pytest.mark.django_db
def test_the_preview_message_says_the_answer_in_words(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False, type_options={"points": 7})
    web = Client()
    web.force_login(researcher)
    page = web.post(f"/studies/{study.pk}/preview/2/", {"rating": "7"}, follow=True)
    text = page.content.decode()
    assert "Trial 2: you rated 7 on the 1–7 scale (“Very convincing”)" in text
    assert "accepted, not stored" in text
    assert "{&#x27;rating&#x27;" not in text
    assert "{'rating'" not in text
    assert not Response.objects.exists()
