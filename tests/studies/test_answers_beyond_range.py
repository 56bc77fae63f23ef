"""Answers, options and form fields beyond range get a 4xx naming the field, never a 500."""

import pytest
from django.test import Client

from studies.models import Participant, Response, Study, Trial

from .factories import make_study
from .flow import consent_and_read, good_answer, trial_form

pytestmark = pytest.mark.django_db

CHECKS = [{"prompt": "Can you stop at any time?", "options": ["Yes", "No"], "answer": 0}]


def _first_trial(researcher, corpus, **overrides):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, **overrides)
    client = Client()
    response = consent_and_read(client, client.get(f"/s/{study.uid}/", follow=True))
    trial_id, key = trial_form(response)
    trial = Trial.objects.select_related("item").get(pk=trial_id)
    return client, response.request["PATH_INFO"], trial, key


@pytest.mark.parametrize("duration", ["inf", "-inf", "1e400", "Infinity"])
def test_an_infinite_client_duration_is_not_a_500(researcher, corpus, duration):
    client, url, trial, key = _first_trial(researcher, corpus)
    data = {"trial": trial.pk, "idempotency_key": key, "client_duration_ms": duration}
    data.update(good_answer(trial))
    answered = client.post(url, data)
    # An implausible client time is dropped (stored as null) like any other out-of-range one.
    assert answered.status_code == 200  # the next trial
    assert b"data-trial-form" in answered.content
    assert Response.objects.get(trial=trial).client_duration_ms is None


def test_a_comprehension_answer_of_thousands_of_digits_is_a_400(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, comprehension_checks=CHECKS)
    client = Client()
    page = consent_and_read(client, client.get(f"/s/{study.uid}/", follow=True))
    assert b"data-trial-form" not in page.content  # the check comes first
    refused = client.post(page.request["PATH_INFO"], {"c1": "1" * 5000, "attempt": "1"})
    assert refused.status_code == 400
    assert b"Expected one of the 2 options" in refused.content
    assert Participant.objects.get(study=study).comprehension_attempts == []


@pytest.mark.parametrize(
    ("study_type", "options", "name"),
    [
        ("rationale_annotation", {"gold_min_f1": "nan"}, "gold_min_f1"),
        ("expert_review", {"criteria": 5}, "criteria"),
        ("counterfactual_simulation", {"edits": 5}, "edits"),
    ],
)
def test_study_api_refuses_type_options_of_the_wrong_type(api, corpus, study_type, options, name):
    dataset, model = corpus
    response = api.post(
        "/api/studies/",
        {
            "name": "typed",
            "study_type": study_type,
            "dataset": dataset.name,
            "model": model.name,
            "methods": ["gradient", "lrp"],
            "n_items": 4,
            "type_options": options,
        },
        format="json",
    )
    assert response.status_code == 400
    assert name in str(response.json()["type_options"])
    assert not Study.objects.exists()


def test_a_label_of_thousands_of_digits_is_a_400(researcher, corpus):
    """A label field of 5,000 digits (aided_task, forward_simulation, ...)."""
    client, url, trial, key = _first_trial(
        researcher, corpus, study_type="aided_task", gold_positions=[]
    )
    refused = client.post(url, {"trial": trial.pk, "idempotency_key": key, "label": "1" * 5000})
    assert refused.status_code == 400
    assert b"must be one of" in refused.content
    assert not Response.objects.filter(trial=trial).exists()


@pytest.fixture
def web(researcher):
    client = Client()
    client.force_login(researcher)
    return client


def test_study_form_refuses_a_position_of_thousands_of_digits(web, corpus):
    from .test_researcher_views import design_form

    dataset, model = corpus
    refused = web.post(
        "/studies/new/", design_form(dataset, model, attention_check_positions="9" * 5000)
    )
    assert refused.status_code == 400
    assert b"is not a position" in refused.content
    assert not Study.objects.exists()


def test_study_form_answers_a_refused_design_with_a_4xx(web, corpus):
    """A refused design answers 400, as the first step and the dataset upload do."""
    from .test_researcher_views import design_form

    dataset, model = corpus
    refused = web.post("/studies/new/", design_form(dataset, model, seed="1e3"))
    assert b"Enter a whole number" in refused.content
    assert refused.status_code == 400
    assert not Study.objects.exists()
