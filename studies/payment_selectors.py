"""Reads for paying participants: one row per participant with a suggested decision.

This is the one place (with its page and CSV) that shows platform ids next to pseudonyms:
paying people on Prolific or MTurk needs them. Every other export uses pseudonyms only.

The suggestion follows Prolific's attention-check policy (:func:`suggested_decision`):
reject only a participant who failed two or more attention checks (instructed-response
items, role ``attention_check``); gold items measure performance, which Prolific does not
allow rejecting for, so they are shown but never decide. Everyone else who completed is
approved; people who returned, timed out, were screened out or found the study full have
no submission to decide on here.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Q

from .models import OUTCOME_OF_STATUS, Participant, PaymentAction, Study, StudyItem
from .privacy_selectors import pseudonyms_of

# Prolific: "you may reject a submission if the participant fails two or more attention
# checks" (researcher help centre, "Prolific's attention and comprehension check policy").
PROLIFIC_MIN_FAILED_TO_REJECT = 2

APPROVE = "approve"
REJECT = "reject"
NONE = "none"
DECISIONS = (APPROVE, REJECT, NONE)
PAID_SOURCES = (Participant.Source.PROLIFIC, Participant.Source.MTURK)
REJECTION_MESSAGE = (
    "Thank you for taking part. Your submission failed {failed} of the study's attention "
    "checks (instructed-response questions stated in the task), and the study's rules, "
    "following Prolific's policy, reject submissions that fail two or more of them."
)

IN_PROGRESS = "in_progress"
DECLINED = "declined"


@dataclass(frozen=True)
class PaymentRow:
    participant_id: int
    pseudonym: str
    source: str
    platform_id: str  # Prolific PID or MTurk worker id
    submission_id: str  # Prolific SESSION_ID (its submission id) or MTurk assignment id
    platform_study_id: str  # Prolific STUDY_ID or MTurk HIT id
    status: str
    outcome: str
    platform_status: str
    minutes: float | None
    attention_passed: int
    attention_failed: int
    gold_passed: int
    gold_failed: int
    decision: str
    reason: str
    bonus: Decimal | None
    done: tuple[str, ...]  # kinds of PaymentAction the platform accepted


def outcome_of(participant: Participant) -> str:
    """Return how the participant's session ended (``in_progress`` while it goes on).

    The participant's recorded ``outcome`` wins; rows without one (sessions still going,
    or ended before outcomes were recorded) take it from the status.
    """
    if participant.outcome:
        return participant.outcome
    if participant.status == Participant.Status.DECLINED:
        return DECLINED
    return OUTCOME_OF_STATUS.get(participant.status, IN_PROGRESS)


def suggested_decision(*, source: str, outcome: str, attention_failed: int) -> tuple[str, str]:
    """Return the suggested decision (approve, reject or none) and why, by Prolific's rule.

    Only a finished submission is decided; it is rejected only for two or more failed
    attention checks, whatever the study's own exclusion threshold says.
    """
    if source not in PAID_SOURCES:
        return NONE, "not recruited on a paying platform"
    if outcome not in (Participant.Outcome.COMPLETED, Participant.Outcome.FAILED_CHECKS):
        return NONE, _NO_DECISION.get(outcome, "no submission to decide on")
    if attention_failed >= PROLIFIC_MIN_FAILED_TO_REJECT:
        return REJECT, f"failed {attention_failed} attention checks (rule: 2 or more)"
    if attention_failed:
        return APPROVE, f"failed {attention_failed} attention check (rejecting needs 2 or more)"
    return APPROVE, "completed"


_NO_DECISION: dict[str, str] = {
    IN_PROGRESS: "still taking part",
    DECLINED: "declined consent",
    Participant.Outcome.RETURNED: "returned the submission",
    Participant.Outcome.TIMED_OUT: "timed out",
    Participant.Outcome.FULL: "study was full; asked to return",
    Participant.Outcome.SCREENED_OUT: "screened out; ask them to return or pay a screen-out fee",
}


def _minutes(participant: Participant) -> float | None:
    start = participant.consented_at or participant.entered_at
    end = participant.completed_at or participant.ended_at
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() / 60, 1)


def payment_rows(study: Study, *, decision: str | None = None) -> list[PaymentRow]:
    """Return the study's payment rows (those with ``decision`` only, when given).

    Who may see them is the caller's check (:func:`studies.selectors.study_access`).
    """
    participants = (
        Participant.objects.filter(study=study)
        .annotate(
            attention_passed=_checks(StudyItem.Role.ATTENTION_CHECK, passed=True),
            attention_failed=_checks(StudyItem.Role.ATTENTION_CHECK, passed=False),
            gold_passed=_checks(StudyItem.Role.GOLD, passed=True),
            gold_failed=_checks(StudyItem.Role.GOLD, passed=False),
        )
        .order_by("entered_at", "pk")
    )
    pseudonyms = pseudonyms_of(study)
    done = _done(study)
    rows = [_row(study, p, pseudonyms[p.pk], done.get(p.pk, ())) for p in participants]
    return [row for row in rows if decision is None or row.decision == decision]


def _checks(role: str, *, passed: bool) -> Count:
    return Count(
        "responses",
        filter=Q(responses__trial__role=role, responses__passed=passed),
    )


def _done(study: Study) -> dict[int, tuple[str, ...]]:
    found: dict[int, list[str]] = {}
    for pid, kind in PaymentAction.objects.filter(
        study=study, ok=True, participant__isnull=False
    ).values_list("participant_id", "kind"):
        assert pid is not None  # filtered above
        found.setdefault(pid, []).append(kind)
    return {pid: tuple(kinds) for pid, kinds in found.items()}


def _row(study: Study, p: Participant, pseudonym: str, done: Iterable[str]) -> PaymentRow:
    outcome = outcome_of(p)
    failed: int = p.attention_failed  # type: ignore[attr-defined]  # annotated above
    decision, reason = suggested_decision(source=p.source, outcome=outcome, attention_failed=failed)
    bonus = (
        study.bonus_amount
        if study.bonus_amount and decision == APPROVE and outcome == Participant.Outcome.COMPLETED
        else None
    )
    return PaymentRow(
        participant_id=p.pk,
        pseudonym=pseudonym,
        source=p.source,
        platform_id=p.prolific_pid or p.mturk_worker_id,
        submission_id=p.prolific_session_id or p.mturk_assignment_id,
        platform_study_id=p.prolific_study_id or p.mturk_hit_id,
        status=p.status,
        outcome=outcome,
        platform_status=p.platform_status,
        minutes=_minutes(p),
        attention_passed=p.attention_passed,  # type: ignore[attr-defined]  # annotated above
        attention_failed=failed,
        gold_passed=p.gold_passed,  # type: ignore[attr-defined]  # annotated above
        gold_failed=p.gold_failed,  # type: ignore[attr-defined]  # annotated above
        decision=decision,
        reason=reason,
        bonus=bonus,
        done=tuple(done),
    )


CSV_COLUMNS = [
    "pseudonym",
    "source",
    "platform_id",
    "submission_id",
    "platform_study_id",
    "status",
    "outcome",
    "platform_status",
    "minutes",
    "attention_passed",
    "attention_failed",
    "gold_passed",
    "gold_failed",
    "decision",
    "reason",
    "bonus",
    "done",
]


def payment_csv_rows(rows: Iterable[PaymentRow]) -> list[list[str]]:
    """Return the rows as the payments CSV lists them, header first.

    Platform ids arrive in entry links anyone can type, so a cell a spreadsheet would run
    as a formula (starting with ``= + - @``, a tab or a carriage return) gets a leading
    apostrophe (OWASP's CSV-injection advice).
    """
    out = [list(CSV_COLUMNS)]
    for r in rows:
        out.append(
            [
                _cell(value)
                for value in (
                    r.pseudonym,
                    r.source,
                    r.platform_id,
                    r.submission_id,
                    r.platform_study_id,
                    r.status,
                    r.outcome,
                    r.platform_status,
                    "" if r.minutes is None else f"{r.minutes:.1f}",
                    str(r.attention_passed),
                    str(r.attention_failed),
                    str(r.gold_passed),
                    str(r.gold_failed),
                    r.decision,
                    r.reason,
                    "" if r.bonus is None else f"{r.bonus:.2f}",
                    ";".join(r.done),
                )
            ]
        )
    return out


def _cell(value: str) -> str:
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
