"""REST API: visibility, filters, pagination, uploads, schema and docs."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from explanations.models import Explanation
from explanations.services.explanations import explanations_import
from tests.assets import external_assets

from .factories import RECORDS, row_counts, small_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_researchers(tmp_path, make_researcher):
    alice, bob = make_researcher("alice"), make_researcher("bob")
    mine = small_dataset(tmp_path, name="alices", owner=alice)
    theirs = small_dataset(tmp_path, name="bobs", owner=bob)
    path = tmp_path / "e.jsonl"
    path.write_text(
        json.dumps({"instance": "a2", "method": "gradient", "scores": [0.4, 0, 0.1, 0.2, 0.3, 0]})
        + "\n"
    )
    explanations_import(path=path, model_name="alice-model", dataset=mine, owner=alice)
    explanations_import(path=path, model_name="bob-model", dataset=theirs, owner=bob)
    return alice, bob, mine, theirs


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_researcher_sees_only_own_and_shared_datasets(two_researchers):
    alice, bob, mine, theirs = two_researchers
    api = client_for(alice)
    assert [d["name"] for d in api.get("/api/datasets/").json()["results"]] == ["alices"]
    assert api.get("/api/datasets/bobs/").status_code == 404
    assert api.get("/api/explanations/?model=bob-model").json()["count"] == 0
    theirs.shared_with.add(alice)
    names = [d["name"] for d in api.get("/api/datasets/").json()["results"]]
    assert names == ["alices", "bobs"]
    assert api.get("/api/explanations/?model=bob-model").json()["count"] == 1


def test_filters_and_pagination(two_researchers):
    alice, *_ = two_researchers
    api = client_for(alice)
    body = api.get("/api/instances/?dataset=alices&page_size=1").json()
    assert body["count"] == len(RECORDS)
    expl = api.get("/api/explanations/?dataset=alices&method=gradient").json()
    assert expl["count"] == 1
    assert expl["results"][0]["instance"] == "a2"
    assert api.get("/api/explanations/?method=lrp").json()["count"] == 0
    assert api.get("/api/models/?dataset=alices").json()["results"][0]["name"] == "alice-model"


def test_anonymous_is_refused_and_token_auth_works(two_researchers):
    alice, *_ = two_researchers
    assert APIClient().get("/api/datasets/").status_code in (401, 403)
    token = Token.objects.create(user=alice)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    assert client.get("/api/datasets/").status_code == 200


def test_upload_dataset_and_explanations(researcher):
    api = client_for(researcher)
    content = "".join(json.dumps(r) + "\n" for r in RECORDS).encode()
    response = api.post(
        "/api/datasets/import/",
        {"file": SimpleUploadedFile("films.jsonl", content), "name": "films"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["created"] == 3
    expl = (
        json.dumps({"instance": "a3", "method": "random", "scores": [0.1, 0.2, 0.3, 0.4, 0.5]})
        + "\n"
    )
    response = api.post(
        "/api/explanations/import/",
        {"file": SimpleUploadedFile("e.jsonl", expl.encode()), "model": "m1", "dataset": "films"},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["written"] == 1


def test_bad_upload_is_400_naming_line_and_field(researcher):
    api = client_for(researcher)
    content = b'{"id": "1", "text": "ok", "label": "a"}\n{"id": "1", "text": "dup", "label": "b"}\n'
    before = row_counts()
    response = api.post(
        "/api/datasets/import/",
        {"file": SimpleUploadedFile("mine.jsonl", content), "name": "x"},
        format="multipart",
    )
    assert response.status_code == 400
    problem = response.json()["problems"][0]
    assert (problem["file"], problem["line"], problem["field"]) == ("mine.jsonl", 2, "id")
    assert "duplicate id" in problem["message"]
    assert row_counts() == before


def test_cannot_import_into_someone_elses_dataset(two_researchers):
    alice, *_ = two_researchers
    content = "".join(json.dumps(r) + "\n" for r in RECORDS).encode()
    response = client_for(alice).post(
        "/api/datasets/import/",
        {"file": SimpleUploadedFile("f.jsonl", content), "name": "bobs"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "taken" in response.json()["detail"]


OVERWRITE = (
    json.dumps({"instance": "a2", "method": "gradient", "scores": [9.0, 9, 9, 9, 9, 9]}) + "\n"
).encode()


def import_explanations(user, *, model: str, dataset: str, fmt: str = "jsonl"):
    return client_for(user).post(
        "/api/explanations/import/",
        {
            "file": SimpleUploadedFile("e.jsonl", OVERWRITE),
            "model": model,
            "dataset": dataset,
            "format": fmt,
        },
        format="multipart",
    )


def stored_scores() -> dict[str, list[float]]:
    return dict(Explanation.objects.values_list("model__name", "scores"))


@pytest.fixture
def others_models(two_researchers, tmp_path):
    """Bob's public dataset with his model, and a public demo dataset with an unowned model."""
    alice, bob, mine, theirs = two_researchers
    for name, owner in (("bobs-public", bob), ("demo", None)):
        (tmp_path / name).mkdir()
        dataset = small_dataset(tmp_path / name, name=name, owner=owner)
        dataset.is_public = True
        dataset.full_clean()
        dataset.save()
        path = tmp_path / name / "e.jsonl"
        path.write_text(OVERWRITE.decode().replace("9.0", "0.5"))
        explanations_import(path=path, model_name=f"{name}-model", dataset=dataset, owner=owner)
    return alice, bob


@pytest.mark.parametrize(
    ("model", "dataset"),
    [("bob-model", "alices"), ("bobs-public-model", "bobs-public"), ("demo-model", "demo")],
)
def test_explanations_go_only_into_models_you_own(others_models, model, dataset):
    alice, _bob = others_models
    before, scores = row_counts(), stored_scores()
    response = import_explanations(alice, model=model, dataset=dataset)
    assert response.status_code == 400, response.json()
    assert response.json()["problems"][0]["field"] == "model"
    assert (row_counts(), stored_scores()) == (before, scores)


def _message(response, name: str) -> str:
    return response.json()["problems"][0]["message"].replace(repr(name), "NAME")


def test_refusals_disclose_nothing_the_caller_cannot_see(others_models):
    alice, _bob = others_models
    # bob-model is on bob's private dataset "bobs": alice may not learn that dataset's name,
    # and its refusal reads as that of bob's model she can see.
    hidden = import_explanations(alice, model="bob-model", dataset="alices")
    visible = import_explanations(alice, model="bobs-public-model", dataset="alices")
    assert "bobs" not in json.dumps(hidden.json()).replace("bob-model", "")
    assert _message(hidden, "bob-model") == _message(visible, "bobs-public-model")
    # A model that must exist (subword scores): hidden reads as missing.
    for fmt in ("subword", "thermostat"):
        hidden = import_explanations(alice, model="bob-model", dataset="alices", fmt=fmt)
        missing = import_explanations(alice, model="no-such-model", dataset="alices", fmt=fmt)
        assert hidden.status_code == missing.status_code == 400
        assert _message(hidden, "bob-model") == _message(missing, "no-such-model")
        assert "bobs" not in json.dumps(hidden.json()).replace("bob-model", "")


def test_owner_writes_into_own_model(two_researchers):
    alice, *_ = two_researchers
    response = import_explanations(alice, model="alice-model", dataset="alices")
    assert response.status_code == 201, response.json()
    assert stored_scores()["alice-model"] == [9.0, 9, 9, 9, 9, 9]


def test_schema_and_docs_are_served_without_cdn(researcher, client):
    client.force_login(researcher)
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/explanations/" in schema.content
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs
    assert external_assets(docs) == []
    assert "https://" not in docs.split("<body")[0]
