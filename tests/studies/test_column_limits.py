"""Values beyond a column's limit (smallint range, varchar length) reached from user input
are refused with a 4xx naming the problem, never a 500, and nothing is stored. On
PostgreSQL each was a 500; SQLite stored them."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from explanations.models import Dataset, Instance
from studies.models import Participant

from .factories import make_study

pytestmark = pytest.mark.django_db

SMALLINT_MAX = 32767  # Instance.gold_label is a PositiveSmallIntegerField (label index)


def _many_labels() -> bytes:
    """A JSONL file of one distinct label per line: the last label's index is 32,768."""
    return "".join(
        json.dumps({"id": str(i), "text": "some words", "label": f"l{i:06d}"}) + "\n"
        for i in range(SMALLINT_MAX + 2)
    ).encode()


def test_a_dataset_upload_with_more_labels_than_a_smallint_holds_is_a_400(researcher):
    # One distinct label per line: the last label's index (its gold_label) is 32768.
    content = _many_labels()
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(researcher)
    response = client.post(
        "/api/datasets/import/",
        {"file": SimpleUploadedFile("many.jsonl", content), "name": "many-labels"},
        format="multipart",
    )
    assert response.status_code == 400, response.status_code
    assert "label" in response.content.decode()
    assert not Dataset.objects.exists()
    assert not Instance.objects.exists()


def test_an_mturk_link_with_an_overlong_turk_submit_to_is_refused(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, study_type="plausibility_rating")
    # An https link to MTurk's host, but longer than Participant.mturk_submit_to (200).
    submit_to = "https://workersandbox.mturk.com/" + "a" * 300
    params = {"assignmentId": "A1", "hitId": "H1", "workerId": "W1", "turkSubmitTo": submit_to}
    client = Client(raise_request_exception=False)
    entered = client.get(f"/s/{study.uid}/", params, follow=True)
    if entered.status_code == 200 and b"Information and consent" in entered.content:
        entered = client.post(entered.request["PATH_INFO"], {"agree": "yes"}, follow=True)
    assert entered.status_code == 400, entered.status_code
    assert b"turkSubmitTo" in entered.content
    assert not Participant.objects.exists()


def test_the_dataset_upload_page_with_more_labels_than_a_smallint_holds_is_not_a_500(researcher):
    content = _many_labels()
    client = Client(raise_request_exception=False)
    client.force_login(researcher)
    response = client.post(
        "/datasets/upload/",
        {"file": SimpleUploadedFile("many.jsonl", content), "name": "many-labels"},
    )
    assert response.status_code in (200, 400), response.status_code  # the form with its errors
    assert "label" in response.content.decode()
    assert not Dataset.objects.exists()
