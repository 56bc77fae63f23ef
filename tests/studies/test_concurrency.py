"""Concurrent arrivals on PostgreSQL: row locks keep every list within k; no answer is lost."""

import threading

import pytest
from django.db import connection

from studies.models import Assignment, Participant, Response, StudyList, Trial
from studies.selectors import trial_current
from studies.services.assignment import EntryIds, participant_enter
from studies.services.errors import StudyFull
from studies.services.participants import participant_consent
from studies.services.responses import response_submit

from .factories import film_corpus, make_study
from .flow import good_answer

pytestmark = [
    pytest.mark.requires_postgres,
    pytest.mark.django_db(transaction=True),
]


def _arrive_and_answer(study, pid: str, barrier: threading.Barrier, outcome: dict) -> None:
    try:
        barrier.wait()
        participant = participant_enter(
            study=study, ids=EntryIds(source="prolific", prolific_pid=pid)
        )
        try:
            participant_consent(participant=participant, agree=True)
        except StudyFull:
            outcome[pid] = "full"
            return
        assignment = Assignment.objects.get(participant=participant)
        while (trial := trial_current(assignment)) is not None:
            trial = Trial.objects.select_related("item").get(pk=trial.pk)
            key = f"{pid}-{trial.pk}"
            for _ in range(2):  # every answer is sent twice: the second is acknowledged
                response_submit(
                    participant=participant,
                    trial_id=trial.pk,
                    data=good_answer(trial),
                    idempotency_key=key,
                )
        outcome[pid] = "done"
    except Exception as exc:  # noqa: BLE001  # reported by the main thread
        outcome[pid] = repr(exc)
    finally:
        connection.close()


def _run(study, n: int) -> dict:
    barrier = threading.Barrier(n)
    outcome: dict = {}
    threads = [
        threading.Thread(target=_arrive_and_answer, args=(study, f"p{i}", barrier, outcome))
        for i in range(n)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcome


def test_fifty_concurrent_participants_never_overfill_and_lose_nothing(tmp_path, researcher):
    dataset, model = film_corpus(tmp_path, owner=researcher)
    # 6 instances in blocks of 1 x 3 methods = 18 lists; k = 3 gives 54 places for 50 people.
    study = make_study(
        researcher, dataset, model, n_items=6, items_per_participant=1, ratings_per_item=3
    )
    outcome = _run(study, 50)
    assert sorted(set(outcome.values())) == ["done"], outcome
    lists = list(StudyList.objects.filter(study=study))
    assert len(lists) == 18
    assert all(lst.filled <= 3 for lst in lists)
    assert sum(lst.filled for lst in lists) == 50
    for lst in lists:
        assert lst.filled == lst.assignments.count()
    # Least-filled first (a locked list is skipped, so allow one step of slack).
    fills = [lst.filled for lst in lists]
    assert max(fills) - min(fills) <= 2
    assert Participant.objects.filter(study=study).count() == 50
    assert Assignment.objects.filter(participant__study=study).count() == 50
    trials = Trial.objects.filter(assignment__participant__study=study).count()
    assert Response.objects.filter(participant__study=study).count() == trials
    assert not Trial.objects.filter(
        assignment__participant__study=study, response__isnull=True
    ).exists()


def test_arrivals_beyond_capacity_are_turned_away(tmp_path, researcher):
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    study = make_study(researcher, dataset, model, n_items=3, ratings_per_item=3)  # 3 x 3 = 9
    outcome = _run(study, 20)
    assert sorted(outcome.values()).count("done") == 9, outcome
    assert sorted(outcome.values()).count("full") == 11
    assert [lst.filled for lst in StudyList.objects.filter(study=study)] == [3, 3, 3]
