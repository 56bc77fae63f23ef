"""The assignment engine: least-filled lists, one assignment per person, time-limit releases."""

from datetime import timedelta

import pytest
from django.utils import timezone

from studies.models import Assignment, Participant, Response
from studies.selectors import trial_current
from studies.services.assignment import (
    EntryIds,
    assignment_start,
    assignments_release_expired,
    participant_enter,
)
from studies.services.errors import Rejected, StudyFull, TimeLimitPassed
from studies.services.participants import participant_consent
from studies.services.responses import response_submit

from .factories import make_study
from .flow import good_answer

pytestmark = pytest.mark.django_db


def arrive(study, pid):
    participant = participant_enter(study=study, ids=EntryIds(source="prolific", prolific_pid=pid))
    participant_consent(participant=participant, agree=True)
    return participant


def test_least_filled_list_first_and_full_study(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, ratings_per_item=2)  # 3 lists x 2
    lists = [arrive(study, f"p{i}").assignment.study_list.index for i in range(6)]
    assert lists == [0, 1, 2, 0, 1, 2]
    with pytest.raises(StudyFull):
        arrive(study, "late")
    assert Participant.objects.get(prolific_pid="late").status == Participant.Status.FULL


def test_never_a_second_assignment(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    participant = arrive(study, "once")
    again = participant_enter(study=study, ids=EntryIds(source="prolific", prolific_pid="once"))
    assert again.pk == participant.pk
    assert assignment_start(participant=again).pk == participant.assignment.pk
    assert Assignment.objects.count() == 1


def test_expired_assignments_are_released_and_answers_kept(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, ratings_per_item=1, time_limit_minutes=30)
    slow = arrive(study, "slow")
    trial = trial_current(slow.assignment)
    response_submit(
        participant=slow, trial_id=trial.pk, data=good_answer(trial), idempotency_key="k1"
    )
    later = timezone.now() + timedelta(minutes=31)
    assert assignments_release_expired(study=study, now=later) == 1
    slow.refresh_from_db()
    assert slow.status == Participant.Status.TIMED_OUT
    assert slow.assignment.status == Assignment.Status.RELEASED
    assert slow.assignment.study_list.filled == 0
    assert Response.objects.filter(participant=slow).count() == 1  # kept, marked by the status
    # The freed list goes to the next arrival; the slow participant can answer no more.
    newcomer = arrive(study, "new")
    assert newcomer.assignment.study_list_id == slow.assignment.study_list_id
    nxt = trial_current(slow.assignment)
    with pytest.raises(TimeLimitPassed):
        response_submit(
            participant=slow, trial_id=nxt.pk, data=good_answer(nxt), idempotency_key="k2"
        )


def test_deadline_checked_on_the_participants_own_request(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, time_limit_minutes=1)
    participant = arrive(study, "late")
    trial = trial_current(participant.assignment)
    with pytest.raises(TimeLimitPassed):
        response_submit(
            participant=participant,
            trial_id=trial.pk,
            data=good_answer(trial),
            idempotency_key="k",
            now=timezone.now() + timedelta(minutes=2),
        )
    assert not Response.objects.exists()
    participant.refresh_from_db()
    assert participant.status == Participant.Status.TIMED_OUT


def test_entry_is_refused_for_sources_the_study_does_not_accept(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, sources=["prolific"])
    with pytest.raises(Rejected, match="does not accept participants from Anonymous link"):
        participant_enter(study=study, ids=EntryIds(source="anonymous"))
    with pytest.raises(Rejected, match="missing PROLIFIC_PID"):
        participant_enter(study=study, ids=EntryIds(source="prolific"))
