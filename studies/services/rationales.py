"""Turn rationale-annotation answers into :class:`~explanations.models.HumanRationale` rows.

Each answered test or gold trial of a study whose type ``produces_rationales``
(rationale annotation) becomes one rationale
of the trial's instance, with ``source="study"`` and the annotator
``study<study id>:participant<participant id>``, so the plausibility scores
(``compute_scores``) count it like any imported rationale. The response stays the record;
the rationale row is derived from it and created once (the pair instance/annotator is
unique), so running the sync again changes nothing.
"""

from django.db import transaction

from explanations.models import HumanRationale
from studies.models import Response, StudyItem
from studies.types.base import type_names_where

SOURCE = "study"
ROLES = (StudyItem.Role.TEST, StudyItem.Role.GOLD)


def rationale_annotator(*, study_id: int, participant_id: int) -> str:
    """Return the annotator name of a participant's rationales (``study3:participant12``)."""
    return f"study{study_id}:participant{participant_id}"


def rationales_sync(*, instance_id: int | None = None, study_id: int | None = None) -> int:
    """Create the missing rationale rows of rationale-annotation answers; return how many.

    Limit the work to one instance (after each answer) or one study; with neither, sync
    every study whose type produces rationales.
    """
    answers = Response.objects.filter(
        trial__item__study__study_type__in=type_names_where("produces_rationales"),
        trial__role__in=ROLES,
    )
    if instance_id is not None:
        answers = answers.filter(trial__item__instance_id=instance_id)
    if study_id is not None:
        answers = answers.filter(trial__item__study_id=study_id)
    rows = [
        HumanRationale(
            instance_id=item_instance,
            annotator=rationale_annotator(study_id=item_study, participant_id=participant),
            token_indices=sorted(int(i) for i in value["indices"]),
            source=SOURCE,
        )
        for participant, item_instance, item_study, value in answers.values_list(
            "participant_id", "trial__item__instance_id", "trial__item__study_id", "value"
        )
    ]
    if not rows:
        return 0
    with transaction.atomic():
        existing = set(
            HumanRationale.objects.filter(
                instance_id__in={r.instance_id for r in rows},
                annotator__in={r.annotator for r in rows},
            ).values_list("instance_id", "annotator")
        )
        missing = [r for r in rows if (r.instance_id, r.annotator) not in existing]
        HumanRationale.objects.bulk_create(missing, ignore_conflicts=True)
    return len(missing)
