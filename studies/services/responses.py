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
from django.utils import timezone

from studies.models import Assignment, Participant, Response, Study, Trial
from studies.types.base import get_type

from .assignment import assignment_check_deadline
from .errors import NotYours, OutOfOrder, Rejected, StudyNotOpen, TimeLimitPassed
from .snapshots import trial_view

MAX_KEY = 64
MAX_CLIENT_MS = 24 * 3600 * 1000


@dataclass(frozen=True)
class Submitted:
    response: Response
    created: bool  # False when the same submission was acknowledged again
    finished: bool  # True when this was the assignment's last trial


def trial_mark_shown(*, trial: Trial, now: datetime | None = None) -> Trial:
    """Record when the trial was first shown (a reload keeps the first time)."""
    Trial.objects.filter(pk=trial.pk, shown_at__isnull=True).update(shown_at=now or timezone.now())
    trial.refresh_from_db(fields=["shown_at"])
    return trial


def _client_ms(raw: Any) -> int | None:
    if raw in (None, ""):
        return None
    try:
        value = round(float(raw))
    except (TypeError, ValueError):
        return None
    return value if 0 <= value <= MAX_CLIENT_MS else None


def response_submit(
    *,
    participant: Participant,
    trial_id: int | None,
    data: Mapping[str, Any],
    idempotency_key: str,
    client_duration_ms: Any = None,
    now: datetime | None = None,
) -> Submitted:
    """Validate and store one answer to ``trial_id`` by ``participant``."""
    now = now or timezone.now()
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_KEY:
        raise Rejected(f"Every answer needs an idempotency key of 1 to {MAX_KEY} characters.")
    duplicate = _acknowledged(key=key, participant=participant)
    if duplicate is not None:
        return duplicate
    study = Study.objects.get(pk=participant.study_id)
    if study.status != Study.Status.LIVE:
        raise StudyNotOpen("This study is closed; no more answers are accepted.")
    assignment_check_deadline(participant=participant, now=now)
    with transaction.atomic():
        assignment = (
            Assignment.objects.select_for_update().filter(participant_id=participant.pk).first()
        )
        if assignment is None:
            raise NotYours("You have no assignment in this study.")
        # A second copy of the same POST may have waited on the lock while the first committed.
        duplicate = _acknowledged(key=key, participant=participant)
        if duplicate is not None:
            return duplicate
        trial = (
            Trial.objects.filter(pk=trial_id, assignment=assignment).select_related("item").first()
            if isinstance(trial_id, int)
            else None
        )
        if trial is None:
            raise NotYours("This trial is not part of your assignment.")
        if assignment.status == Assignment.Status.RELEASED:
            raise TimeLimitPassed(
                "The time limit for this study has passed, so your place was given to someone "
                "else. Your answers so far are kept."
            )
        if assignment.status == Assignment.Status.RETURNED:
            raise Rejected(
                "You withdrew from this study; no more answers are accepted.", status=409
            )
        if Response.objects.filter(trial=trial).exists():
            raise OutOfOrder("This trial is already answered; answers cannot be changed.")
        current = (
            Trial.objects.filter(assignment=assignment, response__isnull=True)
            .order_by("position")
            .values_list("pk", flat=True)
            .first()
        )
        if current != trial.pk:
            raise OutOfOrder("Please answer the trials in order: this is not your current trial.")
        kind = get_type(study.study_type)
        view = trial_view(
            study=study,
            snapshot=trial.item.frozen,
            role=trial.role,
            phase=trial.phase,
            payload=trial.payload,
            expected=trial.item.expected,
        )
        try:
            value = kind.clean_answer(view, data)
        except ValidationError as exc:
            raise Rejected(" ".join(exc.messages), status=400) from exc
        try:
            with transaction.atomic():
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
        except IntegrityError:
            again = Response.objects.filter(idempotency_key=key, participant=participant).first()
            if again is None:
                raise OutOfOrder(
                    "This trial is already answered; answers cannot be changed."
                ) from None
            return Submitted(again, created=False, finished=_finished(assignment.pk))
        finished = not Trial.objects.filter(assignment=assignment, response__isnull=True).exists()
        if finished:
            Assignment.objects.filter(pk=assignment.pk).update(
                status=Assignment.Status.COMPLETED, finished_at=now
            )
    return Submitted(response, created=True, finished=finished)


def _acknowledged(*, key: str, participant: Participant) -> Submitted | None:
    """Return the stored answer under ``key`` acknowledged again, or None if the key is new.

    Raises :class:`Rejected` (409) when another participant's answer carries the key.
    """
    stored = Response.objects.filter(idempotency_key=key).select_related("trial").first()
    if stored is None:
        return None
    if stored.participant_id != participant.pk:
        raise Rejected("This idempotency key was already used for another answer.", status=409)
    return Submitted(stored, created=False, finished=_finished(stored.trial.assignment_id))


def _finished(assignment_id: int) -> bool:
    return not Trial.objects.filter(assignment_id=assignment_id, response__isnull=True).exists()
