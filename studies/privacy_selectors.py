"""Reads for participants' privacy: pseudonyms, the deletion log, finding whom to delete.

Exports name participants by :attr:`~studies.models.Participant.pseudonym` only; these reads
give the pseudonyms of a whole study at once (one query) and the deletion log in the form
the bundle's manifest lists it.
"""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Q

from .models import Participant, ParticipantDeletion, Study
from .pseudonyms import looks_like_pseudonym, participant_pseudonym
from .selectors import studies_visible_to


def study_manageable(user: AbstractBaseUser | AnonymousUser, study: Study) -> bool:
    """Return whether ``user`` may manage ``study`` (its owner, or a superuser)."""
    return studies_visible_to(user).filter(pk=study.pk).exists()


def pseudonyms_of(study: Study) -> dict[int, str]:
    """Return the pseudonym of each of the study's participants, by participant pk."""
    return {
        pk: participant_pseudonym(study.pseudonym_secret, uid)
        for pk, uid in Participant.objects.filter(study=study).values_list("pk", "uid")
    }


def participant_by_pseudonym(study: Study, pseudonym: str) -> Participant | None:
    """Return the study's participant with ``pseudonym``, or None."""
    pk = next((pk for pk, p in pseudonyms_of(study).items() if p == pseudonym), None)
    return None if pk is None else Participant.objects.filter(pk=pk).first()


def participant_by_platform_id(study: Study, platform_id: str) -> Participant | None:
    """Return the study's participant whose Prolific PID or MTurk worker id is ``platform_id``."""
    return (
        Participant.objects.filter(study=study)
        .filter(Q(prolific_pid=platform_id) | Q(mturk_worker_id=platform_id))
        .first()
    )


def deletion_of(study: Study, pseudonym: str) -> ParticipantDeletion | None:
    """Return the logged deletion of the participant with ``pseudonym``, or None."""
    return ParticipantDeletion.objects.filter(study=study, pseudonym=pseudonym).first()


def participant_to_delete(
    study: Study, *, platform_id: str | None = None, pseudonym: str | None = None
) -> Participant:
    """Return the participant named by exactly one of ``platform_id`` and ``pseudonym``.

    Raise ValidationError naming the field when neither or both are given, or nobody in the
    study has that id (saying so when the pseudonym's data was already deleted).
    """
    given = [
        name for name, value in (("platform_id", platform_id), ("pseudonym", pseudonym)) if value
    ]
    if len(given) != 1:
        raise ValidationError({"platform_id": "give exactly one of a platform id or a pseudonym"})
    if pseudonym:
        pseudonym = pseudonym.strip()
        if not looks_like_pseudonym(pseudonym):
            raise ValidationError(
                {"pseudonym": f"{pseudonym!r} is not a pseudonym; expected p_ and 16 hex digits"}
            )
        found = participant_by_pseudonym(study, pseudonym)
        if found is None:
            done = deletion_of(study, pseudonym)
            if done is not None:
                raise ValidationError(
                    {
                        "pseudonym": f"participant {pseudonym} was already deleted on "
                        f"{done.deleted_at:%Y-%m-%d %H:%M} UTC"
                    }
                )
            raise ValidationError({"pseudonym": f"no such participant in this study: {pseudonym}"})
        return found
    assert platform_id is not None  # exactly one was given
    found = participant_by_platform_id(study, platform_id.strip())
    if found is None:
        raise ValidationError(
            {
                "platform_id": "no such participant in this study (no Prolific PID or MTurk "
                "worker id matches; a deleted participant's ids are deleted with them, and "
                "erase_platform_ids erases them after the retention period)"
            }
        )
    return found


def deletions_of(study: Study) -> list[dict[str, Any]]:
    """Return the study's deletion log as the manifest lists it: pseudonym, when, answers."""
    return [
        {
            "pseudonym": d.pseudonym,
            "when": d.deleted_at.isoformat(),
            "answers": d.answers,
            "questionnaire_answers": d.questionnaire_answers,
            "rationales": d.rationales,
        }
        for d in ParticipantDeletion.objects.filter(study=study).order_by("deleted_at", "pk")
    ]


def rows_pseudonymised(study: Study, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Return export rows with ``participant_id`` as the pseudonym and no ``external_id``."""
    pseudonyms = pseudonyms_of(study)
    return [
        {
            **{key: value for key, value in row.items() if key != "external_id"},
            **(
                {"participant_id": pseudonyms[row["participant_id"]]}
                if "participant_id" in row
                else {}
            ),
        }
        for row in rows
    ]
