"""A pairwise-preference study completed with the arrow keys, explanations drawn as bars."""

import pytest

from studies.models import Participant, Response, Trial
from tests.studies.factories import film_corpus, make_study

from . import participant as p

pytestmark = pytest.mark.django_db(transaction=True)
KEYS = {"left": "ArrowLeft", "right": "ArrowRight", "tie": "ArrowDown"}


def test_pairwise_study_completed_with_the_arrow_keys(page, live_server, researcher, tmp_path):
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    study = make_study(
        researcher,
        dataset,
        model,
        study_type="pairwise_preference",
        gold_positions=[],  # which side holds the human rationale is not for the page to say
        display_mode="bars",
        type_options={"allow_tie": True, "comment": True},
    )
    page.goto(f"{live_server.url}/s/{study.uid}/")
    p.arrive(page)
    p.consent_and_start(page)

    chosen: dict[int, str] = {}
    k = 0
    while p.on_trial(page):
        assert page.locator("figure.explanation-bars").count() == 2
        assert page.locator("figure.explanation-bars .bar").count() > 0
        captions = page.locator("figcaption").all_inner_texts()
        assert captions == ["Explanation A", "Explanation B"]  # never a method's name
        wanted = p.ATTENTION_SIDE.search(p.instruction(page))
        if wanted:
            side = wanted.group(2)
            assert wanted.group(1) == {"left": "A", "right": "B"}[side]
        else:
            side = ("left", "right", "tie")[k % 3]
        chosen[p.trial_id(page)] = side
        page.keyboard.press(KEYS[side])
        assert page.locator("input[name=choice]:checked").input_value() == side
        if k == 1:
            # Typing in the comment box (digits and arrows included) leaves the choice alone;
            # Enter there is a new line, so Tab to Next and press Enter.
            p.tab_to(page, "textarea[name=comment]")
            page.keyboard.type("Left 2 <- 3")
            page.keyboard.press("ArrowLeft")
            page.keyboard.press("Enter")
            assert page.locator("input[name=choice]:checked").input_value() == side
            p.tab_to(page, "button[type=submit]:not(.link-button)")
        p.press_and_wait(page, "Enter")
        k += 1

    page.get_by_role("heading", name="Thank you!").wait_for()
    code = page.locator("strong.code").inner_text()
    participant = Participant.objects.get(study=study)
    assert code == study.completion_code
    assert participant.status == Participant.Status.COMPLETED
    responses = list(Response.objects.filter(participant=participant).order_by("trial__position"))
    assert {r.trial_id: r.value["choice"] for r in responses} == chosen
    assert len(chosen) == Trial.objects.filter(assignment__participant=participant).count()
    # The arrow moved the caret and Enter broke the line: the box kept its keys.
    assert responses[1].value["comment"] == "Left 2 <- \r\n3"
    assert [r.passed for r in responses if r.passed is not None] == [True]  # the check
