"""The scores page in a real browser (issue #15): it says which instances its figures cover,
shows only the held-out ones when asked, by keyboard, and loads the attention-agreement plot
as a file of its own."""

import pytest

from explanations.services.computing import explanations_compute, scores_compute
from tests.explanations.factories import trained_model

from .a11y import check_page

pytestmark = pytest.mark.django_db(transaction=True)

METHODS = ["attention", "gradient", "random"]


def press(page, locator, key="Enter"):
    """Focus ``locator`` as Tab would and press ``key`` on it."""
    locator.focus()
    page.keyboard.press(key)


def instances_per_cell(page) -> set[int]:
    """Return each cell's instance count (``n=`` plus its undefined ones) in the summary table."""
    notes = page.get_by_role("table", name="Methods by metrics").locator("td .muted")
    totals = set()
    for note in notes.all_inner_texts():
        if note.startswith("n="):
            parts = note.removeprefix("n=").split(", ")
            totals.add(int(parts[0]) + sum(int(p.split()[0]) for p in parts[1:]))
    return totals


def test_scores_cover_all_then_only_held_out_instances_by_keyboard(
    logged_in, live_server, researcher, tmp_path
):
    page = logged_in
    model, dataset = trained_model(tmp_path, n=24, owner=researcher)
    explanations_compute(model=model, dataset=dataset, methods=METHODS)
    scores_compute(model=model, dataset=dataset)
    held = len(model.held_out_instance_ids)
    assert 0 < held < 24

    press(page, page.get_by_role("link", name="Models", exact=True))
    press(page, page.get_by_role("link", name=model.name, exact=True))
    page.get_by_role("heading", name=f"Scores of {model.name}").wait_for()
    coverage = page.locator("p.coverage")
    assert coverage.inner_text() == "These figures cover all 24 instances."
    table = page.get_by_role("table", name="Methods by metrics")
    assert [table.locator("tbody th").nth(i).inner_text() for i in range(3)] == [
        "attention",
        "gradient",
        "random control (floor)",
    ]
    assert instances_per_cell(page) == {24}

    # The held-out instances only: choose them in the select and press the button.
    select = page.get_by_label("Scores on")
    options = select.locator("option").all_inner_texts()
    assert options[:2] == [
        "all 24 instances",
        f"the {held} instances held out from training (its validation split)",
    ]
    select.focus()
    page.keyboard.press("ArrowDown")
    assert select.input_value() == "held_out"
    press(page, page.get_by_role("button", name="Show"))
    page.wait_for_url("**/scores/?cover=held_out")
    assert coverage.inner_text() == (
        f"These figures cover the {held} instances held out from training (its validation split)."
    )
    assert instances_per_cell(page) == {held}
    assert page.get_by_label("Scores on").input_value() == "held_out"

    # The agreement plot is an SVG file of its own, fetched when scrolled to.
    plot = page.locator("figure.plot img")
    assert plot.get_attribute("loading") == "lazy"
    # ... on the instances the table covers.
    assert plot.get_attribute("src").endswith(
        f"/models/{model.name}/scores/agreement.svg?cover=held_out"
    )
    plot.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=plot.element_handle())
    assert "Kendall" in plot.get_attribute("alt")
    check_page(page)
