"""The instance page shows heatmap and bars for each method, in a real browser."""

import json

import pytest

from explanations.services.explanations import explanations_import
from tests.explanations.factories import small_dataset

from .a11y import contrast_problems

pytestmark = pytest.mark.django_db(transaction=True)


def test_instance_page_shows_heatmap_and_bars_per_method(
    logged_in, live_server, researcher, tmp_path
):
    page = logged_in
    dataset = small_dataset(tmp_path, owner=researcher)
    path = tmp_path / "e.jsonl"
    methods = {
        "gradient": [0.1, 0.9, 0.0, 0.5, 0.2, 0.05],
        "grad_input": [-0.5, 1.0, 0.0, 0.25, 0.0, 0.0],
        "random": [0.3, -0.2, 0.1, 0.0, 0.4, -0.1],
    }
    path.write_text(
        "".join(
            json.dumps({"instance": "a1", "method": m, "scores": s}) + "\n"
            for m, s in methods.items()
        )
    )
    explanations_import(path=path, model_name="m", dataset=dataset)
    page.goto(f"{live_server.url}/datasets/films/instances/a1/")
    assert page.locator("section.method").count() == 3
    for method in methods:
        section = page.locator(
            "section.method", has=page.get_by_role("heading", name=method, exact=True)
        )
        assert section.locator("figure.heatmap .tok").count() == 6
        assert section.locator("figure.bars .bar").count() == 6
    # The heatmap colours come from the stylesheet the app serves itself (no CDN).
    css = page.evaluate("getComputedStyle(document.querySelector('.bar-pos')).backgroundColor")
    assert css == "rgb(33, 102, 172)"
    # Every heatmap word stays readable on its colour (WCAG AA, 4.5:1).
    assert contrast_problems(page) == []
    assert page.locator(".tok").count() == 18
    # Keyboard: the skip link is the first stop and moves focus to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
