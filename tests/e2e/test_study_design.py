"""Designing a study in a real browser, keyboard only (issue #15): the type first and only
its options, the error summary, a confirmed launch, a copied link, a duplicate; long
names wrap on the study list."""

import pytest

from studies.models import Study
from tests.studies.factories import film_corpus, make_study

from . import a11y

pytestmark = pytest.mark.django_db(transaction=True)
WIDE = {"width": 1366, "height": 768}


@pytest.fixture
def corpus(tmp_path, researcher):
    return film_corpus(tmp_path, owner=researcher, n=16)


def press(page, locator, key="Enter"):
    """Focus ``locator`` as Tab would and press ``key`` on it."""
    locator.focus()
    page.keyboard.press(key)


def focused(page) -> str:
    return page.evaluate("document.activeElement.id || document.activeElement.className")


def test_researcher_designs_launches_copies_and_duplicates_by_keyboard(
    logged_in, live_server, corpus
):
    page = logged_in
    page.set_viewport_size(WIDE)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    press(page, page.get_by_role("link", name="Studies", exact=True))
    press(page, page.get_by_role("link", name="Design a new study"))

    # Step 1: the type (none chosen in advance), the dataset and the model.
    page.get_by_role("heading", name="Design a study").wait_for()
    assert page.locator("input[name=study_type]:checked").count() == 0
    assert page.locator("[name=plausibility_rating__points]").count() == 0
    a11y.check_page(page)
    press(page, page.get_by_role("radio", name="Plausibility rating"), "Space")
    page.locator("#id_dataset").focus()
    page.keyboard.press("ArrowDown")  # the first (only) dataset
    page.locator("#id_model").focus()
    page.keyboard.press("ArrowDown")
    press(page, page.get_by_role("button", name="Continue"))

    # Step 2: the common fields and only this type's options.
    page.get_by_role("button", name="Create the draft").wait_for()
    height = page.evaluate("document.documentElement.scrollHeight")
    print(f"study form height at 1366x768: {height}px")
    assert page.locator("[name=plausibility_rating__points]").is_visible()
    assert page.locator("[name^=pairwise_preference__]").count() == 0
    assert page.locator("[name^=aided_task__]").count() == 0
    assert page.get_by_label("Optional comment").get_attribute("type") == "checkbox"
    press(page, page.locator("#id_n_items"), "Control+A")
    page.keyboard.type("0")
    press(page, page.get_by_role("button", name="Create the draft"))

    # The failed submit lands on the error summary, whose links lead to the fields.
    summary = page.locator(".error-summary")
    summary.wait_for()
    page.wait_for_function("document.activeElement.classList.contains('error-summary')")
    assert summary.get_attribute("role") == "alert"
    a11y.check_page(page)
    page.locator(".error-summary").focus()  # the check walks the page with Tab
    links = summary.get_by_role("link").all_inner_texts()
    assert "Name: This field is required." in links
    assert any(t.startswith("Test instances: field n_items=0") for t in links)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.getAttribute('href')") == "#id_name"
    page.keyboard.press("Enter")
    page.locator("#id_name").focus()  # where the link scrolled to
    page.keyboard.type("Keyboard study")
    press(page, page.locator("#id_n_items"), "Control+A")
    page.keyboard.type("6")
    for method in ("gradient", "lrp", "random"):
        press(page, page.locator(f"input[name=methods][value={method}]"), "Space")
    press(page, page.get_by_role("button", name="Create the draft"))
    page.get_by_text("created as a draft").wait_for()
    study = Study.objects.get(name="Keyboard study")
    assert study.study_type == "plausibility_rating"

    # Launch, through the confirmation that says the items freeze.
    press(page, page.get_by_role("link", name="Launch (go live)…"))
    page.get_by_text(f"Launching freezes its {study.items.count()} items").wait_for()
    a11y.check_page(page)
    press(page, page.get_by_role("button", name="Launch: freeze the items and go live"))
    page.get_by_text("The study is live; its items and scores are frozen.").wait_for()

    # Copy the anonymous link: the live region says so.
    link = page.locator("#link-anonymous").inner_text()
    press(page, page.get_by_role("button", name="Copy the anonymous link"))
    page.wait_for_function("document.getElementById('copy-status').textContent === 'Copied'")
    assert page.evaluate("navigator.clipboard.readText()") == link
    assert (
        page.locator("#link-prolific")
        .inner_text()
        .endswith(
            "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}&SESSION_ID={{%SESSION_ID%}}"
        )
    )

    # Duplicate: a new draft with the same design.
    press(page, page.get_by_role("button", name="Duplicate the study"))
    page.get_by_role("heading", name="Copy of Keyboard study").wait_for()
    copy = Study.objects.get(name="Copy of Keyboard study")
    assert copy.status == Study.Status.DRAFT
    assert page.url == f"{live_server.url}/studies/{copy.pk}/"


def test_a_very_long_name_wraps_instead_of_widening_the_pages(
    logged_in, live_server, corpus, researcher
):
    dataset, model = corpus
    # The longest name a study may have (200 characters), without a space to break at.
    name = "n" * Study._meta.get_field("name").max_length
    study = make_study(researcher, dataset, model, name=name)
    page = logged_in
    page.set_viewport_size(WIDE)
    for path in ("/studies/", f"/studies/{study.pk}/"):
        page.goto(f"{live_server.url}{path}")
        page.get_by_text(name[:50], exact=False).first.wait_for()
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], (path, widths)
