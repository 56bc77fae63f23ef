"""Objects reached through another visible object: jobs, a model's job lists, unshared data, copies."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from explanations.models import Job
from explanations.services.explanations import explanations_import
from studies.models import Study
from tests.studies.factories import film_corpus, make_study

from .factories import small_dataset, trained_model, write_jsonl


def _client(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def bob_private_model_diagnosed_on_public_data(tmp_path, make_researcher):
    """Bob's model on his private dataset, diagnosed (through the API) on a public dataset."""
    bob = make_researcher("bob")
    model, _private = trained_model(tmp_path, name="bob-secret-model", n=24, owner=bob)
    public = small_dataset(tmp_path, name="shared-benchmark", owner=make_researcher("carol"))
    public.is_public = True
    public.save(update_fields=["is_public"])
    made = _client(bob).post(
        f"/api/models/{model.name}/diagnostics/",
        {"dataset": public.name, "experiments": ["permutation"]},
        format="json",
    )
    assert made.status_code == 202, made.json()
    return model, Job.objects.get(pk=made.json()["id"])


def test_job_page_does_not_name_a_model_the_viewer_cannot_see(
    client, researcher, bob_private_model_diagnosed_on_public_data
):
    model, job = bob_private_model_diagnosed_on_public_data
    assert _client(researcher).get(f"/api/models/{model.name}/").status_code == 404
    client.force_login(researcher)
    page = client.get(reverse("explanations:job-detail", args=[job.pk]))
    # Alice cannot see bob's model, yet its job is hers to read because the dataset is public.
    assert page.status_code == 404 or model.name not in page.content.decode()


def test_job_api_does_not_list_jobs_of_an_invisible_model(
    researcher, bob_private_model_diagnosed_on_public_data
):
    _model, job = bob_private_model_diagnosed_on_public_data
    listed = _client(researcher).get("/api/jobs/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    assert job.pk not in [row["id"] for row in rows]


def test_unshared_dataset_is_not_readable_through_own_model(tmp_path, researcher, make_researcher):
    """After bob stops sharing, alice's model on his dataset no longer shows his data."""
    bob = make_researcher("bob")
    dataset = small_dataset(tmp_path, name="bob-private-notes", owner=bob)
    dataset.shared_with.add(researcher)
    lines = [
        {"instance": i.external_id, "method": "random", "scores": [0.1] * len(i.tokens)}
        for i in dataset.instances.all()
    ]
    explanations_import(
        path=write_jsonl(tmp_path / "e.jsonl", lines),
        model_name="alice-model",
        dataset=dataset,
        owner=researcher,
    )
    dataset.shared_with.remove(researcher)
    alice = _client(researcher)
    assert alice.get(f"/api/datasets/{dataset.name}/").status_code == 404
    body = alice.get("/api/models/alice-model/").content.decode()
    summary = alice.get("/api/models/alice-model/score-summary/").content.decode()
    assert dataset.name not in body + summary


def test_model_diagnostics_do_not_list_jobs_on_a_dataset_the_viewer_cannot_see(
    tmp_path, researcher, make_researcher
):
    """Alice's model is public (its dataset is); her job on her private dataset is not."""
    model, dataset = trained_model(tmp_path, name="alice-model", n=24, owner=researcher)
    dataset.is_public = True
    dataset.save(update_fields=["is_public"])
    private = small_dataset(tmp_path, name="alice-private", owner=researcher)
    made = _client(researcher).post(
        f"/api/models/{model.name}/diagnostics/",
        {"dataset": private.name, "experiments": ["permutation"]},
        format="json",
    )
    assert made.status_code == 202, made.json()
    mallory = _client(make_researcher("mallory"))
    assert mallory.get(f"/api/jobs/{made.json()['id']}/").status_code == 404
    read = mallory.get(f"/api/models/{model.name}/diagnostics/").json()
    assert private.pk not in [job["dataset"] for job in read["jobs"]]


def test_duplicate_refuses_a_dataset_no_longer_shared(
    tmp_path, client, researcher, make_researcher
):
    """Once bob stops sharing, the design form and the API refuse his dataset; so should copying."""
    bob = make_researcher("bob")
    dataset, model = film_corpus(tmp_path, owner=bob, n=24, name="bob-reviews")
    dataset.shared_with.add(researcher)
    study = make_study(researcher, dataset, model, launch=False)
    dataset.shared_with.remove(researcher)
    assert _client(researcher).get(f"/api/datasets/{dataset.name}/").status_code == 404
    client.force_login(researcher)
    client.post(reverse("studies:study-duplicate", args=[study.pk]))
    assert not Study.objects.filter(owner=researcher).exclude(pk=study.pk).exists()
