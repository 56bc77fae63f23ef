"""The assignment engine: who is who, which list each participant gets, and releases.

A participant is found again by their external ids (``PROLIFIC_PID``, bound to the
``SESSION_ID`` it first came with; MTurk ``workerId``; an invitation token) or by their
session, so a reload, a new tab or a new browser resumes them; each participant holds at
most one :class:`Assignment`, ever, and a browser's session at most one participant per
study. An arrival stores nothing (:func:`participant_arrive`); the row is created when
the person agrees to take part.

The next participant gets the least-filled list that still has room. On PostgreSQL the
list row is taken with ``SELECT ... FOR UPDATE SKIP LOCKED`` (the queue pattern): two
arrivals never wait on or pick the same row at the same time, ``filled`` is incremented
while the row is locked, and a check constraint (``filled <= target``) makes an overfill
impossible even by mistake. When every open list is locked by other arrivals the engine
retries briefly. On SQLite, write transactions are already serialised (``BEGIN
IMMEDIATE``). Assignments not finished by their deadline are released (``filled`` goes
down, the list takes someone else); their answers stay, marked by the status.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone

from studies.models import (
    OUTCOME_OF_STATUS,
    Assignment,
    Invitation,
    Participant,
    Study,
    StudyItem,
    StudyList,
    Trial,
)
from studies.types.base import ItemRef, TrialSpec, get_type

from .errors import (
    AlreadyTakingPart,
    NotYours,
    Rejected,
    StudyFull,
    StudyNotOpen,
    TimeLimitPassed,
)

PICK_ATTEMPTS = 400
MTURK_PREVIEW = "ASSIGNMENT_ID_NOT_AVAILABLE"
TIME_LIMIT_PASSED = (
    "The time limit for this study has passed, so your place was given to someone else. "
    "Your answers so far are kept."
)


@dataclass(frozen=True)
class EntryIds:
    """Who arrives, as the recruitment platform names them."""

    source: str
    prolific_pid: str = ""
    prolific_study_id: str = ""
    prolific_session_id: str = ""
    mturk_worker_id: str = ""
    mturk_assignment_id: str = ""
    mturk_hit_id: str = ""
    mturk_submit_to: str = ""


def _check_open(study: Study, source: str) -> None:
    if study.status == Study.Status.CLOSED:
        raise StudyNotOpen("This study is closed and no longer accepts participants.")
    if study.status != Study.Status.LIVE:
        raise StudyNotOpen("This study is not open yet.", status=404)
    if source not in study.sources:
        label = Participant.Source(source).label
        raise NotYours(f"This study does not accept participants from {label}.")


def _find(study: Study, ids: EntryIds, invitation: Invitation | None) -> Participant | None:
    found = Participant.objects.filter(study=study)
    if ids.source == Participant.Source.PROLIFIC:
        return found.filter(prolific_pid=ids.prolific_pid).first()
    if ids.source == Participant.Source.MTURK:
        return found.filter(mturk_worker_id=ids.mturk_worker_id).first()
    if ids.source == Participant.Source.INVITED and invitation is not None:
        return found.filter(invitation=invitation).first()
    return None


def _check_ids(study: Study, ids: EntryIds, invitation: Invitation | None) -> None:
    if ids.source == Participant.Source.PROLIFIC and not ids.prolific_pid.strip():
        raise Rejected("The Prolific link is missing PROLIFIC_PID.")
    if ids.source == Participant.Source.MTURK:
        if not ids.mturk_worker_id.strip() or not ids.mturk_assignment_id.strip():
            raise Rejected("The MTurk link is missing workerId or assignmentId.")
        if ids.mturk_assignment_id == MTURK_PREVIEW:
            raise Rejected("This is a preview: accept the HIT to take part.", status=403)
    if ids.source == Participant.Source.INVITED and (
        invitation is None or invitation.study_id != study.pk
    ):
        raise NotYours("This invitation is not valid for this study.")


def _masked(external_id: str) -> str:
    """Return ``external_id`` with its middle hidden, enough for its owner to recognise it."""
    keep = max(1, min(4, len(external_id) // 4))
    return f"{external_id[:keep]}…{external_id[-keep:]}" if external_id else ""


def _described(participant: Participant) -> str:
    if participant.prolific_pid:
        return f"the participant with Prolific ID {_masked(participant.prolific_pid)}"
    if participant.mturk_worker_id:
        return f"the participant with MTurk worker ID {_masked(participant.mturk_worker_id)}"
    if participant.source == Participant.Source.INVITED:
        return "an invited participant"
    return "an anonymous participant"


def participant_arrive(
    *,
    study: Study,
    ids: EntryIds,
    invitation: Invitation | None = None,
    current: Participant | None = None,
) -> Participant | None:
    """Return the participant arriving with ``ids`` if they are known, or None for a newcomer.

    Nothing is created: a newcomer gets a row and a place only when they agree to take part
    (:func:`~studies.services.participants.participant_join`). A known MTurk worker who comes
    back through another HIT assignment is updated to submit to the current one.

    ``current`` is the participant this browser's session already holds for the study; an
    anonymous entry resumes them. Raise :class:`Rejected` when the link is incomplete, the
    study is not open to newcomers from this source, a Prolific ID arrives with another
    ``SESSION_ID`` than the one it is bound to, and :class:`AlreadyTakingPart` when the
    session holds someone else (one place per browser and study).
    """
    _check_ids(study, ids, invitation)
    existing = _find(study, ids, invitation)
    if ids.source == Participant.Source.ANONYMOUS and current is not None:
        existing = current
    if current is not None and current.study_id == study.pk and current != existing:
        raise AlreadyTakingPart(
            f"This browser already takes part in this study as {_described(current)}. "
            "One browser holds one place in a study, so it cannot start another one.",
            participant=current,
        )
    if existing is None:
        _check_open(study, ids.source)
        return None
    if (
        ids.source == Participant.Source.PROLIFIC
        and existing.prolific_session_id != ids.prolific_session_id
    ):
        # Prolific starts a new SESSION_ID only for a new submission: this is not the session
        # the place was given to.
        raise Rejected(
            "This Prolific ID already takes part in this study under another Prolific session "
            "(SESSION_ID). Please continue through the link of your first submission.",
            status=409,
        )
    if ids.source == Participant.Source.MTURK and existing.status != Participant.Status.COMPLETED:
        # The worker came back through another HIT assignment: submit to the current one.
        Participant.objects.filter(pk=existing.pk).update(
            mturk_assignment_id=ids.mturk_assignment_id,
            mturk_hit_id=ids.mturk_hit_id,
            mturk_submit_to=ids.mturk_submit_to,
        )
        existing.refresh_from_db()
    return existing


def participant_enter(
    *,
    study: Study,
    ids: EntryIds,
    invitation: Invitation | None = None,
    current: Participant | None = None,
    simulated: bool = False,
) -> Participant:
    """Return the participant arriving with ``ids``: the same person again, or a new one.

    ``simulated`` marks a new participant as simulated by the software, not a person. A new
    participant has no place until :func:`~studies.services.participants.participant_consent`;
    the participant pages create them only then, through ``participant_join``.

    A used invitation resumes its participant and never creates another. Raise
    :class:`Rejected` as :func:`participant_arrive` does.
    """
    existing = participant_arrive(study=study, ids=ids, invitation=invitation, current=current)
    if existing is not None:
        return existing
    participant = Participant(
        study=study,
        source=ids.source,
        prolific_pid=ids.prolific_pid.strip(),
        prolific_study_id=ids.prolific_study_id,
        prolific_session_id=ids.prolific_session_id,
        mturk_worker_id=ids.mturk_worker_id.strip(),
        mturk_assignment_id=ids.mturk_assignment_id,
        mturk_hit_id=ids.mturk_hit_id,
        mturk_submit_to=ids.mturk_submit_to,
        invitation=invitation,
        simulated=simulated,
    )
    participant.full_clean(
        exclude=["study", "invitation"], validate_unique=False, validate_constraints=False
    )
    try:
        with transaction.atomic():
            participant.save()
            if invitation is not None:
                Invitation.objects.filter(pk=invitation.pk, used_at__isnull=True).update(
                    used_at=timezone.now()
                )
    except IntegrityError:
        # The same person arrived twice at once (two tabs): both get the one row.
        again = participant_arrive(study=study, ids=ids, invitation=invitation)
        if again is None:
            raise
        return again
    return participant


def _pick_list(study: Study) -> StudyList:
    open_lists = StudyList.objects.filter(study=study, filled__lt=F("target"))
    skip_locked = connection.features.has_select_for_update_skip_locked
    for attempt in range(PICK_ATTEMPTS):
        query = open_lists.order_by("filled", "index")
        if skip_locked:
            query = query.select_for_update(skip_locked=True)
        chosen = query.first()
        if chosen is not None:
            return chosen
        if not open_lists.exists():
            break
        time.sleep(min(0.002 * (attempt + 1), 0.05))  # every open list is being taken right now
    raise StudyFull("Sorry, this study is full: every place has been taken.")


def assignment_start(*, participant: Participant, now: datetime | None = None) -> Assignment:
    """Return the participant's assignment, giving them the least-filled list if they have none.

    Never gives anyone a second assignment. Raise :class:`StudyFull` when no list has room
    and :class:`StudyNotOpen` when the study is not live.
    """
    now = now or timezone.now()
    study = participant.study
    assignments_release_expired(study=study, now=now)
    try:
        return _assign(participant, study, now)
    except StudyFull:
        Participant.objects.filter(pk=participant.pk, assignment__isnull=True).update(
            status=Participant.Status.FULL, outcome=Participant.Outcome.FULL, ended_at=now
        )
        participant.refresh_from_db()
        raise


def trial_specs(
    *,
    study: Study,
    items: Sequence[StudyItem],
    rng: Random,
    study_list: StudyList | None = None,
) -> list[TrialSpec]:
    """Order one list's ``items`` into trials as the study type builds them.

    The researcher's preview calls this too (without ``study_list``), so it shows exactly
    what participants get. With ``study_list``, the type sees the first-trial payloads of
    the list's active and completed assignments (to balance arms across its participants).
    """
    list_payloads: list[dict[str, Any]] = []
    if study_list is not None:
        list_payloads = list(
            Trial.objects.filter(
                assignment__study_list=study_list,
                assignment__status__in=[Assignment.Status.ACTIVE, Assignment.Status.COMPLETED],
                position=0,
            ).values_list("payload", flat=True)
        )
    refs = [
        ItemRef(
            id=item.pk,
            role=item.role,
            position=item.position,
            methods=tuple(item.methods),
            expected=item.expected,
        )
        for item in items
    ]
    return get_type(study.study_type).build_trials(
        items=refs,
        options=study.type_options,
        attention_positions=study.attention_check_positions,
        gold_positions=study.gold_positions,
        rng=rng,
        list_payloads=list_payloads,
    )


def _assign(participant: Participant, study: Study, now: datetime) -> Assignment:
    """Give the participant a list and their trials, under the locks the module describes."""
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        existing = Assignment.objects.filter(participant=locked).first()
        if existing is not None:
            return existing
        study = Study.objects.get(pk=study.pk)
        if study.status != Study.Status.LIVE:
            raise StudyNotOpen("This study is closed and no longer accepts participants.")
        chosen = _pick_list(study)
        StudyList.objects.filter(pk=chosen.pk).update(filled=F("filled") + 1)
        assignment = Assignment.objects.create(
            participant=locked,
            study_list=chosen,
            started_at=now,
            deadline=now + timedelta(minutes=study.time_limit_minutes),
        )
        specs = trial_specs(
            study=study,
            items=list(chosen.items.all()),
            rng=Random(f"{study.seed}:{locked.uid}"),
            study_list=chosen,
        )
        Trial.objects.bulk_create(
            [
                Trial(
                    assignment=assignment,
                    position=k,
                    item_id=spec.item_id,
                    role=spec.role,
                    phase=spec.phase,
                    payload=spec.payload,
                )
                for k, spec in enumerate(specs)
            ]
        )
        Participant.objects.filter(pk=locked.pk).update(status=Participant.Status.IN_PROGRESS)
    participant.refresh_from_db()
    return assignment


# The outcome (what the platform is told) of each way an assignment ends early.
def _end(assignment: Assignment, status: str, participant_status: str, now: datetime) -> None:
    """End an active assignment and free its place in the list; answers stay."""
    Assignment.objects.filter(pk=assignment.pk).update(status=status, finished_at=now)
    Participant.objects.filter(pk=assignment.participant_id).update(
        status=participant_status, outcome=OUTCOME_OF_STATUS[participant_status], ended_at=now
    )
    StudyList.objects.filter(pk=assignment.study_list_id).update(filled=F("filled") - 1)


def _participant_end(
    participant: Participant, assignment_status: str, participant_status: str, now: datetime
) -> None:
    """End the participant's active assignment (freeing its place), or mark them ended."""
    assignment = Assignment.objects.filter(
        participant=participant, status=Assignment.Status.ACTIVE
    ).first()
    if assignment is not None:
        _end(assignment, assignment_status, participant_status, now)
    else:
        Participant.objects.filter(pk=participant.pk).update(
            status=participant_status, outcome=OUTCOME_OF_STATUS[participant_status], ended_at=now
        )


def assignments_release_expired(*, study: Study, now: datetime | None = None) -> int:
    """Release the study's active assignments past their deadline; return how many."""
    now = now or timezone.now()
    with transaction.atomic():
        query = Assignment.objects.filter(
            study_list__study=study, status=Assignment.Status.ACTIVE, deadline__lt=now
        ).order_by("study_list_id", "pk")
        if connection.features.has_select_for_update_skip_locked:
            query = query.select_for_update(skip_locked=True, of=("self",))
        expired = list(query)
        for assignment in expired:
            _end(assignment, Assignment.Status.RELEASED, Participant.Status.TIMED_OUT, now)
    return len(expired)


def assignment_release_if_late(*, assignment: Assignment, now: datetime) -> bool:
    """Release ``assignment`` if it is active past its deadline; return whether it was.

    The caller holds the assignment's row lock (``select_for_update``) in its transaction.
    """
    if assignment.status != Assignment.Status.ACTIVE or assignment.deadline >= now:
        return False
    _end(assignment, Assignment.Status.RELEASED, Participant.Status.TIMED_OUT, now)
    return True


def assignment_check_deadline(
    *,
    participant: Participant,
    assignment: Assignment | None = None,
    now: datetime | None = None,
) -> None:
    """Release the participant's assignment if its deadline passed; raise TimeLimitPassed then.

    ``assignment``, when the caller read it with the participant, spares the locked re-read
    in the common case of an assignment that is not active or still within its time.
    """
    now = now or timezone.now()
    if assignment is not None and (
        assignment.status != Assignment.Status.ACTIVE or assignment.deadline >= now
    ):
        return
    with transaction.atomic():
        locked = (
            Assignment.objects.select_for_update()
            .filter(participant=participant, status=Assignment.Status.ACTIVE)
            .first()
        )
        if locked is None or not assignment_release_if_late(assignment=locked, now=now):
            return
    participant.refresh_from_db()
    raise TimeLimitPassed(TIME_LIMIT_PASSED)


def participant_withdraw(*, participant: Participant, now: datetime | None = None) -> Participant:
    """Record that the participant stopped (Prolific "return"); free their place, keep answers."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        if locked.status == Participant.Status.COMPLETED:
            raise Rejected("You have already completed this study.", status=409)
        _participant_end(locked, Assignment.Status.RETURNED, Participant.Status.RETURNED, now)
    participant.refresh_from_db()
    return participant


def participant_screen_out(*, participant: Participant, now: datetime | None = None) -> None:
    """Screen the participant out (a failed comprehension check): free their place, keep answers.

    The caller holds the participant's row lock in its transaction.
    """
    now = now or timezone.now()
    _participant_end(
        participant, Assignment.Status.SCREENED_OUT, Participant.Status.SCREENED_OUT, now
    )


def participant_time_out(*, participant: Participant, now: datetime | None = None) -> bool:
    """Record that the platform timed the participant out (Prolific TIMED-OUT); free their place.

    Return whether anything changed: a completed or already ended participant is left alone.
    Their answers stay, as with a release at the deadline.
    """
    now = now or timezone.now()
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        if locked.status == Participant.Status.COMPLETED or locked.ended_at is not None:
            return False
        _participant_end(locked, Assignment.Status.RELEASED, Participant.Status.TIMED_OUT, now)
    participant.refresh_from_db()
    return True
