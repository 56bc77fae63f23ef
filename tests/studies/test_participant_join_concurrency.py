"""Concurrent consents on PostgreSQL: a place is taken only at "I agree", never twice."""

import threading

import pytest
from django.db import connection

from studies.models import Assignment, Participant, StudyList
from studies.services.assignment import EntryIds
from studies.services.participants import participant_join

from .factories import film_corpus, make_study

pytestmark = [
    pytest.mark.requires_postgres,
    pytest.mark.django_db(transaction=True),
]


def _join_all(study, pids: list[str]) -> dict[int, str]:
    """Let everyone agree at the same moment; return each thread's outcome."""
    barrier = threading.Barrier(len(pids))
    outcome: dict[int, str] = {}

    def join(k: int, pid: str) -> None:
        try:
            barrier.wait()
            ids = EntryIds(source="prolific", prolific_pid=pid, prolific_session_id=f"se-{pid}")
            outcome[k] = participant_join(study=study, ids=ids).status
        except Exception as exc:  # noqa: BLE001  # reported by the main thread
            outcome[k] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=join, args=(k, pid)) for k, pid in enumerate(pids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcome


def test_concurrent_consents_fill_each_place_once(tmp_path, researcher):
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    study = make_study(researcher, dataset, model, n_items=3, ratings_per_item=3)  # 3 x 3 = 9
    outcome = _join_all(study, [f"p{k}" for k in range(16)])
    statuses = sorted(outcome.values())
    assert statuses.count(Participant.Status.IN_PROGRESS) == 9, outcome
    assert statuses.count(Participant.Status.FULL) == 7, outcome
    assert [lst.filled for lst in StudyList.objects.filter(study=study)] == [3, 3, 3]
    assert Assignment.objects.filter(participant__study=study).count() == 9
    assert not Participant.objects.filter(study=study, consented_at__isnull=True).exists()


def test_one_prolific_id_agreeing_in_many_tabs_at_once_gets_one_place(tmp_path, researcher):
    dataset, model = film_corpus(tmp_path, owner=researcher, n=24)
    study = make_study(researcher, dataset, model, n_items=3, ratings_per_item=3)
    outcome = _join_all(study, ["same"] * 8)
    assert set(outcome.values()) == {Participant.Status.IN_PROGRESS}, outcome
    assert Participant.objects.filter(study=study).count() == 1
    assert sum(StudyList.objects.filter(study=study).values_list("filled", flat=True)) == 1
