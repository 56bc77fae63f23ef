"""Numbers beyond what a float or the stored JSON holds get a 400 naming the field, never a 500."""

import json

import pytest

from .factories import trained_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def owned(tmp_path, researcher):
    return trained_model(tmp_path, n=24, owner=researcher)


HUGE = 10**400  # valid JSON; float() of it raises OverflowError


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"adversarial": {"learning_rate": HUGE}}, "parameters.adversarial.learning_rate"),
        ({"model_adversary": {"lambdas": [HUGE]}}, "parameters.model_adversary.lambdas"),
        ({"correlation": {"significance": HUGE}}, "parameters.correlation.significance"),
    ],
)
def test_diagnostics_api_refuses_numbers_too_large_for_a_float(api, owned, parameters, field):
    model, _ = owned
    experiment = next(iter(parameters))
    response = api.post(
        f"/api/models/{model.name}/diagnostics/",
        {"experiments": [experiment], "parameters": parameters},
        format="json",
    )
    assert response.status_code == 400
    assert field in response.json()["detail"]


@pytest.mark.parametrize(
    ("experiment", "name"),
    [("permutation", "permutations"), ("adversarial", "steps"), ("adversarial", "candidates")],
)
def test_diagnostics_api_bounds_the_work_of_a_job(api, owned, experiment, name):
    """Every count that multiplies a job's work has a maximum: no job is queued beyond it."""
    from explanations.models import Job

    model, _ = owned
    response = api.post(
        f"/api/models/{model.name}/diagnostics/",
        {"experiments": [experiment], "parameters": {experiment: {name: 10**30}}},
        format="json",
    )
    assert response.status_code == 400
    assert f"parameters.{experiment}.{name}: expected at most" in response.json()["detail"]
    assert not Job.objects.exists()


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"scores": "huge"}, "scores"), ({"params": {"seed": HUGE}}, "params")],
)
def test_explanation_import_refuses_integers_too_large_to_store(
    api, researcher, tmp_path, extra, field
):
    """An integer of 400 digits in scores (beyond a float) or params (beyond 64 bits)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from explanations.models import ClassifierModel

    from .factories import small_dataset

    dataset = small_dataset(tmp_path, owner=researcher)
    instance = dataset.instances.order_by("position").first()
    line = {"instance": instance.external_id, "method": "gradient"}
    line["scores"] = [HUGE if extra.get("scores") else 0.5] * len(instance.tokens)
    if "params" in extra:
        line["params"] = extra["params"]
    upload = SimpleUploadedFile("e.jsonl", (json.dumps(line) + "\n").encode())
    response = api.post(
        "/api/explanations/import/",
        {"file": upload, "model": "imported", "dataset": dataset.name},
        format="multipart",
    )
    assert response.status_code == 400
    assert response.json()["problems"][0]["field"] == field
    assert not ClassifierModel.objects.filter(name="imported").exists()
