"""The "Attention under test" page in a real browser: tables, lazily loaded SVG figures."""

import pytest

from explanations.models import Diagnostic
from explanations.services.diagnostics import diagnostics_run
from tests.explanations.factories import trained_model

from .a11y import check_page

pytestmark = pytest.mark.django_db(transaction=True)


def test_attention_page_shows_tables_and_loads_each_figure(
    logged_in, live_server, researcher, tmp_path
):
    page = logged_in
    model, dataset = trained_model(tmp_path, n=24, owner=researcher)
    diagnostics_run(
        model=model,
        dataset=dataset,
        parameters={"permutation": {"permutations": 20}, "adversarial": {"steps": 30}},
    )
    page.goto(f"{live_server.url}/models/")
    page.get_by_role("link", name="attention under test").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/models/{model.name}/attention/")
    assert (
        page.get_by_role("heading", level=1).inner_text() == f"Attention under test: {model.name}"
    )
    # Every experiment has run: each has its section, and the form ticks none to run again.
    stored = {label for key, label in Diagnostic.Experiment.choices if key in ran(model)}
    assert stored, "the job stored no experiment"
    for label in stored:
        section = page.locator("section", has=page.get_by_role("heading", name=label, exact=True))
        assert section.get_by_role("table", name=f"{label}: summary over instances").count() == 1
        assert section.get_by_text("Not run yet").count() == 0
    run = page.get_by_role("group", name=f"Experiments to run on {dataset.name}")
    assert run.get_by_role("checkbox").count() == len(Diagnostic.Experiment.choices)
    assert run.get_by_role("checkbox", checked=True).count() == 0
    assert page.get_by_role("table", name="Reference, not our model").count() == 1
    # One lazily loaded figure per stored experiment, each fetched once scrolled to.
    figures = page.locator("figure.plot img")
    assert figures.count() == len(stored)
    for index in range(len(stored)):
        image = figures.nth(index)
        assert image.get_attribute("loading") == "lazy"
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
    page.evaluate("window.scrollTo(0, 0)")
    check_page(page)


def ran(model) -> set[str]:
    """Return the experiments with results stored for ``model``."""
    return set(model.diagnostics.values_list("experiment", flat=True)) | set(
        model.model_diagnostics.values_list("experiment", flat=True)
    )
