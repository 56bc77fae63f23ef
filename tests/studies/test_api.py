"""The REST API alone: create, preview, launch, monitor, exclude, close; owner-only access."""

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from explanations.models import Prediction
from studies.models import Participant, Response, Study

from .factories import make_study
from .flow import answer_all, consent_and_read

pytestmark = pytest.mark.django_db


def payload(dataset, model, **overrides):
    body = {
        "name": "API study",
        "study_type": "plausibility_rating",
        "dataset": dataset.name,
        "model": model.name,
        "methods": ["gradient", "lrp"],
        "n_items": 4,
        "ratings_per_item": 2,
        "condition_design": "between",
        "attention_check_positions": [1],
        "gold_positions": [],
        "type_options": {"scale": "slider", "comment": True},
        "questionnaire_preset": "explanation_satisfaction",
        "questionnaire": [{"kind": "text", "prompt": "Comments?", "required": False}],
        "completion_code": "API42",
        "sources": ["prolific", "mturk"],
    }
    body.update(overrides)
    return body


def test_researcher_runs_a_study_from_the_api(api, corpus):
    dataset, model = corpus
    created = api.post("/api/studies/", payload(dataset, model), format="json")
    assert created.status_code == 201, created.json()
    study = created.json()
    assert study["status"] == "draft"
    assert study["lists"] == 2  # between-subject: one condition (and list) per method
    assert study["places"] == 4
    assert len(study["questionnaire"]) == 9
    assert study["type_options"]["scale"] == "slider"
    sid = study["id"]
    patched = api.patch(f"/api/studies/{sid}/", {"name": "API study v2"}, format="json")
    assert patched.status_code == 200
    assert patched.json()["name"] == "API study v2"
    assert patched.json()["completion_code"] == "API42"
    preview = api.get(f"/api/studies/{sid}/preview/").json()
    assert [t["role"] for t in preview].count("attention_check") == 1
    assert all('type="range"' in t["html"] for t in preview)
    check = next(t for t in preview if t["role"] == "attention_check")
    assert "slider all the way to the left" in check["instruction"]
    bad = api.post(
        f"/api/studies/{sid}/preview/1/answer/", {"answer": {"rating": 101}}, format="json"
    )
    assert bad.status_code == 400
    assert "between 0 and 100" in bad.json()["detail"]
    good = api.post(
        f"/api/studies/{sid}/preview/1/answer/", {"answer": {"rating": 70}}, format="json"
    )
    assert good.json()["stored"] is False
    assert not Response.objects.exists()
    launched = api.post(f"/api/studies/{sid}/launch/")
    assert launched.json()["status"] == "live"
    assert api.patch(f"/api/studies/{sid}/", {"name": "x"}, format="json").status_code == 400
    assert api.delete(f"/api/studies/{sid}/").status_code == 400
    # Two participants through Prolific.
    uid = launched.json()["uid"]
    for pid in ("a", "b"):
        client = Client()
        page = consent_and_read(client, client.get(f"/s/{uid}/?PROLIFIC_PID={pid}", follow=True))
        answer_all(
            client, page, straight=True, questionnaire={f"ess_{k}": "2" for k in range(1, 9)}
        )
    progress = api.get(f"/api/studies/{sid}/progress/").json()
    assert progress["participants"]["completed"] == 2
    assert [lst["filled"] for lst in progress["lists"]] == [1, 1]
    participants = api.get(f"/api/studies/{sid}/participants/").json()
    # Named by pseudonym, as in the exports; platform ids are not shown (issue #16).
    assert {p["pseudonym"] for p in participants} == {
        p.pseudonym for p in Participant.objects.filter(study_id=sid).select_related("study")
    }
    assert not any(field in p for p in participants for field in ("external_id", "mturk_hit_id"))
    rows = api.get(f"/api/studies/{sid}/responses/").json()
    test_rows = [r for r in rows["responses"] if r["role"] == "test"]
    assert len(test_rows) == 8
    assert all(
        r["shown"][0]["scores"]["comprehensiveness_aopc"]["kind"] == "faithfulness"
        for r in test_rows
    )
    assert len(rows["questionnaire"]) == 16
    applied = api.post(f"/api/studies/{sid}/exclusions/", {"straight_lining_min": 2}, format="json")
    assert applied.status_code == 201
    assert len(applied.json()) == 2
    first = applied.json()[0]["id"]
    revoked = api.post(f"/api/studies/{sid}/exclusions/{first}/revoke/")
    assert revoked.json()["active"] is False
    assert api.post(f"/api/studies/{sid}/exclusions/{first}/revoke/").status_code == 400
    manual = api.post(
        f"/api/studies/{sid}/exclude/",
        {"participant": participants[0]["id"], "reason": "duplicate IP"},
        format="json",
    )
    assert manual.status_code == 201
    log = api.get(f"/api/studies/{sid}/exclusions/").json()
    assert len(log) == 3
    closed = api.post(f"/api/studies/{sid}/close/")
    assert closed.json()["status"] == "closed"
    assert api.get("/api/studies/").json()[0]["name"] == "API study v2"


def test_invalid_designs_name_the_field(api, corpus):
    dataset, model = corpus
    unknown = api.post(
        "/api/studies/", payload(dataset, model, study_type="telepathy"), format="json"
    )
    assert unknown.status_code == 400
    assert "study_type" in unknown.json()
    options = api.post(
        "/api/studies/", payload(dataset, model, type_options={"points": 9}), format="json"
    )
    assert options.status_code == 400
    assert "points=9" in str(options.json()["type_options"])
    hidden = api.post(
        "/api/studies/", {**payload(dataset, model), "dataset": "nope"}, format="json"
    )
    assert hidden.status_code == 400
    assert "dataset" in hidden.json()
    gold = api.post(
        "/api/studies/", payload(dataset, model, gold_positions=[1] * 30), format="json"
    )
    assert gold.status_code == 400
    assert not Study.objects.exists()


ACTIONS = [
    ("get", "/api/studies/{pk}/"),
    ("patch", "/api/studies/{pk}/"),
    ("delete", "/api/studies/{pk}/"),
    ("post", "/api/studies/{pk}/launch/"),
    ("post", "/api/studies/{pk}/close/"),
    ("get", "/api/studies/{pk}/progress/"),
    ("get", "/api/studies/{pk}/preview/"),
    ("post", "/api/studies/{pk}/preview/1/answer/"),
    ("get", "/api/studies/{pk}/participants/"),
    ("get", "/api/studies/{pk}/responses/"),
    ("get", "/api/studies/{pk}/exclusions/"),
    ("post", "/api/studies/{pk}/exclusions/"),
    ("post", "/api/studies/{pk}/exclude/"),
    ("post", "/api/studies/{pk}/exclusions/1/revoke/"),
    ("get", "/api/studies/{pk}/invitations/"),
    ("post", "/api/studies/{pk}/invitations/"),
]


def test_api_is_for_the_owner_only(make_researcher, researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False)
    other = APIClient()
    other.force_authenticate(make_researcher("mallory"))
    owner = APIClient()
    owner.force_authenticate(researcher)
    assert other.get("/api/studies/").json() == []
    for method, url in ACTIONS:
        path = url.format(pk=study.pk)
        assert getattr(APIClient(), method)(path).status_code in (401, 403), path
        assert getattr(other, method)(path, {}, format="json").status_code == 404, path
        if method == "get":
            assert owner.get(path).status_code == 200, path
    # Allowed writes by the owner (a draft): edit, then launch, close; delete refused once live.
    assert (
        owner.patch(f"/api/studies/{study.pk}/", {"n_items": 5}, format="json").status_code == 200
    )
    assert owner.post(f"/api/studies/{study.pk}/launch/").status_code == 200
    assert owner.post(f"/api/studies/{study.pk}/close/").status_code == 200
    assert owner.delete(f"/api/studies/{study.pk}/").status_code == 400
    assert Study.objects.filter(pk=study.pk).exists()


def test_invited_expert_reaches_only_their_study(api, researcher, corpus):
    dataset, model = corpus
    mine = make_study(researcher, dataset, model, name="invited", sources=["invited"])
    other = make_study(researcher, dataset, model, name="other", sources=["invited"], seed=9)
    invited = api.post(f"/api/studies/{mine.pk}/invitations/", {"labels": ["Dr X"]}, format="json")
    assert invited.status_code == 201
    url = invited.json()[0]["url"]
    expert = Client()
    page = expert.get(url, follow=True)
    assert page.status_code == 200
    assert b"invited" in page.content  # the consent page of their own study
    expert.post(page.request["PATH_INFO"], {"agree": "yes"})
    participant = Participant.objects.get(study=mine)
    # The anonymous link of the other (invitation-only) study refuses them; their own
    # participant pages only ever show their own study.
    assert expert.get(f"/s/{other.uid}/").status_code == 403
    assert not Participant.objects.filter(study=other).exists()
    assert expert.get(f"/s/p/{participant.uid}/instructions/").status_code == 200


def test_schema_describes_the_study_endpoints(api):
    schema = api.get("/api/schema/?format=json").json()
    assert "/api/studies/{id}/launch/" in schema["paths"]
    assert "/api/studies/{id}/exclusions/{exclusion_id}/revoke/" in schema["paths"]
    assert "StudyDesign" in schema["components"]["schemas"]


def test_a_study_id_that_is_not_a_number_is_not_found(api):
    assert api.get("/api/studies/abc/").status_code == 404
    assert api.patch("/api/studies/abc/", {"name": "x"}, format="json").status_code == 404


def test_a_patch_that_is_not_an_object_is_refused(api, researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False)
    refused = api.patch(f"/api/studies/{study.pk}/", [1, 2], format="json")
    assert refused.status_code == 400
    assert "expected a JSON object of design fields; got a list" in refused.json()["detail"]


def test_preview_answer_reports_a_study_that_cannot_be_previewed(api, researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False)
    Prediction.objects.filter(model=model).delete()
    preview = api.get(f"/api/studies/{study.pk}/preview/")
    assert preview.status_code == 400
    answer = api.post(
        f"/api/studies/{study.pk}/preview/1/answer/", {"answer": {"rating": "3"}}, format="json"
    )
    assert answer.status_code == 400
    assert answer.json() == preview.json()
    assert "has no prediction for it" in answer.json()["detail"]


def test_listing_studies_takes_the_same_queries_for_one_or_many(
    api, researcher, corpus, django_assert_max_num_queries
):
    dataset, model = corpus
    make_study(researcher, dataset, model, launch=False, name="first")
    with CaptureQueriesContext(connection) as one:
        assert len(api.get("/api/studies/").json()) == 1
    for k in range(3):
        make_study(researcher, dataset, model, launch=False, name=f"more {k}")
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(api.get("/api/studies/").json()) == 4
