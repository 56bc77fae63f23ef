"""A rating study on the 0-100 slider, answered with Tab, the arrow keys, Home and Enter."""

import pytest

from studies.models import Participant, Response
from tests.studies.factories import film_corpus, make_study

from . import participant as p

pytestmark = pytest.mark.django_db(transaction=True)


def test_slider_ratings_with_the_keyboard(page, live_server, researcher, tmp_path):
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    study = make_study(
        researcher,
        dataset,
        model,
        study_type="plausibility_rating",
        type_options={"scale": "slider"},
    )
    page.goto(f"{live_server.url}/s/{study.uid}/")
    p.arrive(page)
    p.consent_and_start(page)
    answers: dict[int, int] = {}
    k = 0
    while p.on_trial(page):
        slider = page.locator("input[type=range][name=rating]")
        assert slider.input_value() == "50"
        p.tab_to(page, "input[type=range][name=rating]")
        if "all the way to the left" in p.instruction(page):
            page.keyboard.press("Home")
            value = 0
        else:  # at or above the middle, so the gold item passes
            for _ in range(k + 1):
                page.keyboard.press("ArrowRight")
            value = 51 + k
        assert slider.input_value() == str(value)
        answers[p.trial_id(page)] = value
        p.press_and_wait(page, "Enter")
        k += 1

    page.get_by_role("heading", name="Thank you!").wait_for()
    participant = Participant.objects.get(study=study)
    responses = Response.objects.filter(participant=participant)
    assert {r.trial_id: r.value["rating"] for r in responses} == answers
    assert sorted(responses.exclude(passed=None).values_list("passed", flat=True)) == [True, True]
