"""What the participant pages say: the trial counter agrees with the instructions, the
highlighting is described as the study shows it, and the deadline carries its ISO time."""

import re

import pytest
from django.test import Client

from studies.models import Trial

from .factories import make_study
from .flow import good_answer, trial_form

pytestmark = pytest.mark.django_db
PROLIFIC = "/s/{uid}/?PROLIFIC_PID=pid-display&STUDY_ID=st&SESSION_ID=se"


def _instructions(client, study):
    """Enter and consent; return the instructions page."""
    response = client.get(PROLIFIC.format(uid=study.uid), follow=True)
    response = client.post(response.request["PATH_INFO"], {"agree": "yes"}, follow=True)
    assert b"<h1>Instructions</h1>" in response.content
    return response


def _counter(response) -> str:
    found = re.search(
        r'<p class="trial-progress"[^>]*><span>([^<]+)</span>', response.content.decode()
    )
    assert found, "the trial page has no counter"
    return found.group(1)


@pytest.mark.parametrize("study_type", ["plausibility_rating", "pairwise_preference"])
def test_counter_numbers_the_items_as_the_instructions_count_them(researcher, corpus, study_type):
    dataset, model = corpus
    # One practice item, then 6 items, an attention check and a gold item among them.
    study = make_study(researcher, dataset, model, study_type=study_type)
    client = Client()
    instructions = _instructions(client, study)
    page = instructions.content.decode()
    promised = re.search(r"try (\d+) practice item.*?then (\d+) items? that count", page)
    assert promised, page
    practice, counted = int(promised.group(1)), int(promised.group(2))
    response = client.post(instructions.request["PATH_INFO"], follow=True)
    seen, roles = [], []
    while b"data-trial-form" in response.content:
        seen.append(_counter(response))
        trial_id, key = trial_form(response)
        trial = Trial.objects.select_related("item").get(pk=trial_id)
        roles.append(trial.role)
        data = {"trial": trial_id, "idempotency_key": key, **good_answer(trial)}
        url = response.request["PATH_INFO"]
        response = client.post(url, data)  # the next item comes with the answer's response
        if response.status_code == 302:
            break  # the last item: on to the end of the study
    assert {"attention_check", "gold"} <= set(roles), roles  # they are counted among the items
    expected = [f"Practice item {k} of {practice}" for k in range(1, practice + 1)]
    expected += [f"Item {k} of {counted}" for k in range(1, counted + 1)]
    assert seen == expected


def test_practice_page_title_and_heading_say_practice_item(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    client = Client()
    response = client.post(_instructions(client, study).request["PATH_INFO"], follow=True)
    html = response.content.decode()
    assert '<h1 class="visually-hidden">Practice item 1 of 1</h1>' in html
    assert 'aria-label="Progress: practice item 1 of 1"' in html


@pytest.mark.parametrize(
    ("display_mode", "top_k", "wording"),
    [
        ("heatmap", None, "A stronger colour means the word mattered more."),
        ("bars", None, "A longer bar means the word mattered more."),
        ("heatmap", 3, "Only the 3 words that mattered most are marked"),
    ],
)
def test_instructions_and_trial_legend_word_the_display_alike(
    researcher, corpus, display_mode, top_k, wording
):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, display_mode=display_mode, top_k=top_k)
    client = Client()
    instructions = _instructions(client, study)
    legend = re.compile(r'<p class="legend" role="note">.*?</p>', re.S)
    described = legend.search(instructions.content.decode())
    assert described, "the instructions do not describe the highlighting"
    assert wording in described.group(0)
    assert "blue" in described.group(0)
    assert "orange" in described.group(0)
    assert "darker" not in instructions.content.decode().lower()
    trial = client.post(instructions.request["PATH_INFO"], follow=True)
    shown = legend.search(trial.content.decode())
    assert shown, "the trial has no legend"
    assert shown.group(0) == described.group(0)  # worded in one place


def test_deadline_is_a_time_element_with_utc_fallback(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    client = Client()
    html = _instructions(client, study).content.decode()
    deadline = study.participants.get().assignment.deadline
    found = re.search(r'<time datetime="([^"]+)" data-local-time>([^<]+)</time>', html)
    assert found, html
    assert found.group(1) == deadline.isoformat()
    assert found.group(2) == f"{deadline:%H:%M} UTC"
