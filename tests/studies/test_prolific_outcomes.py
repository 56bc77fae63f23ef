"""Every Prolific outcome through the participant pages: its code, or a request to return.

Completed, failed attention checks (with a code and with "no code"), screened out by the
comprehension check (and passing it at the second attempt), a full study and a withdrawal;
plus the design's validation of the codes and the checks (studies.outcomes,
studies.comprehension).
"""

import csv
import hashlib
import io

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from studies.forms import StudyDesignForm
from studies.models import Assignment, Participant, Response, StudyItem, StudyList, Trial
from studies.services.assignment import EntryIds
from studies.services.participants import participant_join

from .factories import make_study
from .flow import good_answer, trial_form
from .test_api import payload

pytestmark = pytest.mark.django_db
COMPLETE = "https://app.prolific.com/submissions/complete?cc="
CHECKS: list[dict[str, object]] = [
    {
        "prompt": "What do darker highlights mark?",
        "options": ["Typos", "Words that mattered"],
        "answer": 1,
    },
    {"prompt": "Can you stop at any time?", "options": ["Yes", "No"], "answer": 0},
]
RIGHT = {"c1": "1", "c2": "0"}
WRONG = {"c1": "0", "c2": "0"}


def _study(researcher, corpus, **overrides):
    dataset, model = corpus
    settings = {"attention_check_positions": [2, 5], "completion_code": "DONE-1"}
    return make_study(researcher, dataset, model, **(settings | overrides))


def _enter(client, study, pid="pid-1"):
    """Enter through the Prolific link, agree and read the instructions; return the next page."""
    link = f"/s/{study.uid}/?PROLIFIC_PID={pid}&STUDY_ID=st-1&SESSION_ID=se-1"
    consent = client.get(link, follow=True)
    assert b"Information and consent" in consent.content
    instructions = client.post(consent.request["PATH_INFO"], {"agree": "yes"}, follow=True)
    assert b"Instructions" in instructions.content
    return client.post(instructions.request["PATH_INFO"], follow=True)


def _wrong(trial):
    expected = trial.item.expected
    return {"rating": "1" if expected["min"] != 1 else "2"}


def _answer_trials(client, page, *, fail_checks=0):
    """Answer every trial, failing the first ``fail_checks`` attention checks; return the
    end page's response (not followed: Prolific's redirect, or a page)."""
    failed = 0
    while b"data-trial-form" in page.content:
        trial_id, key = trial_form(page)
        trial = Trial.objects.select_related("item").get(pk=trial_id)
        answer = good_answer(trial)
        if trial.role == StudyItem.Role.ATTENTION_CHECK and failed < fail_checks:
            answer, failed = _wrong(trial), failed + 1
        data = {"trial": trial_id, "idempotency_key": key, **answer}
        page = client.post(page.request["PATH_INFO"], data)  # the next trial, or the end
        assert page.status_code in (200, 302), page.content
        while page.status_code == 302 and page["Location"].startswith("/"):
            page = client.get(page["Location"])
    assert failed == fail_checks
    return page


def _check(client, page, answers, attempt):
    return client.post(page.request["PATH_INFO"], {**answers, "attempt": str(attempt)})


# Completion and attention checks.


def test_completed_gets_the_completion_code(researcher, corpus):
    study = _study(researcher, corpus, failed_checks_code="FAILED-1")
    client = Client()
    end = _answer_trials(client, _enter(client, study), fail_checks=1)  # one is not two
    assert end.status_code == 302
    assert end["Location"] == COMPLETE + "DONE-1"
    participant = Participant.objects.get(study=study)
    assert participant.status == Participant.Status.COMPLETED
    assert participant.outcome == Participant.Outcome.COMPLETED


def test_failing_two_attention_checks_gets_the_failed_checks_code(researcher, corpus):
    study = _study(researcher, corpus, failed_checks_code="FAILED-1")
    client = Client()
    end = _answer_trials(client, _enter(client, study), fail_checks=2)
    assert end["Location"] == COMPLETE + "FAILED-1"
    participant = Participant.objects.get(study=study)
    assert participant.status == Participant.Status.COMPLETED
    assert participant.outcome == Participant.Outcome.FAILED_CHECKS
    # Coming back later: the same code again, nothing changes.
    again = client.get(f"/s/p/{participant.uid}/done/")
    assert again["Location"] == COMPLETE + "FAILED-1"


def test_failed_checks_with_no_code_asks_to_return_the_submission(researcher, corpus):
    study = _study(researcher, corpus)
    assert study.failed_checks_code == ""
    client = Client()
    end = _answer_trials(client, _enter(client, study), fail_checks=2)
    assert end.status_code == 200
    assert b"2 of the attention checks were not answered" in end.content
    assert b"Please return the submission on Prolific." in end.content
    assert b"DONE-1" not in end.content
    assert Participant.objects.get(study=study).outcome == Participant.Outcome.FAILED_CHECKS


def test_the_threshold_is_the_studys(researcher, corpus):
    study = _study(researcher, corpus, failed_checks_code="FAILED-1", failed_checks_threshold=1)
    client = Client()
    end = _answer_trials(client, _enter(client, study), fail_checks=1)
    assert end["Location"] == COMPLETE + "FAILED-1"


# The comprehension check.


def test_two_wrong_comprehension_attempts_screen_out_and_free_the_place(researcher, corpus):
    study = _study(researcher, corpus, comprehension_checks=CHECKS, screened_out_code="SCREEN-1")
    client = Client()
    page = _enter(client, study)
    assert b"Questions on the instructions" in page.content
    assert b"data-trial-form" not in page.content
    participant = Participant.objects.get(study=study)
    assert participant.assignment.study_list.filled == 1
    # Skipping the check by answering a trial directly is refused.
    trial = Trial.objects.filter(assignment__participant=participant).first()
    skip = {"trial": trial.pk, "idempotency_key": "a" * 32, **good_answer(trial)}
    assert client.post(f"/s/p/{participant.uid}/trial/", skip)["Location"].endswith("/check/")
    assert not Response.objects.exists()

    first = _check(client, page, WRONG, 1)
    assert first.status_code == 302
    second_page = client.get(first["Location"])
    assert b"1 of your answers was not right" in second_page.content
    assert b"(question 1, marked below)" in second_page.content
    assert study.instructions.split(".")[0].encode() in second_page.content
    # A resent first attempt (a double click) is acknowledged and screens nobody out.
    assert _check(client, page, WRONG, 1).status_code == 302
    assert Participant.objects.get(pk=participant.pk).status == Participant.Status.IN_PROGRESS

    second = _check(client, second_page, WRONG, 2)
    end = client.get(second["Location"])
    assert end["Location"] == COMPLETE + "SCREEN-1"
    participant.refresh_from_db()
    assert participant.status == Participant.Status.SCREENED_OUT
    assert participant.outcome == Participant.Outcome.SCREENED_OUT
    assert [a["wrong"] for a in participant.comprehension_attempts] == [["c1"], ["c1"]]
    assert [a["attempt"] for a in participant.comprehension_attempts] == [1, 2]
    assert participant.assignment.status == Assignment.Status.SCREENED_OUT
    assert StudyList.objects.get(pk=participant.assignment.study_list_id).filled == 0


def test_screened_out_with_no_code_asks_to_return(researcher, corpus):
    study = _study(researcher, corpus, comprehension_checks=CHECKS)
    client = Client()
    page = _enter(client, study)
    _check(client, page, WRONG, 1)
    end = client.post(page.request["PATH_INFO"], {**WRONG, "attempt": "2"}, follow=True)
    assert b"Please return the submission on Prolific" in end.content
    assert Participant.objects.get(study=study).outcome == Participant.Outcome.SCREENED_OUT


def test_a_right_second_attempt_starts_the_trials(researcher, corpus):
    study = _study(researcher, corpus, comprehension_checks=CHECKS)
    client = Client()
    page = _enter(client, study)
    unanswered = _check(client, page, {"c1": "1"}, 1)
    assert unanswered.status_code == 400
    assert b"Please choose an answer." in unanswered.content
    assert Participant.objects.get(study=study).comprehension_attempts == []
    _check(client, page, WRONG, 1)
    passed = client.post(page.request["PATH_INFO"], {**RIGHT, "attempt": "2"}, follow=True)
    assert b"data-trial-form" in passed.content
    participant = Participant.objects.get(study=study)
    assert [a["passed"] for a in participant.comprehension_attempts] == [False, True]
    end = _answer_trials(client, passed)
    assert end["Location"] == COMPLETE + "DONE-1"


# A full study and a withdrawal.


def test_a_full_study_asks_prolific_and_mturk_people_to_return(researcher, corpus):
    study = _study(researcher, corpus, ratings_per_item=1)
    for _ in range(study.lists.count()):
        participant_join(study=study, ids=EntryIds(source=Participant.Source.ANONYMOUS))
    client = Client()
    consent = client.get(f"/s/{study.uid}/?PROLIFIC_PID=late&SESSION_ID=s", follow=True)
    full = client.post(consent.request["PATH_INFO"], {"agree": "yes"}, follow=True)
    assert b"This study is full" in full.content
    assert b"Please return the submission on Prolific." in full.content
    late = Participant.objects.get(prolific_pid="late")
    assert late.outcome == Participant.Outcome.FULL
    mturk = Client()
    link = (
        f"/s/{study.uid}/?assignmentId=A1&hitId=H1&workerId=W1"
        "&turkSubmitTo=https://workersandbox.mturk.com"
    )
    consent = mturk.get(link, follow=True)
    full = mturk.post(consent.request["PATH_INFO"], {"agree": "yes"}, follow=True)
    assert b"Please return the HIT on MTurk." in full.content


def test_stop_taking_part_asks_for_confirmation_then_asks_to_return(researcher, corpus):
    study = _study(researcher, corpus)
    client = Client()
    page = _enter(client, study)
    participant = Participant.objects.get(study=study)
    url = f"/s/p/{participant.uid}/withdraw/"
    assert f'href="{url}"'.encode() in page.content  # a link: nothing happens on one click
    confirm = client.get(url)
    assert b"Stop taking part?" in confirm.content
    assert b'name="confirm" value="yes"' in confirm.content
    # A POST without the confirmation (an old page's form) only asks again.
    assert b"Stop taking part?" in client.post(url).content
    assert Participant.objects.get(pk=participant.pk).status == Participant.Status.IN_PROGRESS
    ended = client.post(url, {"confirm": "yes"}, follow=True)
    assert b"Please return the submission on Prolific" in ended.content
    participant.refresh_from_db()
    assert participant.status == Participant.Status.RETURNED
    assert participant.outcome == Participant.Outcome.RETURNED
    assert participant.assignment.study_list.filled == 0


# The design.


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"failed_checks_code": "NO CODE!"},
            "failed_checks_code",
            "field failed_checks_code='NO CODE!': expected 1 to 50 letters, digits, - or _, "
            "or empty for no code",
        ),
        (
            {"screened_out_code": "X" * 51},
            "screened_out_code",
            "expected 1 to 50 letters",
        ),
        (
            {"completion_code": "SAME", "failed_checks_code": "SAME"},
            "failed_checks_code",
            "'SAME' is already the completion_code: each outcome needs its own code",
        ),
        (
            {"comprehension_checks": "Which? | a | b"},
            "comprehension_checks",
            "comprehension_checks, line 1: mark exactly one option as right with *",
        ),
        (
            {"comprehension_checks": [{"prompt": "Which?", "options": ["a"], "answer": 0}]},
            "comprehension_checks",
            "comprehension_checks, line 1: expected 2 to 10 options",
        ),
        ({"failed_checks_threshold": 0}, "failed_checks_threshold", "expected a whole number"),
    ],
)
def test_bad_codes_and_checks_are_refused_naming_the_field(
    researcher, corpus, overrides, field, message
):
    with pytest.raises(ValidationError) as refused:
        _study(researcher, corpus, launch=False, **overrides)
    assert message in refused.value.message_dict[field][0]


def test_the_design_form_reads_and_shows_the_checks_and_codes(researcher, corpus):
    study = _study(
        researcher, corpus, launch=False, comprehension_checks="Which? | a | *b\nWho? | *me | you"
    )
    assert study.comprehension_checks == [
        {"key": "c1", "prompt": "Which?", "options": ["a", "b"], "answer": 1},
        {"key": "c2", "prompt": "Who?", "options": ["me", "you"], "answer": 0},
    ]
    form = StudyDesignForm(data={"comprehension_checks": "Which? | a | b"}, user=researcher)
    assert not form.is_valid()
    assert form.errors["comprehension_checks"] == [
        "comprehension_checks, line 1: mark exactly one option as right with *"
    ]
    assert {"failed_checks_code", "screened_out_code", "failed_checks_threshold"} <= set(
        StudyDesignForm(user=researcher).fields
    )
    client = Client()
    client.force_login(researcher)
    edit = client.get(f"/studies/{study.pk}/edit/")
    assert b"Which? | a | *b\nWho? | *me | you" in edit.content
    detail = client.get(f"/studies/{study.pk}/")
    assert b"screened out: no code (asked to return)" in detail.content
    assert b"1. Which?; 2. Who?" in detail.content


def test_the_api_takes_and_returns_the_codes_and_checks(api, researcher, corpus):
    dataset, model = corpus
    bad = payload(dataset, model, failed_checks_code="a b")
    refused = api.post("/api/studies/", bad, format="json")
    assert refused.status_code == 400
    assert "expected 1 to 50 letters" in refused.json()["failed_checks_code"][0]
    checks = [{"prompt": "Which?", "options": ["a", "b"], "answer": 1}]
    body = payload(dataset, model, screened_out_code="OUT-7", comprehension_checks=checks)
    created = api.post("/api/studies/", body, format="json")
    assert created.status_code == 201, created.json()
    study = api.get(f"/api/studies/{created.json()['id']}/").json()
    assert (study["screened_out_code"], study["failed_checks_threshold"]) == ("OUT-7", 2)
    assert study["comprehension_checks"] == [{"key": "c1", **checks[0]}]
    wrong = payload(dataset, model, comprehension_checks=[{"prompt": "Which?", "options": []}])
    refused = api.post("/api/studies/", wrong, format="json")
    assert refused.status_code == 400
    assert "line 1: expected 2 to 10 options" in refused.json()["comprehension_checks"][0]


# From launch to payments.


def test_a_prolific_study_runs_from_launch_to_payments_with_every_outcome(researcher, corpus):
    """Four people through the pages, each to a different outcome, then the researcher's
    payments page and CSV: the code each got, and the decision each is suggested."""
    study = _study(
        researcher,
        corpus,
        comprehension_checks=CHECKS,
        failed_checks_code="FAILED-1",
        screened_out_code="SCREEN-1",
    )
    assert study.status == study.Status.LIVE

    def enter(pid):
        client = Client()
        link = f"/s/{study.uid}/?PROLIFIC_PID={pid}&STUDY_ID=st-1&SESSION_ID=se-{pid}"
        consent = client.get(link, follow=True)
        instructions = client.post(consent.request["PATH_INFO"], {"agree": "yes"}, follow=True)
        return client, client.post(instructions.request["PATH_INFO"], follow=True)

    ends = {}
    for pid, fail in (("p-done", 0), ("p-fail", 2)):
        client, check = enter(pid)
        trials = client.post(check.request["PATH_INFO"], {**RIGHT, "attempt": "1"}, follow=True)
        ends[pid] = _answer_trials(client, trials, fail_checks=fail)["Location"]
    client, check = enter("p-screen")
    _check(client, check, WRONG, 1)
    ends["p-screen"] = client.get(_check(client, check, WRONG, 2)["Location"])["Location"]
    client, check = enter("p-return")
    uid = Participant.objects.get(prolific_pid="p-return").uid
    returned = client.post(f"/s/p/{uid}/withdraw/", {"confirm": "yes"}, follow=True)
    assert b"Please return the submission on Prolific" in returned.content
    # Each kept the version of the consent text they agreed to.
    agreed = set(Participant.objects.filter(study=study).values_list("consent_sha256", flat=True))
    assert agreed == {hashlib.sha256(study.consent_text.encode()).hexdigest()}
    assert ends == {
        "p-done": COMPLETE + "DONE-1",
        "p-fail": COMPLETE + "FAILED-1",
        "p-screen": COMPLETE + "SCREEN-1",
    }

    researcher_client = Client()
    researcher_client.force_login(researcher)
    page = researcher_client.get(f"/studies/{study.pk}/payments/")
    assert page.status_code == 200
    for pid in ends | {"p-return": ""}:
        assert pid.encode() in page.content  # the one page with platform ids
    lines = researcher_client.get(f"/studies/{study.pk}/payments.csv").content.decode()
    rows = {r["platform_id"]: r for r in csv.DictReader(io.StringIO(lines))}
    assert {pid: (rows[pid]["outcome"], rows[pid]["decision"]) for pid in rows} == {
        "p-done": ("completed", "approve"),
        "p-fail": ("failed_checks", "reject"),
        "p-screen": ("screened_out", "none"),
        "p-return": ("returned", "none"),
    }
