"""Participants' data (issue #16): deletion on request and retention of platform ids.

Deletion (:func:`participant_data_delete`) removes a participant and everything derived from
their answers, in one transaction: the responses, the questionnaire answers, the human
rationales a rationale-annotation study made of them, the adjudications made through their
invitation, their assignment with its trials, and their exclusions. Only a
:class:`~studies.models.ParticipantDeletion` row stays: pseudonym, when, by whom, how many
answers, never a platform id. Every later analysis and export is computed from what is left
(the analysis cache is keyed by a fingerprint of the participants and answers, so a
deletion makes the cached result unreachable; it is rebuilt on the next request).

The place the participant held on their list stays taken: the list's ``filled`` count is
not lowered, so nobody else is given it automatically (a researcher who wants it filled
again raises the study's places by hand). Their platform ids are deleted with them, so the
same Prolific or MTurk account could enter again as a new participant.

Retention (:func:`platform_ids_erase`): ``ELEPHANT_PLATFORM_ID_RETENTION_DAYS`` after a study
closes, the Prolific and MTurk ids of its participants are blanked. Pseudonyms are keyed on
the participant's internal uid, so they do not change.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from explanations.models import HumanRationale
from studies.models import (
    Adjudication,
    Participant,
    ParticipantDeletion,
    QuestionnaireAnswer,
    Response,
    Study,
)
from studies.privacy_selectors import participant_to_delete, study_manageable

from .rationales import SOURCE as RATIONALE_SOURCE
from .rationales import rationale_annotator

logger = logging.getLogger(__name__)

# What a recruitment platform calls a person or their session; erased by retention.
PLATFORM_ID_FIELDS = (
    "prolific_pid",
    "prolific_study_id",
    "prolific_session_id",
    "mturk_worker_id",
    "mturk_assignment_id",
    "mturk_hit_id",
)


def participant_data_delete(
    *,
    study: Study,
    actor: User | None,
    platform_id: str | None = None,
    pseudonym: str | None = None,
    reason: str = "",
) -> ParticipantDeletion:
    """Delete one participant's answers and everything derived from them; return the log row.

    Name the participant by exactly one of ``platform_id`` (Prolific PID or MTurk worker id)
    and ``pseudonym``. ``actor`` must manage the study (PermissionDenied otherwise); None is
    the operator at the command line. Raise ValidationError naming the field for an unknown
    or already deleted participant. All or nothing.
    """
    if actor is not None and not study_manageable(actor, study):
        raise PermissionDenied("only the study's owner may delete its participants' data")
    with transaction.atomic():
        participant = participant_to_delete(study, platform_id=platform_id, pseudonym=pseudonym)
        participant = (
            # of=self: PostgreSQL cannot lock the nullable side of the invitation's outer join
            Participant.objects.select_for_update(of=("self",))
            .select_related("study", "invitation")
            .get(pk=participant.pk)
        )
        name = participant.pseudonym
        answers = Response.objects.filter(participant=participant)
        questionnaire = QuestionnaireAnswer.objects.filter(participant=participant)
        rationales = HumanRationale.objects.filter(
            source=RATIONALE_SOURCE,
            annotator=rationale_annotator(study_id=study.pk, participant_id=participant.pk),
        )
        counts = {
            "answers": answers.count(),
            "questionnaire_answers": questionnaire.count(),
            "rationales": rationales.count(),
        }
        rationales.delete()
        answers.delete()
        questionnaire.delete()
        if participant.invitation is not None:
            Adjudication.objects.filter(invitation=participant.invitation).delete()
        # Cascades to the assignment, its trials and the exclusions; the list keeps its
        # filled count, so the place is not handed to anyone else.
        source = participant.source
        participant.delete()
        log = ParticipantDeletion(
            study=study,
            pseudonym=name,
            source=source,
            reason=reason.strip(),
            deleted_by=actor,
            **counts,
        )
        log.full_clean(exclude=["study", "deleted_by"])
        try:
            with transaction.atomic():
                log.save()
        except IntegrityError as exc:  # a concurrent request deleted them first
            raise ValidationError({"pseudonym": f"participant {name} was already deleted"}) from exc
    logger.info(
        "study %s: deleted participant %s (%s answers) by %s",
        study.pk,
        name,
        counts["answers"],
        actor.get_username() if actor is not None else "the command line",
    )
    return log


@dataclass(frozen=True)
class Erasure:
    """The platform ids of one closed study, erased (or, in a dry run, to be erased)."""

    study_id: int
    study_name: str
    closed_at: datetime
    participants: int
    ids: int


def retention_cutoff(*, now: datetime | None = None, days: int | None = None) -> datetime:
    """Return the closing time before which a study's platform ids are erased."""
    days = settings.ELEPHANT_PLATFORM_ID_RETENTION_DAYS if days is None else days
    if days < 0:
        raise ValidationError({"days": f"expected a number of days >= 0, got {days}"})
    return (now or timezone.now()) - timedelta(days=days)


def platform_ids_erase(
    *, now: datetime | None = None, days: int | None = None, dry_run: bool = False
) -> list[Erasure]:
    """Erase the platform ids of the participants of studies closed more than ``days`` ago.

    ``days`` defaults to ``ELEPHANT_PLATFORM_ID_RETENTION_DAYS``. Return what was erased, one
    :class:`Erasure` per study with ids left; ``dry_run`` changes nothing. Pseudonyms stay.
    """
    now = now or timezone.now()
    cutoff = retention_cutoff(now=now, days=days)
    has_ids = Q()
    for field in PLATFORM_ID_FIELDS:
        has_ids |= ~Q(**{field: ""})
    done = []
    studies = Study.objects.filter(
        status=Study.Status.CLOSED, closed_at__isnull=False, closed_at__lte=cutoff
    ).order_by("closed_at", "pk")
    for study in studies:
        with transaction.atomic():
            holders = Participant.objects.select_for_update().filter(has_ids, study=study)
            rows = list(holders.values_list(*PLATFORM_ID_FIELDS))
            if not rows:
                continue
            assert study.closed_at is not None  # filtered above
            erasure = Erasure(
                study_id=study.pk,
                study_name=study.name,
                closed_at=study.closed_at,
                participants=len(rows),
                ids=sum(bool(value) for row in rows for value in row),
            )
            if not dry_run:
                holders.update(**dict.fromkeys(PLATFORM_ID_FIELDS, ""))
                Study.objects.filter(pk=study.pk).update(platform_ids_erased_at=now)
                logger.info(
                    "study %s: erased %s platform ids of %s participants (closed %s)",
                    study.pk,
                    erasure.ids,
                    erasure.participants,
                    study.closed_at.isoformat(),
                )
        done.append(erasure)
    return done
