"""The progress page in a real browser (issue #15): each participant's row has its own
Exclude… (no internal id to type) and, once excluded, Revoke, all by keyboard."""

import pytest

from analysis.services.simulated import participants_simulate
from studies.models import Exclusion
from tests.studies.factories import film_corpus, make_study

from . import a11y

pytestmark = pytest.mark.django_db(transaction=True)


def press(page, locator, key="Enter"):
    """Focus ``locator`` as Tab would and press ``key`` on it."""
    locator.focus()
    page.keyboard.press(key)


def row_of(page, pseudonym: str):
    """Return the participants table's row of ``pseudonym``."""
    return page.locator("tr", has=page.get_by_text(pseudonym, exact=True))


def to_progress(page, study) -> None:
    """From a page under the study, back to its progress page through the breadcrumb."""
    press(
        page, page.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name=study.name)
    )
    press(page, page.get_by_role("link", name="Progress", exact=True))
    page.get_by_role("heading", name="Progress").wait_for()


def exclude(page, study, participant, reason: str) -> None:
    """Press the participant's row's Exclude…, give ``reason``, and return to the progress page.

    The hand form opens with who filled in (no internal id to type) and the reason focused.
    """
    press(page, page.get_by_role("button", name=f"Exclude participant {participant.pseudonym}…"))
    page.get_by_role("heading", name="Exclude by hand").wait_for()
    assert page.get_by_label("Participant id").input_value() == str(participant.pk)
    page.wait_for_function("document.activeElement.name === 'reason'")
    page.keyboard.type(reason)
    page.keyboard.press("Enter")
    page.get_by_text(f"Participant {participant.pk} excluded.").wait_for()
    assert Exclusion.objects.get(participant=participant, revoked_at=None).reason == reason
    to_progress(page, study)


def test_a_participant_is_excluded_and_revoked_from_their_row(
    logged_in, live_server, researcher, tmp_path
):
    page = logged_in
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    study = make_study(researcher, dataset, model, ratings_per_item=2)
    assert participants_simulate(study=study, n=3, seed=4) == 3
    first, second = study.participants.order_by("pk")[:2]

    page.goto(f"{live_server.url}/studies/{study.pk}/")
    press(page, page.get_by_role("link", name="Progress", exact=True))
    page.get_by_role("heading", name="Progress").wait_for()
    excluded = page.locator(".stat", has_text="excluded")
    assert excluded.locator("strong").inner_text() == "0"
    assert page.get_by_role("button", name="Exclude participant").count() == 3
    a11y.check_page(page)

    # Exclude someone from their row, revoke it, then exclude someone else.
    exclude(page, study, first, "answered in under a second throughout")
    assert excluded.locator("strong").inner_text() == "1"
    row = row_of(page, first.pseudonym)
    assert row.locator("td").nth(7).inner_text().startswith("yes")
    assert row.get_by_role("button", name=f"Exclude participant {first.pseudonym}…").count() == 0
    revoke = f"Revoke the exclusion of participant {first.pseudonym}"
    press(page, row.get_by_role("button", name=revoke))
    page.get_by_text(f"Exclusion of participant {first.pk} revoked.").wait_for()
    to_progress(page, study)
    assert excluded.locator("strong").inner_text() == "0"
    assert page.get_by_role("button", name=f"Exclude participant {first.pseudonym}…").count() == 1

    exclude(page, study, second, "the same rating for every item")
    assert excluded.locator("strong").inner_text() == "1"
    assert row_of(page, second.pseudonym).locator("td").nth(7).inner_text().startswith("yes")
    assert row_of(page, first.pseudonym).locator("td").nth(7).inner_text().startswith("no")
    a11y.check_page(page)
