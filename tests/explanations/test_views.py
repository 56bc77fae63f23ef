"""Researcher pages: login, dataset list and detail, the instance page."""

import json

import pytest

from explanations.display import NEGATIVE_RGB, POSITIVE_RGB, contrast_ratio, token_cells
from explanations.services.explanations import explanations_import

from .factories import small_dataset

pytestmark = pytest.mark.django_db


def test_pages_need_login(client):
    response = client.get("/datasets/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_login_page_renders(client):
    assert b'name="username"' in client.get("/accounts/login/").content


def test_dataset_pages_and_instance_page(tmp_path, researcher, client):
    dataset = small_dataset(tmp_path, owner=researcher)
    path = tmp_path / "e.jsonl"
    path.write_text(
        json.dumps(
            {"instance": "a1", "method": "gradient", "scores": [0.1, 0.9, 0.0, 0.5, 0.2, 0.05]}
        )
        + "\n"
        + json.dumps(
            {"instance": "a1", "method": "grad_input", "scores": [-0.5, 1.0, 0.0, 0.25, 0.0, 0.0]}
        )
        + "\n"
    )
    explanations_import(path=path, model_name="m", dataset=dataset)
    client.force_login(researcher)
    assert b"films" in client.get("/datasets/").content
    detail = client.get("/datasets/films/").content.decode()
    assert "a wonderful" in detail.lower()
    page = client.get("/datasets/films/instances/a1/").content.decode()
    assert page.count('class="heatmap"') == 2
    assert page.count('class="bars"') == 2
    assert "-0.5000" in page  # raw numbers shown
    assert "annotator_1" in page


def test_other_researchers_dataset_is_404(tmp_path, make_researcher, client):
    owner, other = make_researcher("owner"), make_researcher("other")
    small_dataset(tmp_path, owner=owner)
    client.force_login(other)
    assert client.get("/datasets/films/").status_code == 404
    assert client.get("/datasets/films/instances/a1/").status_code == 404


def test_heatmap_palette_scales_signs_and_keeps_text_readable():
    cells = token_cells(["a", "b", "c", "d"], [2.0, -1.0, 0.0, -2.0])
    assert cells[0].background == "#{:02x}{:02x}{:02x}".format(*POSITIVE_RGB)
    assert cells[3].background == "#{:02x}{:02x}{:02x}".format(*NEGATIVE_RGB)
    assert cells[2].background == "#ffffff"
    assert [c.bar_percent for c in cells] == [100.0, 50.0, 0.0, 100.0]
    for cell in cells:
        bg = tuple(int(cell.background[i : i + 2], 16) for i in (1, 3, 5))
        fg = (255, 255, 255) if cell.foreground == "#ffffff" else (0, 0, 0)
        assert contrast_ratio(bg, fg) >= 4.5


def test_contrast_ratio_matches_wcag_reference_values():
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)
