"""The "Attention under test" page in a real browser: tables, lazily loaded SVG figures."""

import pytest

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
    page.get_by_role("link", name="attention under test").click()
    page.wait_for_url(f"**/models/{model.name}/attention/")
    assert (
        page.get_by_role("heading", level=1).inner_text() == f"Attention under test: {model.name}"
    )
    for caption in ("Correlation with gradient", "Permuted attention", "Zeroing attention"):
        assert page.get_by_role("table", name=caption).count() >= 1
    assert page.get_by_role("table", name="Reference, not our model").count() == 1
    figures = page.locator("figure.plot img")
    assert figures.count() == 4
    for index in range(4):
        image = figures.nth(index)
        image.scroll_into_view_if_needed()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
        )
    check_page(page)
