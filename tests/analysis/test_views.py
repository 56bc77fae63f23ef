"""The analysis page, its plot downloads and its bundle: owner only, plots inline."""

import io
import zipfile

import pytest
from django.urls import reverse

from tests.analysis.background import analysis_computed

FAST = {"n_resamples": "60"}


@pytest.fixture
def owner_client(client, researcher):
    client.force_login(researcher)
    return client


def test_page_shows_results_and_inline_plots(owner_client, rated):
    analysis_computed(rated, FAST)
    response = owner_client.get(reverse("analysis:study-analysis", args=[rated.pk]), FAST)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<svg") >= 2
    assert "Krippendorff" in html
    assert "Simulated data." in html
    assert "random" in html
    # Links carry the page's settings, so downloads match what is shown.
    plot = reverse("analysis:study-plot", args=[rated.pk, "ratings_by_method", "png"])
    assert f'href="{plot}?n_resamples=60"' in html
    assert "NaN" not in html


def test_plots_download_as_svg_and_png(owner_client, rated):
    analysis_computed(rated, FAST)
    svg = owner_client.get(
        reverse("analysis:study-plot", args=[rated.pk, "ratings_by_method", "svg"]), FAST
    )
    assert svg["Content-Type"] == "image/svg+xml"
    assert "attachment" in svg["Content-Disposition"]
    assert b"<svg" in svg.content
    png = owner_client.get(
        reverse("analysis:study-plot", args=[rated.pk, "ratings_by_method", "png"]), FAST
    )
    assert png["Content-Type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    url = reverse("analysis:study-plot", args=[rated.pk, "no_such_plot", "svg"])
    assert owner_client.get(url, FAST).status_code == 404
    url = reverse("analysis:study-plot", args=[rated.pk, "ratings_by_method", "gif"])
    assert owner_client.get(url, FAST).status_code == 404


def test_bad_options_are_400_naming_the_parameter(owner_client, rating_study):
    url = reverse("analysis:study-analysis", args=[rating_study.pk])
    response = owner_client.get(url, {"n_resamples": "lots"})
    assert response.status_code == 400
    assert b"n_resamples" in response.content
    assert owner_client.get(url, {"level": "1.5"}).status_code == 400


def test_bundle_download_is_a_zip_with_one_folder(owner_client, rated):
    analysis_computed(rated, FAST)
    response = owner_client.get(reverse("analysis:study-bundle", args=[rated.pk]), FAST)
    assert response["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    folder = f"elephant-study-{rated.pk}-analysis/"
    assert all(n.startswith(folder) for n in names)
    assert f"{folder}results.json" in names


def test_other_researchers_get_404_and_visitors_log_in(client, make_researcher, rating_study):
    pk = rating_study.pk
    urls = [
        reverse("analysis:study-analysis", args=[pk]),
        reverse("analysis:study-plot", args=[pk, "ratings_by_method", "svg"]),
        reverse("analysis:study-bundle", args=[pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 302
    client.force_login(make_researcher("mallory"))
    for url in urls:
        assert client.get(url, FAST).status_code == 404
