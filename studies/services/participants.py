"""A participant's steps outside the trials: consent, instructions, the comprehension check,
the questionnaire and completion, where the outcome the platform is told is decided.

The participant pages create a participant only when they agree to take part
(:func:`participant_join`): until then an entry link stores nothing, so people who only
look at the consent page neither take a place nor appear in the study's figures.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from studies import comprehension
from studies.models import (
    Assignment,
    Invitation,
    Participant,
    QuestionnaireAnswer,
    Response,
    Study,
    StudyItem,
)

from .assignment import EntryIds, assignment_start, participant_enter, participant_screen_out
from .errors import OutOfOrder, StudyFull, StudyNotOpen

MAX_TEXT = 5000


def _live(participant: Participant) -> None:
    if participant.study.status != Study.Status.LIVE:
        raise StudyNotOpen("This study is closed; no more answers are accepted.")


def participant_consent(
    *, participant: Participant, agree: bool, now: datetime | None = None
) -> Participant:
    """Record consent and hand out an assignment, or record that consent was declined.

    Agreeing twice changes nothing. Raise StudyFull when no list has room.
    """
    now = now or timezone.now()
    _live(participant)
    if participant.consented_at is None:
        if not agree:
            Participant.objects.filter(pk=participant.pk, consented_at__isnull=True).update(
                status=Participant.Status.DECLINED, ended_at=now
            )
            participant.refresh_from_db()
            return participant
        Participant.objects.filter(pk=participant.pk, consented_at__isnull=True).update(
            consented_at=now,
            status=Participant.Status.CONSENTED,
            consent_sha256=participant.study.consent_sha256,
        )
        participant.refresh_from_db()
    assignment_start(participant=participant, now=now)
    participant.refresh_from_db()
    return participant


def participant_join(
    *,
    study: Study,
    ids: EntryIds,
    invitation: Invitation | None = None,
    current: Participant | None = None,
    now: datetime | None = None,
) -> Participant:
    """Create the participant arriving with ``ids`` as they agree to take part, with their place.

    One transaction: the row, the consent and the list place are stored together or not at
    all (a study closed meanwhile stores nothing). Someone already known (the same Prolific
    ID or MTurk worker from another tab, a used invitation) is returned as they are. When
    every list is full the participant is kept, consented and marked full, without a place,
    so a reload tells them so again. Raise :class:`Rejected` as ``participant_arrive`` does.
    """
    now = now or timezone.now()
    with transaction.atomic():
        participant = participant_enter(
            study=study, ids=ids, invitation=invitation, current=current
        )
        if participant.status not in (Participant.Status.ENTERED, Participant.Status.CONSENTED):
            return participant
        try:
            participant = participant_consent(participant=participant, agree=True, now=now)
        except StudyFull:
            participant.refresh_from_db()  # kept, marked full: every list had its k people
    return participant


def participant_instructions_read(*, participant: Participant, now: datetime | None = None) -> None:
    """Record that the participant read the instructions (once)."""
    if participant.consented_at is None:
        raise OutOfOrder("Please give your consent first.")
    Participant.objects.filter(pk=participant.pk, instructions_read_at__isnull=True).update(
        instructions_read_at=now or timezone.now()
    )
    participant.refresh_from_db()


def comprehension_submit(
    *,
    participant: Participant,
    data: Mapping[str, Any],
    attempt: int | None,
    now: datetime | None = None,
) -> Participant:
    """Grade an attempt at the comprehension check and record it; screen out after two.

    ``attempt`` is the attempt number the page was shown for: a second copy of the same
    submission (a double click) is acknowledged and changes nothing, so nobody is screened
    out by a resend. Raise ValidationError keyed by question when one is unanswered (not an
    attempt then). The second wrong attempt marks the participant screened out and frees
    their place (:func:`~studies.services.assignment.participant_screen_out`).
    """
    now = now or timezone.now()
    _live(participant)
    if participant.instructions_read_at is None:
        raise OutOfOrder("Please read the instructions first.")
    checks = participant.study.comprehension_checks
    graded = comprehension.grade(checks, data)
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        attempts = list(locked.comprehension_attempts)
        done = comprehension.cleared(checks, attempts) or len(attempts) >= comprehension.ATTEMPTS
        if done or locked.status != Participant.Status.IN_PROGRESS or attempt != len(attempts) + 1:
            return locked
        attempts.append(
            {
                "attempt": len(attempts) + 1,
                "answers": graded.answers,
                "wrong": graded.wrong,
                "passed": graded.passed,
                "at": now.isoformat(),
            }
        )
        locked.comprehension_attempts = attempts
        locked.save(update_fields=["comprehension_attempts"])
        if not graded.passed and len(attempts) >= comprehension.ATTEMPTS:
            participant_screen_out(participant=locked, now=now)
    locked.refresh_from_db()
    return locked


def _clean_answers(participant: Participant, data: Mapping[str, Any]) -> dict[int, Any]:
    errors: dict[str, str] = {}
    values: dict[int, Any] = {}
    for item in participant.study.questionnaire.all():
        raw = data.get(item.key)
        raw = "" if raw is None else str(raw).strip()
        if not raw:
            if item.required:
                errors[item.key] = "Please answer this question."
            continue
        if item.kind == item.Kind.LIKERT:
            try:
                number = int(raw)
            except ValueError:
                errors[item.key] = f"Expected a whole number from 1 to {item.points}."
                continue
            if not 1 <= number <= (item.points or 0):
                errors[item.key] = f"Expected a number from 1 to {item.points}; got {number}."
                continue
            values[item.pk] = number
        else:
            if len(raw) > MAX_TEXT:
                errors[item.key] = f"Please keep the answer under {MAX_TEXT} characters."
                continue
            if "\x00" in raw:  # an invisible control character PostgreSQL cannot store
                errors[item.key] = "Please remove the NUL character (\\u0000) from the answer."
                continue
            values[item.pk] = raw
    if errors:
        raise ValidationError(errors)
    return values


def questionnaire_submit(
    *, participant: Participant, data: Mapping[str, Any], now: datetime | None = None
) -> Participant:
    """Store the post-study questionnaire and complete the participant.

    Raise ValidationError keyed by question when an answer is missing or out of range;
    nothing is stored then. A second submission is acknowledged and changes nothing.
    """
    _live(participant)
    if participant.questionnaire_at is not None:
        return participant
    assignment = Assignment.objects.filter(participant=participant).first()
    if assignment is None or assignment.status != Assignment.Status.COMPLETED:
        raise OutOfOrder("Please finish the trials before the questionnaire.")
    values = _clean_answers(participant, data)
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        if locked.questionnaire_at is not None:
            return locked
        QuestionnaireAnswer.objects.bulk_create(
            [QuestionnaireAnswer(participant=locked, item_id=k, value=v) for k, v in values.items()]
        )
        locked.questionnaire_at = now or timezone.now()
        locked.save(update_fields=["questionnaire_at"])
    return participant_complete(participant=locked, now=now)


def failed_attention_checks(participant: Participant) -> int:
    """Return how many attention checks the participant failed.

    Only instructed-response attention checks count, as in Prolific's policy; gold items
    (a known answer) measure agreement, not attention, and never do.
    """
    return Response.objects.filter(
        participant=participant, trial__role=StudyItem.Role.ATTENTION_CHECK, passed=False
    ).count()


def participant_complete(*, participant: Participant, now: datetime | None = None) -> Participant:
    """Mark the participant completed once every trial (and the questionnaire) is answered.

    The outcome is decided here: ``failed_checks`` when at least the study's
    ``failed_checks_threshold`` attention checks failed (Prolific: two), else ``completed``.
    """
    with transaction.atomic():
        locked = Participant.objects.select_for_update().get(pk=participant.pk)
        if locked.status == Participant.Status.COMPLETED:
            return locked
        assignment = Assignment.objects.filter(participant=locked).first()
        if assignment is None or assignment.status != Assignment.Status.COMPLETED:
            raise OutOfOrder("Please finish the trials first.")
        if locked.study.questionnaire.exists() and locked.questionnaire_at is None:
            raise OutOfOrder("Please answer the questionnaire first.")
        failed = failed_attention_checks(locked)
        locked.status = Participant.Status.COMPLETED
        locked.outcome = (
            Participant.Outcome.FAILED_CHECKS
            if failed >= locked.study.failed_checks_threshold
            else Participant.Outcome.COMPLETED
        )
        locked.completed_at = now or timezone.now()
        locked.save(update_fields=["status", "outcome", "completed_at"])
    return locked
