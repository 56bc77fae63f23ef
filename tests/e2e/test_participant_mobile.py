"""The participant pages on a phone (375 x 667): no sideways scrolling, every page passing the
accessibility checks, and the deadline shown in the phone's own time zone."""

import re

import pytest

from tests.studies.factories import film_corpus, make_study

from . import participant as p
from .screenshots import save_last_page

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = {"width": 375, "height": 667}


@pytest.fixture
def phone(browser, request):
    """A page in a phone-sized window, in New York's time zone; its last page is saved."""
    context = browser.new_context(viewport=PHONE, timezone_id="America/New_York")
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    save_last_page(page, request.node.name)
    context.close()


def fits(page) -> None:
    """Check the page just arrived at: accessible, and nothing wider than the phone."""
    p.arrive(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} scrolls sideways: {width}px wide"


def walk(page, answer) -> list[str]:
    """From the consent page, go through every page to the end; return the trial counters."""
    fits(page)
    p.tab_to(page, "button[name=agree][value=yes]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.get_by_role("heading", name="Instructions").wait_for()
    fits(page)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    counters = []
    while p.on_trial(page):
        fits(page)
        counters.append(page.locator(".trial-progress span").inner_text())
        page.keyboard.press(answer(page, len(counters)))
        with page.expect_navigation():
            page.keyboard.press("Enter")
    page.get_by_role("heading", name="Thank you!").wait_for()
    fits(page)
    return counters


def _side(page, k: int) -> str:
    wanted = p.ATTENTION_SIDE.search(p.instruction(page))
    side = wanted.group(2) if wanted else ("left", "right")[k % 2]
    return {"left": "ArrowLeft", "right": "ArrowRight"}[side]


@pytest.mark.parametrize(
    ("study_type", "options", "answer"),
    [
        ("plausibility_rating", {}, p.rating_key),
        # Which side holds the human rationale is not for the page to say: no gold items.
        ("pairwise_preference", {"gold_positions": [], "display_mode": "bars"}, _side),
    ],
)
def test_every_participant_page_fits_a_phone(
    phone, live_server, researcher, tmp_path, study_type, options, answer
):
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    study = make_study(researcher, dataset, model, study_type=study_type, **options)
    phone.goto(f"{live_server.url}/s/{study.uid}/")
    counters = walk(phone, answer)
    assert counters[0] == "Practice item 1 of 1"
    assert counters[1] == f"Item 1 of {len(counters) - 1}"


def test_deadline_is_shown_in_the_local_time_zone(phone, live_server, researcher, tmp_path):
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    study = make_study(researcher, dataset, model)
    phone.goto(f"{live_server.url}/s/{study.uid}/")
    p.tab_to(phone, "button[name=agree][value=yes]")
    with phone.expect_navigation():
        phone.keyboard.press("Enter")
    deadline = study.participants.get().assignment.deadline
    shown = phone.locator("time[data-local-time]")
    assert shown.get_attribute("datetime") == deadline.isoformat()
    # New York is 4 or 5 hours behind UTC; the page says which zone it means.
    expected = phone.evaluate(
        """(iso) => new Intl.DateTimeFormat(undefined, {hour: "2-digit", minute: "2-digit",
        timeZone: "America/New_York", timeZoneName: "short"}).format(new Date(iso))""",
        deadline.isoformat(),
    )
    assert shown.inner_text() == expected
    assert re.search(r"E[DS]T", expected), expected
    assert "UTC" not in shown.inner_text()
