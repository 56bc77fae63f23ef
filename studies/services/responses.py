"""Record answers: idempotent, validated by the study type, never overwritten.

Every submission carries an idempotency key generated when the trial was rendered. A key
already stored for this participant is acknowledged and stores nothing; any refusal
(out-of-scale value, a trial that is not current, someone else's trial, a closed study,
an expired assignment) raises :class:`~studies.services.errors.Rejected` and changes
nothing.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from explanations.io.limits import nul_at, nul_message
from studies.compiled import CompiledQuery
from studies.models import Assignment, Participant, Response, Study, Trial
from studies.types.base import get_type

from .assignment import TIME_LIMIT_PASSED, assignment_release_if_late
from .errors import NotYours, OutOfOrder, Rejected, StudyNotOpen, TimeLimitPassed
from .snapshots import trial_view_of

MAX_KEY = 64
MAX_CLIENT_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Submitted:
    response: Response
    created: bool  # False when the same submission was acknowledged again
    finished: bool  # True when this was the assignment's last trial


def trial_mark_shown(*, trial: Trial, now: datetime | None = None) -> Trial:
    """Record when the trial was first shown (a reload keeps the first time)."""
    if trial.shown_at is not None:
        return trial
    now = now or timezone.now()
    if Trial.objects.filter(pk=trial.pk, shown_at__isnull=True).update(shown_at=now):
        trial.shown_at = now
    else:  # another tab showed it first
        trial.refresh_from_db(fields=["shown_at"])
    return trial


def _client_ms(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = round(float(raw))
    except (TypeError, ValueError, OverflowError):  # not a number, or infinite
        return None
    return value if 0 <= value <= MAX_CLIENT_MS else None


def unanswered_trials(*, assignment: int, participant: int) -> QuerySet[Trial]:
    """The assignment's trials with no answer, found through the participant's answers.

    Not ``response__isnull=True``: PostgreSQL answers that anti-join by scanning every
    answer of every study while the table is small enough (it did, from a few thousand
    answers, on every answer POST and trial page: a cost growing with the database). The
    participant's own answers come from their index. Every answer is stored by
    ``response_submit`` under the participant whose assignment holds its trial.
    """
    answered = Response.objects.filter(participant_id=participant).values("trial_id")
    return Trial.objects.filter(assignment_id=assignment).exclude(pk__in=answered)


# The answer path's reads, compiled once (see studies.compiled): each answer runs them.
ASSIGNMENT_LOCKED = CompiledQuery(
    lambda participant: (
        Assignment.objects.select_for_update(of=("self",))
        .select_related("study_list__study")
        .filter(participant_id=participant)
        .order_by("pk")[:1]
    ),
    participant=int,
)
PENDING = CompiledQuery(
    lambda assignment, participant: (
        unanswered_trials(assignment=assignment, participant=participant)
        .select_related("item")
        .order_by("position")[:2]
    ),
    assignment=int,
    participant=int,
)
ANSWER_UNDER_KEY = CompiledQuery(
    lambda key: (
        Response.objects.filter(idempotency_key=key).select_related("trial").order_by("pk")[:1]
    ),
    key=str,
)


def _assignment_locked(participant: Participant) -> Assignment | None:
    """Return the participant's assignment with its study, its row locked until commit."""
    return ASSIGNMENT_LOCKED.first(participant=participant.pk)


def response_submit(
    *,
    participant: Participant,
    trial_id: int | None,
    data: Mapping[str, Any],
    idempotency_key: str,
    client_duration_ms: Any = None,
    now: datetime | None = None,
) -> Submitted:
    """Validate and store one answer to ``trial_id`` by ``participant``.

    Everything is read under the assignment's row lock, in a handful of queries: a second
    copy of the same POST waits for the first and is then acknowledged.
    """
    now = now or timezone.now()
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_KEY or "\x00" in key:
        raise Rejected(
            f"Every answer needs an idempotency key of 1 to {MAX_KEY} characters, no NUL."
        )
    try:
        with transaction.atomic():
            assignment = _assignment_locked(participant)
            duplicate = _acknowledged(key=key, participant=participant)
            if duplicate is not None:
                return duplicate
            if assignment is None:
                raise NotYours("You have no assignment in this study.")
            study = assignment.study_list.study
            if study.status != Study.Status.LIVE:
                raise StudyNotOpen("This study is closed; no more answers are accepted.")
            late = assignment_release_if_late(assignment=assignment, now=now)
            if not late:
                return _store(
                    participant=participant,
                    assignment=assignment,
                    study=study,
                    trial_id=trial_id,
                    data=data,
                    key=key,
                    client_duration_ms=client_duration_ms,
                    now=now,
                )
    except IntegrityError:
        # Only a concurrent answer to the same trial, or a key already used, gets here.
        again = Response.objects.filter(idempotency_key=key, participant=participant).first()
        if again is None:
            raise OutOfOrder("This trial is already answered; answers cannot be changed.") from None
        return Submitted(again, created=False, finished=_finished(again.trial.assignment_id))
    participant.refresh_from_db()
    raise TimeLimitPassed(TIME_LIMIT_PASSED)  # raised after the release is committed


def _pending(assignment: Assignment) -> list[Trial]:
    """Return the current trial and the one after it (fewer when the assignment ends)."""
    pending = PENDING.all(assignment=assignment.pk, participant=assignment.participant_id)
    for trial in pending:
        trial.assignment = assignment
    return pending


def _refuse(assignment: Assignment, trial_id: int | None) -> None:
    """Raise why ``trial_id`` cannot be answered now (it is not the current trial)."""
    trial = (
        Trial.objects.filter(pk=trial_id, assignment=assignment).first()
        if isinstance(trial_id, int)
        else None
    )
    if trial is None:
        raise NotYours("This trial is not part of your assignment.")
    _check_status(assignment)
    if Response.objects.filter(trial=trial).exists():
        raise OutOfOrder("This trial is already answered; answers cannot be changed.")
    raise OutOfOrder("Please answer the trials in order: this is not your current trial.")


def _check_status(assignment: Assignment) -> None:
    if assignment.status == Assignment.Status.RELEASED:
        raise TimeLimitPassed(TIME_LIMIT_PASSED)
    if assignment.status == Assignment.Status.RETURNED:
        raise Rejected("You withdrew from this study; no more answers are accepted.", status=409)


def _store(
    *,
    participant: Participant,
    assignment: Assignment,
    study: Study,
    trial_id: int | None,
    data: Mapping[str, Any],
    key: str,
    client_duration_ms: Any,
    now: datetime,
) -> Submitted:
    """Store the answer to the current trial; the caller holds the assignment's lock."""
    pending = _pending(assignment)
    if not pending or pending[0].pk != trial_id:
        _refuse(assignment, trial_id)
    trial = pending[0]
    _check_status(assignment)
    kind = get_type(study.study_type)
    view = trial_view_of(study=study, trial=trial)
    try:
        value = kind.clean_answer(view, data)
    except ValidationError as exc:
        raise Rejected(" ".join(exc.messages), status=400) from exc
    position = nul_at(value)  # e.g. in a comment: PostgreSQL's jsonb cannot hold it
    if position:
        raise Rejected(f"The answer {nul_message(position)}.", status=400)
    response = Response.objects.create(
        trial=trial,
        participant=participant,
        value=value,
        passed=kind.passes(view, value),
        idempotency_key=key,
        shown_at=trial.shown_at,
        answered_at=now,
        client_duration_ms=_client_ms(client_duration_ms),
    )
    kind.after_response(view, value)
    finished = len(pending) == 1
    if finished:
        Assignment.objects.filter(pk=assignment.pk).update(
            status=Assignment.Status.COMPLETED, finished_at=now
        )
    return Submitted(response, created=True, finished=finished)


def _acknowledged(*, key: str, participant: Participant) -> Submitted | None:
    """Return the stored answer under ``key`` acknowledged again, or None if the key is new.

    Raises :class:`Rejected` (409) when another participant's answer carries the key.
    """
    stored = ANSWER_UNDER_KEY.first(key=key)
    if stored is None:
        return None
    if stored.participant_id != participant.pk:
        raise Rejected("This idempotency key was already used for another answer.", status=409)
    return Submitted(stored, created=False, finished=_finished(stored.trial.assignment_id))


def _finished(assignment_id: int) -> bool:
    return not Trial.objects.filter(assignment_id=assignment_id, response__isnull=True).exists()
