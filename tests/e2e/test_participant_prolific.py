"""A Prolific participant, keyboard only, in a real browser: the whole session, and a reload."""

import pytest

from studies.models import Participant, Response, Study, Trial
from studies.services.exclusions import ExclusionRules, exclusions_apply
from tests.studies.factories import film_corpus, make_study

from . import participant as p

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def study(tmp_path, researcher):
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    return make_study(
        researcher,
        dataset,
        model,
        study_type="plausibility_rating",
        questionnaire_preset="explanation_satisfaction",
        completion_code="ELEPHANT-E2E",
    )


def prolific_link(live_server, study: Study, pid: str = "pid-e2e") -> str:
    return f"{live_server.url}/s/{study.uid}/?PROLIFIC_PID={pid}&STUDY_ID=st-1&SESSION_ID=se-1"


def test_prolific_participant_completes_the_study_with_the_keyboard_alone(
    page, live_server, study, researcher
):
    p.stub_prolific(page)
    page.goto(prolific_link(live_server, study))
    p.arrive(page)
    p.consent_and_start(page)

    # The practice comes first and says so; then the items that count.
    assert page.get_by_role("heading", name="Practice item 1 of 1").count() == 1
    assert page.locator(".trial-progress span").inner_text() == "Practice item 1 of 1"
    page.get_by_text("This is a practice item; it does not count.").wait_for()
    p.choose_and_submit(page, "4", checked="input[name=rating][value='4']")
    page.get_by_text("The practice is over: from now on your answers count.").wait_for()
    instructions_seen = []
    while p.on_trial(page):
        instructions_seen.append(p.instruction(page))
        key = p.rating_key(page, len(instructions_seen))
        p.choose_and_submit(page, key, checked=f"input[name=rating][value='{key}']")
    assert any("choose" in text for text in instructions_seen), "no attention check was shown"

    code = Study.objects.get(pk=study.pk).completion_code
    assert p.answer_questionnaire(page) == 8
    page.wait_for_url(f"{p.PROLIFIC_COMPLETE}?cc={code}")
    assert page.url == f"https://app.prolific.com/submissions/complete?cc={code}"

    participant = Participant.objects.get(study=study)
    assert participant.status == Participant.Status.COMPLETED
    assert participant.prolific_pid == "pid-e2e"
    trials = Trial.objects.filter(assignment__participant=participant)
    responses = Response.objects.filter(participant=participant)
    assert responses.count() == trials.count() == 9  # 1 practice, 6 test, 1 check, 1 gold
    # Every check passed, the browser reported its timing, and no rule excludes anyone.
    checks = responses.exclude(passed=None)
    assert checks.count() == 2
    assert all(checks.values_list("passed", flat=True))
    assert all(d and d > 0 for d in responses.values_list("client_duration_ms", flat=True))
    assert exclusions_apply(study=study, rules=ExclusionRules(), by=researcher) == []
    assert participant.questionnaire_answers.count() == 8


def test_prolific_participant_reloads_and_resumes_at_the_same_trial(
    page, browser, live_server, study
):
    page.goto(prolific_link(live_server, study))
    p.arrive(page)
    p.consent_and_start(page)
    p.answer_ratings(page, stop_after=3)
    current = p.trial_id(page)
    heading = page.locator(".trial-progress span").inner_text()
    assert heading == "Item 3 of 8"  # after the practice item, counted as the instructions do
    # Choose an answer without sending it, then reload: the same trial, nothing stored.
    # The page came as the last answer's response; flow.js made its history entry a GET,
    # so the reload asks for the page and does not send that answer again.
    navigations = []
    page.on(
        "request",
        lambda r: navigations.append(r.method) if r.is_navigation_request() else None,
    )
    page.keyboard.press("2")
    page.reload()
    p.arrive(page)
    assert navigations == ["GET"]
    assert p.trial_id(page) == current
    assert page.locator(".trial-progress span").inner_text() == heading
    assert Response.objects.filter(trial_id=current).count() == 0
    # The same Prolific link in a new browser (another device) resumes there too.
    other = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        again = other.new_page()
        again.goto(prolific_link(live_server, study))
        p.arrive(again)
        assert p.trial_id(again) == current
    finally:
        other.close()
    assert Participant.objects.filter(study=study).count() == 1
    # Carry on from the reloaded page: the answer lands on that trial.
    p.answer_ratings(page, stop_after=1)
    assert Response.objects.filter(trial_id=current).count() == 1
    assert page.locator(".trial-progress span").inner_text() == "Item 4 of 8"


def test_enter_on_stop_taking_part_withdraws_once_confirmed_even_with_an_answer_chosen(
    page, live_server, study
):
    page.goto(prolific_link(live_server, study))
    p.arrive(page)
    p.consent_and_start(page)
    current = p.trial_id(page)
    page.keyboard.press("4")  # chosen, not sent
    p.tab_to(page, "a.withdraw")
    assert page.evaluate("document.activeElement.textContent") == "Stop taking part"
    p.press_and_wait(page, "Enter")
    # Asked to confirm first (issue #15): nothing has changed yet.
    page.get_by_role("heading", name="Stop taking part?").wait_for()
    assert Participant.objects.get(study=study).status == Participant.Status.IN_PROGRESS
    p.tab_to(page, "button[name=confirm][value=yes]")
    p.press_and_wait(page, "Enter")
    page.get_by_role("heading", name="You have stopped taking part").wait_for()
    assert Participant.objects.get(study=study).status == Participant.Status.RETURNED
    assert Response.objects.filter(trial_id=current).count() == 0
