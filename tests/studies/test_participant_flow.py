"""Full participant sessions for both study types through every kind of entry link."""

import pytest
from django.test import Client

from studies.models import Assignment, Participant, Response, Study, Trial
from studies.services import responses
from studies.services.invitations import invitations_create
from tests.assets import external_assets

from .factories import make_study
from .flow import answer_all, consent_and_read, good_answer, trial_form

pytestmark = pytest.mark.django_db
TYPES = ["plausibility_rating", "pairwise_preference"]
SANDBOX = "https://workersandbox.mturk.com"


def _study(researcher, corpus, study_type):
    dataset, model = corpus
    return make_study(
        researcher,
        dataset,
        model,
        study_type=study_type,
        questionnaire_preset="explanation_satisfaction",
    )


def _mid_session_checks(client, response, study):
    """Answer one trial, then: reload, duplicate, invalid answer, wrong trial, someone else's."""
    trial_id, key = trial_form(response)
    trial = Trial.objects.select_related("item").get(pk=trial_id)
    assert trial.shown_at is not None  # recorded server-side when rendered
    url = response.request["PATH_INFO"]
    # Reload: same trial, first shown_at kept, a fresh key.
    again = client.get(url)
    assert trial_form(again)[0] == trial_id
    assert Trial.objects.get(pk=trial_id).shown_at == trial.shown_at
    # An invalid answer: clear 400 message, nothing stored.
    bad = {"trial": trial_id, "idempotency_key": key, "rating": "99", "choice": "middle"}
    invalid = client.post(url, bad)
    assert invalid.status_code == 400
    assert b"must be" in invalid.content
    assert Response.objects.filter(trial=trial).count() == 0
    # A good answer, then the same submission again: acknowledged, stored once.
    data = {"trial": trial_id, "idempotency_key": key, "client_duration_ms": "2500"}
    data.update(good_answer(trial))
    first = client.post(url, data)
    assert first.status_code == 200  # the next trial comes with the answer's response
    duplicate = client.post(url, data)
    assert duplicate.status_code == 200  # the same next trial: acknowledged, not stored again
    assert trial_form(duplicate)[0] == trial_form(first)[0] != trial_id
    assert Response.objects.filter(trial=trial).count() == 1
    stored = Response.objects.get(trial=trial)
    assert stored.client_duration_ms == 2500
    assert stored.shown_at == trial.shown_at
    assert stored.answered_at >= trial.shown_at
    # The same trial answered again under a new key: refused, unchanged.
    changed = dict(data, idempotency_key="f" * 32)
    assert client.post(url, changed).status_code == 409
    assert Response.objects.filter(trial=trial).count() == 1
    # A trial that is not the current one (a later one): refused.
    later = Trial.objects.filter(
        assignment=trial.assignment, position__gt=trial.position + 1
    ).first()
    if later is not None:
        skip = dict(good_answer(later), trial=later.pk, idempotency_key="e" * 32)
        assert client.post(url, skip).status_code == 409
        assert not Response.objects.filter(trial=later).exists()
    return client.get(url)


@pytest.mark.parametrize("study_type", TYPES)
def test_prolific_session_resumes_and_redirects_to_prolific(researcher, corpus, study_type):
    study = _study(researcher, corpus, study_type)
    link = f"/s/{study.uid}/?PROLIFIC_PID=pid-1&STUDY_ID=st-9&SESSION_ID=se-3"
    client = Client()
    response = consent_and_read(client, client.get(link, follow=True))
    response = _mid_session_checks(client, response, study)
    # A new browser with the same PROLIFIC_PID resumes the same participant and trial.
    current = trial_form(response)[0]
    other_browser = Client()
    resumed = other_browser.get(link, follow=True)
    assert trial_form(resumed)[0] == current
    assert Participant.objects.filter(study=study).count() == 1
    assert Assignment.objects.filter(participant__study=study).count() == 1
    last = answer_all(other_browser, resumed)
    assert last.status_code == 302
    done = other_browser.get(last["Location"])
    assert done.status_code == 302
    code = Study.objects.get(pk=study.pk).completion_code
    assert done["Location"] == f"https://app.prolific.com/submissions/complete?cc={code}"
    participant = Participant.objects.get(study=study)
    assert participant.status == Participant.Status.COMPLETED
    assert (participant.prolific_study_id, participant.prolific_session_id) == ("st-9", "se-3")
    assert participant.questionnaire_answers.count() == 8
    assert (
        Response.objects.filter(participant=participant).count()
        == Trial.objects.filter(assignment__participant=participant).count()
    )
    # Coming back after completion goes straight to the completion redirect again.
    assert Client().get(link, follow=False)["Location"].endswith("/done/")


@pytest.mark.parametrize("study_type", TYPES)
def test_mturk_preview_accepts_nothing_then_session_posts_back(researcher, corpus, study_type):
    study = _study(researcher, corpus, study_type)
    base = f"/s/{study.uid}/"
    preview = Client().get(
        base,
        {"assignmentId": "ASSIGNMENT_ID_NOT_AVAILABLE", "hitId": "H1", "turkSubmitTo": SANDBOX},
    )
    assert preview.status_code == 200
    assert b"accept the HIT" in preview.content
    assert b"<fieldset disabled" in preview.content
    assert b"data-trial-form" not in preview.content  # nothing to submit
    assert not Participant.objects.filter(study=study).exists()
    params = {"assignmentId": "A1", "hitId": "H1", "workerId": "W1", "turkSubmitTo": SANDBOX}
    # MTurk shows the task in a cross-site iframe: no cookies, so no CSRF cookie either.
    client = Client(enforce_csrf_checks=True)
    entered = client.get(base, params, follow=True)
    assert "X-Frame-Options" not in entered.headers
    response = consent_and_read(client, entered)
    response = _mid_session_checks(client, response, study)
    # Reload of the entry link (the iframe reloads) resumes.
    resumed = client.get(base, params, follow=True)
    assert trial_form(resumed)[0] == trial_form(response)[0]
    last = answer_all(client, resumed)
    done = client.get(last["Location"])
    assert done.status_code == 200
    html = done.content.decode()
    assert f'action="{SANDBOX}/mturk/externalSubmit"' in html
    assert 'name="assignmentId" value="A1"' in html
    assert "data-autosubmit" in html
    assert Participant.objects.get(study=study).mturk_worker_id == "W1"


def test_mturk_link_must_post_back_to_mturk(researcher, corpus):
    study = _study(researcher, corpus, "plausibility_rating")
    params = {
        "assignmentId": "A1",
        "hitId": "H",
        "workerId": "W",
        "turkSubmitTo": "https://evil.example",
    }
    assert Client().get(f"/s/{study.uid}/", params).status_code == 400
    assert not Participant.objects.exists()


@pytest.mark.parametrize("study_type", TYPES)
def test_invitation_is_single_use_and_resumes(researcher, corpus, study_type):
    study = _study(researcher, corpus, study_type)
    invitation, other = invitations_create(study=study, labels=["expert-a", "expert-b"])
    client = Client()
    response = consent_and_read(client, client.get(f"/s/invite/{invitation.token}/", follow=True))
    response = _mid_session_checks(client, response, study)
    # The used token, from another browser, resumes the same participant; never a second one.
    again = Client().get(f"/s/invite/{invitation.token}/", follow=True)
    assert trial_form(again)[0] == trial_form(response)[0]
    assert Participant.objects.filter(study=study, invitation=invitation).count() == 1
    last = answer_all(client, response)
    done = client.get(last["Location"])
    assert done.status_code == 200
    assert study.completion_code.encode() in done.content
    invitation.refresh_from_db()
    assert invitation.used_at is not None
    other.refresh_from_db()
    assert other.used_at is None


@pytest.mark.parametrize("study_type", TYPES)
def test_anonymous_link_resumes_by_session(researcher, corpus, study_type):
    study = _study(researcher, corpus, study_type)
    client = Client()
    response = consent_and_read(client, client.get(f"/s/{study.uid}/", follow=True))
    response = _mid_session_checks(client, response, study)
    # Reloading the anonymous link in the same browser resumes; a new browser is someone new.
    resumed = client.get(f"/s/{study.uid}/", follow=True)
    assert trial_form(resumed)[0] == trial_form(response)[0]
    assert Participant.objects.filter(study=study).count() == 1
    last = answer_all(client, resumed)
    done = client.get(last["Location"])
    assert study.completion_code.encode() in done.content
    newcomer = Client()
    page = newcomer.get(f"/s/{study.uid}/", follow=True)
    assert Participant.objects.filter(study=study).count() == 1  # nobody until they agree
    newcomer.post(page.request["PATH_INFO"], {"agree": "yes"})
    assert Participant.objects.filter(study=study).count() == 2


def test_invalid_questionnaire_is_refused_with_messages(researcher, corpus):
    study = _study(researcher, corpus, "plausibility_rating")
    client = Client()
    response = consent_and_read(client, client.get(f"/s/{study.uid}/?PROLIFIC_PID=q1", follow=True))
    response = answer_all(client, response, questionnaire={"ess_1": "9"})
    assert response.status_code == 400
    assert b"Expected a number from 1 to 5" in response.content
    assert b"Please answer this question." in response.content
    participant = Participant.objects.get(study=study)
    assert participant.questionnaire_answers.count() == 0
    assert participant.status != Participant.Status.COMPLETED


def test_closed_study_refuses_answers_and_entries(researcher, corpus):
    study = _study(researcher, corpus, "plausibility_rating")
    client = Client()
    response = consent_and_read(client, client.get(f"/s/{study.uid}/?PROLIFIC_PID=c1", follow=True))
    trial_id, key = trial_form(response)
    Study.objects.filter(pk=study.pk).update(status=Study.Status.CLOSED)
    trial = Trial.objects.select_related("item").get(pk=trial_id)
    data = {"trial": trial_id, "idempotency_key": key, **good_answer(trial)}
    refused = client.post(response.request["PATH_INFO"], data)
    assert refused.status_code == 410
    assert b"closed" in refused.content
    assert not Response.objects.exists()
    assert Client().get(f"/s/{study.uid}/?PROLIFIC_PID=new").status_code == 410


def test_someone_elses_trial_is_refused(researcher, corpus):
    study = _study(researcher, corpus, "plausibility_rating")
    alice, bob = Client(), Client()
    a = consent_and_read(alice, alice.get(f"/s/{study.uid}/?PROLIFIC_PID=alice", follow=True))
    b = consent_and_read(bob, bob.get(f"/s/{study.uid}/?PROLIFIC_PID=bob", follow=True))
    bob_trial, _ = trial_form(b)
    trial = Trial.objects.select_related("item").get(pk=bob_trial)
    data = {"trial": bob_trial, "idempotency_key": "a" * 32, **good_answer(trial)}
    refused = alice.post(a.request["PATH_INFO"], data)
    assert refused.status_code == 403
    assert b"not part of your assignment" in refused.content
    assert not Response.objects.exists()


def test_second_copy_that_waited_on_the_lock_is_acknowledged(researcher, corpus, monkeypatch):
    """A double-click: the second copy waits on the assignment's lock while the first commits."""
    study = _study(researcher, corpus, "plausibility_rating")
    client = Client()
    response = consent_and_read(client, client.get(f"/s/{study.uid}/?PROLIFIC_PID=dc", follow=True))
    trial_id, key = trial_form(response)
    trial = Trial.objects.select_related("item").get(pk=trial_id)
    participant = Participant.objects.get(study=study)
    data = good_answer(trial)
    real_lock = responses._assignment_locked
    first: list[responses.Submitted] = []

    def first_copy_commits_meanwhile(*args):
        monkeypatch.setattr(responses, "_assignment_locked", real_lock)
        first.append(
            responses.response_submit(
                participant=participant, trial_id=trial_id, data=data, idempotency_key=key
            )
        )
        return real_lock(*args)

    monkeypatch.setattr(responses, "_assignment_locked", first_copy_commits_meanwhile)
    second = responses.response_submit(
        participant=participant, trial_id=trial_id, data=data, idempotency_key=key
    )
    assert first[0].created is True
    assert second.created is False
    assert second.response.pk == first[0].response.pk
    assert Response.objects.filter(trial=trial).count() == 1


def test_declining_consent_takes_no_place(researcher, corpus):
    study = _study(researcher, corpus, "plausibility_rating")
    client = Client()
    page = client.get(f"/s/{study.uid}/?PROLIFIC_PID=no", follow=True)
    ended = client.post(page.request["PATH_INFO"], {"agree": "no"}, follow=True)
    assert b"did not give your consent" in ended.content
    assert not Assignment.objects.exists()


def test_withdrawing_frees_the_place_and_keeps_answers(researcher, corpus):
    study = _study(researcher, corpus, "plausibility_rating")
    client = Client()
    response = consent_and_read(client, client.get(f"/s/{study.uid}/?PROLIFIC_PID=w", follow=True))
    trial_id, key = trial_form(response)
    trial = Trial.objects.select_related("item").get(pk=trial_id)
    client.post(
        response.request["PATH_INFO"],
        {"trial": trial_id, "idempotency_key": key, **good_answer(trial)},
    )
    participant = Participant.objects.get(study=study)
    ended = client.post(f"/s/p/{participant.uid}/withdraw/", {"confirm": "yes"}, follow=True)
    assert b"stopped taking part" in ended.content
    participant.refresh_from_db()
    assert participant.status == Participant.Status.RETURNED
    assert participant.assignment.status == Assignment.Status.RETURNED
    assert participant.assignment.study_list.filled == 0
    assert Response.objects.filter(participant=participant).count() == 1


def test_trial_page_is_accessible_and_keyboard_ready(researcher, corpus):
    dataset, model = corpus
    study = make_study(
        researcher,
        dataset,
        model,
        type_options={"scale": "likert", "points": 7, "comment": True},
        top_k=3,
    )
    client = Client()
    response = consent_and_read(client, client.get(f"/s/{study.uid}/", follow=True))
    html = response.content.decode()
    assert '<meta name="viewport"' in html
    assert 'src="/static/studies/flow.js"' in html
    assert external_assets(html) == []
    assert html.count('data-key="') >= 7
    assert "<legend" in html
    assert '<label for="comment">' in html
    assert "Explanation" in html
    for method in ("gradient", "lrp", "random"):
        assert method not in html  # never named to the participant
    assert "strongly for" in html or "strongly against" in html  # spoken level for screen readers
