"""REST API of the analysis: the results as JSON and the bundle, owner only."""

import io
import json
import zipfile

from django.urls import reverse
from rest_framework.test import APIClient

from tests.analysis.background import analysis_computed

FAST = {"n_resamples": "60"}


def test_results_are_json_safe_and_follow_the_options(api, rated):
    url = reverse("analysis-api:study-results", args=[rated.pk])
    analysis_computed(rated, {**FAST, "seed": "5", "level": "0.9"})
    response = api.get(url, {**FAST, "seed": "5", "level": "0.9"})
    assert response.status_code == 200
    data = response.json()
    json.dumps(data, allow_nan=False)
    assert data["options"] == {
        "n_resamples": 60,
        "level": 0.9,
        "resampling": "two_way",
        "interval": "basic",
        "seed": 5,
    }
    means = data["sections"]["rating"]["method_means"]
    assert {m["method"] for m in means} == {"gradient", "lrp", "random"}
    assert all(m["ci"]["level"] == 0.9 for m in means)


def test_bad_options_are_400_naming_the_field(api, rating_study):
    url = reverse("analysis-api:study-results", args=[rating_study.pk])
    response = api.get(url, {"resampling": "sideways"})
    assert response.status_code == 400
    assert "resampling" in response.json()
    assert api.get(url, {"n_resamples": "-1"}).status_code == 400


def test_bundle_is_the_export_as_a_zip(api, rated):
    analysis_computed(rated, FAST)
    response = api.get(reverse("analysis-api:study-bundle", args=[rated.pk]), FAST)
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    folder = f"elephant-study-{rated.pk}-analysis"
    manifest = json.loads(archive.read(f"{folder}/manifest.json"))
    assert set(manifest["files"]) <= {n.removeprefix(f"{folder}/") for n in archive.namelist()}


def test_only_the_owner_reads_the_analysis(make_researcher, rating_study):
    urls = [
        reverse("analysis-api:study-results", args=[rating_study.pk]),
        reverse("analysis-api:study-bundle", args=[rating_study.pk]),
    ]
    anonymous = APIClient()
    other = APIClient()
    other.force_authenticate(make_researcher("mallory"))
    for url in urls:
        assert anonymous.get(url).status_code in (401, 403)
        assert other.get(url, FAST).status_code == 404


def test_schema_documents_the_endpoints(api):
    response = api.get(reverse("schema"), {"format": "json"})
    assert response.status_code == 200
    paths = json.loads(response.content)["paths"]
    ours = sorted(p for p in paths if p.startswith("/api/analysis/"))
    assert ours == ["/api/analysis/studies/{id}/", "/api/analysis/studies/{id}/bundle/"]
    names = {p["name"] for p in paths[ours[0]]["get"]["parameters"]}
    assert {"n_resamples", "level", "seed", "resampling", "interval"} <= names
