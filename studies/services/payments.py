"""Paying participants: the bonus setting, Prolific sync, decisions and bonuses sent out.

Each call to a platform is logged as a :class:`~studies.models.PaymentAction` (accepted or
not, with the platform's answer), so a page reload or a second click never approves, rejects
or pays twice: a participant with an accepted action of that kind is skipped. One refusal
does not stop the others; it is logged and counted.

Syncing with Prolific pulls every submission's status and frees the place of a submission
Prolific calls RETURNED or TIMED-OUT, through the assignment engine's own releases
(:func:`~studies.services.assignment.participant_withdraw` and
:func:`~studies.services.assignment.participant_time_out`), so the list takes someone else.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.utils import timezone

from studies.models import Participant, PaymentAction, Study
from studies.payment_selectors import (
    APPROVE,
    REJECT,
    REJECTION_MESSAGE,
    PaymentRow,
    payment_rows,
)
from studies.platforms import prolific
from studies.platforms.mturk import MTurkClient, MTurkError
from studies.platforms.prolific import ProlificClient, ProlificError

from .assignment import participant_time_out, participant_withdraw
from .errors import Rejected

BONUS_REASON = "Bonus for completing the study: thank you."


@dataclass
class SentReport:
    """What a batch of platform calls did."""

    ok: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    statuses: Counter[str] = field(default_factory=Counter)
    freed: int = 0
    unknown: int = 0  # submissions matching no participant here


def study_bonus_set(*, study: Study, amount: Decimal | None) -> Study:
    """Set (or with None clear) the bonus each approved completed participant is paid."""
    if amount is not None:
        try:
            amount = Study._meta.get_field("bonus_amount").clean(amount, study)
        except ValidationError as exc:
            raise ValidationError({"bonus_amount": exc.messages}) from exc
    Study.objects.filter(pk=study.pk).update(bonus_amount=amount)
    study.bonus_amount = amount
    return study


def _log(
    *,
    study: Study,
    row: PaymentRow,
    kind: str,
    ok: bool,
    detail: str,
    by: User | None,
    amount: Decimal | None = None,
) -> PaymentAction:
    return PaymentAction.objects.create(
        study=study,
        participant_id=row.participant_id,
        pseudonym=row.pseudonym,
        platform=row.source,
        kind=kind,
        amount=amount,
        ok=ok,
        detail=detail[:2000],
        by=by,
    )


def prolific_sync(
    *,
    study: Study,
    client: ProlificClient,
    by: User | None = None,
    now: datetime | None = None,
) -> SyncReport:
    """Store each Prolific submission's status; free RETURNED and TIMED-OUT places."""
    now = now or timezone.now()
    report = SyncReport()
    participants = Participant.objects.filter(study=study, source=Participant.Source.PROLIFIC)
    by_session = {p.prolific_session_id: p for p in participants if p.prolific_session_id}
    by_pid = {p.prolific_pid: p for p in participants if p.prolific_pid}
    prolific_studies = sorted({p.prolific_study_id for p in participants if p.prolific_study_id})
    rows = {row.participant_id: row for row in payment_rows(study)}
    for prolific_study in prolific_studies:
        for submission in client.submissions(prolific_study):
            report.statuses[submission.status] += 1
            participant = by_session.get(submission.id) or by_pid.get(submission.participant_id)
            if participant is None:
                report.unknown += 1  # e.g. returned before consenting: no row was ever made
                continue
            Participant.objects.filter(pk=participant.pk).update(
                platform_status=submission.status, platform_synced_at=now
            )
            if submission.status not in (prolific.RETURNED, prolific.TIMED_OUT):
                continue
            if _free(participant, submission.status, now):
                report.freed += 1
                _log(
                    study=study,
                    row=rows[participant.pk],
                    kind=PaymentAction.Kind.FREE_PLACE,
                    ok=True,
                    detail=f"Prolific status {submission.status}",
                    by=by,
                )
    return report


def _free(participant: Participant, status: str, now: datetime) -> bool:
    """Free the participant's place as the platform status says; return whether it changed."""
    if status == prolific.TIMED_OUT:
        return participant_time_out(participant=participant, now=now)
    if participant.ended_at is not None:
        return False
    try:
        participant_withdraw(participant=participant, now=now)
    except Rejected:  # completed here, returned there: keep the data, nothing to free
        return False
    return True


def _pending(study: Study, source: str, decision: str | None = None) -> list[PaymentRow]:
    rows = payment_rows(study, decision=decision)
    return [r for r in rows if r.source == source and r.submission_id]


def decisions_send(
    *,
    study: Study,
    by: User | None,
    prolific_client: ProlificClient | None = None,
    mturk_client: MTurkClient | None = None,
) -> SentReport:
    """Approve or reject, as suggested, every undecided submission on the given platforms."""
    report = SentReport()
    for source, client in (
        (Participant.Source.PROLIFIC, prolific_client),
        (Participant.Source.MTURK, mturk_client),
    ):
        if client is None:
            continue
        for row in _pending(study, source):
            if row.decision not in (APPROVE, REJECT) or {APPROVE, REJECT} & set(row.done):
                continue
            message = REJECTION_MESSAGE.format(failed=row.attention_failed)
            try:
                if isinstance(client, ProlificClient):
                    if row.decision == APPROVE:
                        client.approve(row.submission_id)
                    else:
                        client.reject(row.submission_id, message=message, category="FAILED_CHECK")
                elif row.decision == APPROVE:
                    client.approve(row.submission_id)
                else:
                    client.reject(row.submission_id, feedback=message)
            except (ProlificError, MTurkError) as exc:
                _count(report, exc)
                _log(study=study, row=row, kind=row.decision, ok=False, detail=str(exc), by=by)
            else:
                report.ok += 1
                _log(study=study, row=row, kind=row.decision, ok=True, detail=row.reason, by=by)
    return report


def bonuses_pay(
    *,
    study: Study,
    by: User | None,
    prolific_client: ProlificClient | None = None,
    mturk_client: MTurkClient | None = None,
) -> SentReport:
    """Pay the study's bonus to every approved completed participant not paid one yet."""
    if study.bonus_amount is None:
        raise ValidationError({"bonus_amount": "this study pays no bonus; set an amount first"})
    report = SentReport()
    if prolific_client is not None:
        due = _bonuses_due(study, Participant.Source.PROLIFIC)
        for prolific_study in sorted({r.platform_study_id for r in due}):
            batch = [r for r in due if r.platform_study_id == prolific_study]
            try:
                setup = prolific_client.bonus_setup(
                    prolific_study, [(r.platform_id, _amount(r)) for r in batch]
                )
                prolific_client.bonus_pay(setup.id)
            except ProlificError as exc:
                _count(report, exc, len(batch))
                for r in batch:
                    _log(
                        study=study,
                        row=r,
                        kind=PaymentAction.Kind.BONUS,
                        ok=False,
                        detail=str(exc),
                        by=by,
                    )
            else:
                report.ok += len(batch)
                for r in batch:
                    detail = f"bulk bonus {setup.id}"
                    _log(
                        study=study,
                        row=r,
                        kind=PaymentAction.Kind.BONUS,
                        ok=True,
                        detail=detail,
                        by=by,
                    )
    if mturk_client is not None:
        for r in _bonuses_due(study, Participant.Source.MTURK):
            try:
                mturk_client.send_bonus(
                    worker_id=r.platform_id,
                    assignment_id=r.submission_id,
                    amount=_amount(r),
                    reason=BONUS_REASON,
                    unique_token=f"elephant-bonus-{study.uid.hex}-{r.participant_id}",
                )
            except MTurkError as exc:
                _count(report, exc)
                _log(
                    study=study,
                    row=r,
                    kind=PaymentAction.Kind.BONUS,
                    ok=False,
                    detail=str(exc),
                    by=by,
                )
            else:
                report.ok += 1
                _log(
                    study=study,
                    row=r,
                    kind=PaymentAction.Kind.BONUS,
                    ok=True,
                    detail="send_bonus",
                    by=by,
                )
    return report


def _amount(row: PaymentRow) -> Decimal:
    assert row.bonus is not None  # _bonuses_due keeps rows with a bonus only
    return row.bonus


def _bonuses_due(study: Study, source: str) -> list[PaymentRow]:
    """Rows owed the bonus: approved (here, or on Prolific at the last sync), not paid yet."""
    return [
        r
        for r in _pending(study, source, APPROVE)
        if r.bonus is not None
        and (APPROVE in r.done or r.platform_status == "APPROVED")
        and PaymentAction.Kind.BONUS not in r.done
    ]


def _count(report: SentReport, exc: Exception, n: int = 1) -> None:
    report.failed += n
    if str(exc) not in report.errors:
        report.errors.append(str(exc))
