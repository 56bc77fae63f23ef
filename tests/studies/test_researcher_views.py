"""Researcher pages: create, preview, launch, monitor, exclude and close from the web alone."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from studies.models import Exclusion, Participant, Response, Study
from studies.services.assignment import EntryIds, participant_enter
from studies.services.exclusions import exclusion_create
from studies.services.invitations import invitations_create

from .factories import make_study
from .flow import answer_all, consent_and_read

pytestmark = pytest.mark.django_db


def design_form(dataset, model, **overrides):
    data = {
        "name": "Web study",
        "study_type": "pairwise_preference",
        "dataset": dataset.name,
        "model": model.name,
        "methods": ["gradient", "lrp", "random"],
        "seed": "3",
        "n_items": "6",
        "items_per_participant": "",
        "ratings_per_item": "2",
        "condition_design": "within",
        "balance_outcomes": "on",
        "practice_count": "1",
        "attention_check_positions": "2",
        "gold_positions": "3",
        "display_mode": "bars",
        "top_k": "4",
        "consent_text": "Consent text.",
        "instructions": "Do the task.",
        "explanation_satisfaction": "on",
        "extra_questions": "text: Anything else?\noptional likert7: Was it fun?",
        "sources": ["prolific", "anonymous", "invited"],
        "completion_code": "WEB123",
        "pay": "£2.00",
        "estimated_minutes": "12",
        "time_limit_minutes": "45",
        "pairwise_preference__question": "Which is better?",
        "pairwise_preference__allow_tie": "on",
    }
    data.update(overrides)
    return data


def test_researcher_runs_a_study_from_the_pages(researcher, corpus):
    dataset, model = corpus
    web = Client()
    web.force_login(researcher)
    assert b"Design a study" in web.get("/studies/new/").content
    created = web.post("/studies/new/", design_form(dataset, model))
    assert created.status_code == 302, created.content.decode()[:3000]
    study = Study.objects.get(name="Web study")
    assert study.status == Study.Status.DRAFT
    assert study.type_options == {
        "question": "Which is better?",
        "allow_tie": True,
        "comment": False,
    }
    assert study.questionnaire.count() == 10
    assert study.lists.count() == 3  # three method pairs, one rotation each
    detail = web.get(f"/studies/{study.pk}/").content.decode()
    assert "gradient vs lrp" in detail
    # Edit while a draft.
    edited = web.post(f"/studies/{study.pk}/edit/", design_form(dataset, model, name="Web study 2"))
    assert edited.status_code == 302
    study.refresh_from_db()
    assert study.name == "Web study 2"
    # Preview as a participant: answers checked, never stored.
    start = web.get(f"/studies/{study.pk}/preview/")
    assert b"Start the preview" in start.content
    first = web.get(f"/studies/{study.pk}/preview/1/")
    assert b"answers are checked but not stored" in first.content
    assert b"Explanation A" in first.content
    assert b"gradient" not in first.content
    refused = web.post(f"/studies/{study.pk}/preview/1/", {"choice": "up"})
    assert refused.status_code == 400
    assert b"The choice must be one of" in refused.content
    accepted = web.post(f"/studies/{study.pk}/preview/1/", {"choice": "tie"}, follow=True)
    assert b"not stored" in accepted.content
    assert not Response.objects.exists()
    assert not Participant.objects.exists()
    # Launch, confirmed: frozen, the design locked.
    web.post(f"/studies/{study.pk}/launch/", {"confirm": "yes"})
    study.refresh_from_db()
    assert study.status == Study.Status.LIVE
    assert all(item.frozen for item in study.items.all())
    locked = web.post(f"/studies/{study.pk}/edit/", design_form(dataset, model, name="changed"))
    assert locked.status_code == 302
    study.refresh_from_db()
    assert study.name == "Web study 2"
    detail = web.get(f"/studies/{study.pk}/").content.decode()
    assert f"/s/{study.uid}/?PROLIFIC_PID=" in detail
    assert "submissions/complete?cc=WEB123" in detail
    # Invitations from the page.
    web.post(f"/studies/{study.pk}/invitations/", {"labels": "Dr A\nDr B"})
    assert study.invitations.count() == 2
    # Two straight-lining participants take part; monitor them.
    for pid in ("p1", "p2"):
        client = Client()
        page = consent_and_read(
            client, client.get(f"/s/{study.uid}/?PROLIFIC_PID={pid}", follow=True)
        )
        last = answer_all(
            client,
            page,
            straight=True,
            questionnaire={**{f"ess_{k}": "3" for k in range(1, 9)}, "q1": "ok"},
        )
        assert client.get(last["Location"])["Location"].endswith("cc=WEB123")
    progress = web.get(f"/studies/{study.pk}/progress/").content.decode()
    assert re.search(r"<strong>2</strong>completed", progress)
    assert "2 / 6" in progress  # places taken
    # Exclusions: apply the rules, then revoke one.
    web.post(
        f"/studies/{study.pk}/exclusions/",
        {
            "apply": "1",
            "max_failed_checks": "0",
            "straight_lining": "on",
            "straight_lining_min": "2",
        },
    )
    assert Exclusion.objects.filter(study=study, rule="straight_lining").count() == 2
    exclusion = Exclusion.objects.filter(study=study).first()
    web.post(f"/studies/{study.pk}/exclusions/{exclusion.pk}/revoke/")
    exclusion.refresh_from_db()
    assert exclusion.revoked_at is not None
    page = web.get(f"/studies/{study.pk}/exclusions/").content.decode()
    assert "revoked by alice" in page
    # Close, confirmed.
    web.post(f"/studies/{study.pk}/close/", {"confirm": "yes"})
    study.refresh_from_db()
    assert study.status == Study.Status.CLOSED
    assert b"Web study 2" in web.get("/studies/").content


def test_design_errors_are_shown_on_the_form(researcher, corpus):
    dataset, model = corpus
    web = Client()
    web.force_login(researcher)
    too_many = web.post("/studies/new/", design_form(dataset, model, n_items="500"))
    assert too_many.status_code == 400
    assert b"the design needs" in too_many.content
    one_method = web.post("/studies/new/", design_form(dataset, model, methods=["gradient"]))
    assert b"needs at least 2 methods" in one_method.content
    assert not Study.objects.exists()


ENDPOINTS = [
    ("get", "/studies/{pk}/"),
    ("get", "/studies/{pk}/edit/"),
    ("get", "/studies/{pk}/preview/"),
    ("get", "/studies/{pk}/preview/1/"),
    ("get", "/studies/{pk}/progress/"),
    ("get", "/studies/{pk}/exclusions/"),
    ("post", "/studies/{pk}/launch/"),
    ("post", "/studies/{pk}/close/"),
    ("post", "/studies/{pk}/delete/"),
    ("post", "/studies/{pk}/invitations/"),
    ("post", "/studies/{pk}/duplicate/"),
]


def test_pages_are_for_the_owner_only(make_researcher, corpus, researcher):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False)
    other = Client()
    other.force_login(make_researcher("mallory"))
    owner = Client()
    owner.force_login(researcher)
    assert b"plausibility_rating study" not in other.get("/studies/").content
    assert b"plausibility_rating study" in owner.get("/studies/").content
    for method, url in ENDPOINTS:
        path = url.format(pk=study.pk)
        anonymous = getattr(Client(), method)(path)
        assert anonymous.status_code == 302, path
        assert "/accounts/login/" in anonymous["Location"]
        assert getattr(other, method)(path).status_code == 404, path
        if method == "get":
            assert owner.get(path).status_code == 200, path
    assert owner.post(f"/studies/{study.pk}/delete/", {"confirm": "yes"}).status_code == 302
    assert not Study.objects.filter(pk=study.pk).exists()


def test_participant_pages_need_the_participant(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False)
    assert Client().get(f"/s/{study.uid}/").status_code == 404  # drafts are not public
    web = Client()
    web.force_login(researcher)
    web.post(f"/studies/{study.pk}/launch/", {"confirm": "yes"})
    assert Client().get("/s/p/00000000-0000-0000-0000-000000000000/trial/").status_code == 404
    assert Client().get("/s/invite/not-a-token/").status_code == 404


def test_preview_form_carries_a_csrf_token_for_real_browsers(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False)
    web = Client(enforce_csrf_checks=True)
    web.force_login(researcher)
    page = web.get(f"/studies/{study.pk}/preview/1/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    posted = web.post(
        f"/studies/{study.pk}/preview/1/", {"csrfmiddlewaretoken": token, "rating": "2"}
    )
    assert posted.status_code == 302


def test_the_exclusion_log_takes_the_same_queries_for_one_or_many(
    researcher, corpus, django_assert_max_num_queries
):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, sources=["invited"])
    web = Client()
    web.force_login(researcher)
    url = f"/studies/{study.pk}/exclusions/"

    def exclude(label: str) -> None:
        (invitation,) = invitations_create(study=study, labels=[label])
        participant = participant_enter(
            study=study, ids=EntryIds(source="invited"), invitation=invitation
        )
        exclusion_create(participant=participant, reason="duplicate", by=researcher)

    exclude("Expert 0")
    with CaptureQueriesContext(connection) as one:
        assert b"Expert 0" in web.get(url).content  # the invitation label is the external id
    for k in range(1, 4):
        exclude(f"Expert {k}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert b"Expert 3" in web.get(url).content
