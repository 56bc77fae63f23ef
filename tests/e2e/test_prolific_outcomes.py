"""A Prolific participant, keyboard only: a wrong comprehension attempt, the instructions
again, a right second attempt, then two failed attention checks and the failed-checks code."""

import pytest

from studies.models import Participant
from tests.studies.factories import film_corpus, make_study

from . import participant as p
from .test_participant_prolific import prolific_link

pytestmark = pytest.mark.django_db(transaction=True)
CHECKS = "What do darker highlights mark? | Typos | *Words that mattered more | Nothing"


@pytest.fixture
def study(tmp_path, researcher):
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    return make_study(
        researcher,
        dataset,
        model,
        study_type="plausibility_rating",
        attention_check_positions=[2, 5],
        completion_code="ELEPHANT-E2E",
        failed_checks_code="FAILED-E2E",
        comprehension_checks=CHECKS,
        questionnaire_preset="explanation_satisfaction",
    )


def answer_check(page, option: int) -> None:
    """Choose ``option`` (0-based) of the one question with the arrow keys; send it with Enter."""
    p.tab_to(page, "input[name=c1]")
    page.keyboard.press("Space")
    for _ in range(option):
        page.keyboard.press("ArrowDown")
    assert page.locator(f"input[name=c1][value='{option}']:checked").count() == 1
    p.tab_to(page, "button[type=submit]")
    p.press_and_wait(page, "Enter")


def test_prolific_participant_retries_the_check_and_fails_two_attention_checks(
    page, live_server, study
):
    p.stub_prolific(page)
    page.goto(prolific_link(live_server, study))
    p.arrive(page)
    p.consent_and_start(page)  # Enter on the instructions leads to the questions

    page.get_by_role("heading", name="Questions on the instructions").wait_for()
    answer_check(page, 0)
    # A second attempt, with the instructions shown again and the wrong answer named.
    page.get_by_text("1 of your answers was not right").wait_for()
    page.get_by_role("heading", name="Instructions", exact=True).wait_for()
    participant = Participant.objects.get(study=study)
    assert [a["passed"] for a in participant.comprehension_attempts] == [False]
    answer_check(page, 1)

    # Now the trials; the two attention checks are answered against their instruction.
    failed = 0
    k = 0
    while p.on_trial(page):
        k += 1
        match = p.ATTENTION_NUMBER.search(p.instruction(page))
        key = p.rating_key(page, k)
        if match:
            key = "1" if match.group(1) != "1" else "2"
            failed += 1
        p.choose_and_submit(page, key, checked=f"input[name=rating][value='{key}']")
    assert failed == 2
    assert p.answer_questionnaire(page) == 8
    page.wait_for_url(f"{p.PROLIFIC_COMPLETE}?cc=FAILED-E2E")
    participant.refresh_from_db()
    assert participant.outcome == Participant.Outcome.FAILED_CHECKS
    assert [a["passed"] for a in participant.comprehension_attempts] == [False, True]
