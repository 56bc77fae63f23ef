"""The answer POST, which brings the next trial's page, takes a small, fixed number of queries.

Measured with SQLite inside a test transaction (where each ``atomic`` block shows as a
SAVEPOINT and a RELEASE). Before the pins: 22 queries to answer a trial and 10 to show
the next one, whatever the study type; then 7 and 3; now the next trial comes in the
answer's response, in 9 queries for both. The pins leave one query of headroom.
"""

import pytest
from django.test import Client

from studies.models import Response, Trial

from .factories import make_study
from .flow import consent_and_read, good_answer, trial_form
from .test_type_aided_task import answer_for

pytestmark = pytest.mark.django_db
ANSWER_QUERIES = 10  # the answer, and the next trial's page in its response
NEXT_PAGE_QUERIES = 4  # the trial page on its own (a reload)
TYPES = {
    "plausibility_rating": {},
    "pairwise_preference": {},
    "aided_task": {
        "methods": ["gradient"],
        "condition_design": "between",
        "n_items": 4,
        "gold_positions": [],
        "type_options": {"show_prediction": "crossed"},
    },
}


@pytest.mark.parametrize("study_type", list(TYPES))
def test_answering_and_the_next_trial_take_few_queries(
    researcher, corpus, study_type, django_assert_max_num_queries
):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, study_type=study_type, **TYPES[study_type])
    client = Client()
    page = consent_and_read(client, client.get(f"/s/{study.uid}/", follow=True))
    path = page.request["PATH_INFO"]
    for _ in range(3):  # the practice and two more: the count does not grow along the list
        trial_id, key = trial_form(page)
        trial = Trial.objects.select_related("item").get(pk=trial_id)
        answer = answer_for(trial) if study_type == "aided_task" else good_answer(trial)
        data = {"trial": trial_id, "idempotency_key": key, "client_duration_ms": "900", **answer}
        with django_assert_max_num_queries(ANSWER_QUERIES):
            page = client.post(path, data)
        assert page.status_code == 200  # the next trial, in the answer's response
        assert Response.objects.filter(trial_id=trial_id).count() == 1
        assert trial_form(page)[0] != trial_id
        assert Trial.objects.get(pk=trial_form(page)[0]).shown_at is not None
        with django_assert_max_num_queries(NEXT_PAGE_QUERIES):
            reloaded = client.get(path)
        assert trial_form(reloaded)[0] == trial_form(page)[0]
        page = reloaded


def test_a_double_submit_is_acknowledged_in_as_few_queries(
    researcher, corpus, django_assert_max_num_queries
):
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    client = Client()
    page = consent_and_read(client, client.get(f"/s/{study.uid}/", follow=True))
    trial_id, key = trial_form(page)
    trial = Trial.objects.select_related("item").get(pk=trial_id)
    data = {"trial": trial_id, "idempotency_key": key, **good_answer(trial)}
    client.post(page.request["PATH_INFO"], data)
    with django_assert_max_num_queries(ANSWER_QUERIES):
        again = client.post(page.request["PATH_INFO"], data)
    assert again.status_code == 200  # the next trial again
    assert trial_form(again)[0] != trial_id
    assert Response.objects.filter(trial_id=trial_id).count() == 1
