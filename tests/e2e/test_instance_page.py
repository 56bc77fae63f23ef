"""The instance page compares every method at a glance, in a real browser.

One compact row per method, one column per word (the same word in the same column in
every row), all methods within one 1366 x 768 screen; scores in the cells, bars and raw
numbers on demand, with the keyboard.
"""

import json

import pytest

from explanations.services.explanations import explanations_import
from tests.explanations.factories import small_dataset

from .a11y import contrast_problems

pytestmark = pytest.mark.django_db(transaction=True)

# Nine methods, as many as a demo model has, on the six words of instance a1.
METHODS = {
    "attention": [0.1, 0.3, 0.2, 0.2, 0.1, 0.1],
    "attention_rollout": [0.2, 0.2, 0.2, 0.1, 0.2, 0.1],
    "gradient": [0.1, 0.9, 0.0, 0.5, 0.2, 0.05],
    "grad_input": [-0.5, 1.0, 0.0, 0.25, 0.0, 0.0],
    "integrated_gradients": [-0.4, 1.2, 0.1, 0.3, -0.1, 0.0],
    "lrp": [0.0, 0.7, -0.2, 0.3, 0.0, 0.1],
    "occlusion": [0.05, 0.4, 0.0, 0.1, 0.0, 0.0],
    "omission": [0.04, 0.5, 0.0, 0.2, 0.0, -0.01],
    "random": [0.3, -0.2, 0.1, 0.0, 0.4, -0.1],
}


def test_every_method_is_one_aligned_row_within_one_screen(
    logged_in, live_server, researcher, tmp_path
):
    page = logged_in
    page.set_viewport_size({"width": 1366, "height": 768})
    dataset = small_dataset(tmp_path, owner=researcher)
    path = tmp_path / "e.jsonl"
    path.write_text(
        "".join(
            json.dumps({"instance": "a1", "method": m, "scores": s}) + "\n"
            for m, s in METHODS.items()
        )
    )
    explanations_import(path=path, model_name="m", dataset=dataset)
    page.goto(f"{live_server.url}/datasets/films/instances/a1/")
    # Keyboard: the skip link is the first stop.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"

    grid = page.get_by_role("region", name="Every method's word scores")
    rows = grid.locator("tbody tr")
    assert rows.count() == len(METHODS)
    assert [rows.nth(i).locator("th").inner_text() for i in range(len(METHODS))] == sorted(METHODS)
    # The same word sits in the same column in every row.
    lefts = page.evaluate(
        """() => [...document.querySelectorAll('.method-grid tbody tr')].map(
            row => [...row.querySelectorAll('td')].map(td => Math.round(td.getBoundingClientRect().left)))"""
    )
    assert all(len(row) == 6 for row in lefts)
    assert all(row == lefts[0] for row in lefts)
    # All methods within one 1366 x 768 screen: the whole grid fits once scrolled to it.
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    assert box["height"] <= 768 / 2, box
    assert box["width"] <= 1366, box
    # Each cell carries its colour (blue for, orange against) and its score as text.
    first = rows.filter(has=page.get_by_role("rowheader", name="grad_input")).locator("td")
    assert "0.25" in first.nth(3).get_attribute("title")
    assert first.nth(1).evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(33, 102, 172)"
    assert contrast_problems(page) == []

    # The scores in the cells on demand, with the keyboard: hidden, then shown.
    number = first.nth(1).locator(".grid-num")
    assert number.bounding_box()["width"] <= 1
    page.get_by_label("Show the scores in the cells").focus()
    page.keyboard.press("Space")
    assert number.bounding_box()["width"] > 5
    assert number.inner_text() == "1.00"

    # Bars and raw numbers on demand: each method's details open from the keyboard.
    section = page.locator(
        "section.method", has=page.get_by_role("heading", name="gradient", exact=True)
    )
    assert not section.locator("figure.bars").is_visible()
    section.locator("summary").focus()
    page.keyboard.press("Enter")
    assert section.locator("figure.bars .bar").count() == 6
    assert section.locator("figure.bars").is_visible()
    assert "0.9000" in section.locator("figure.bars").inner_text()
