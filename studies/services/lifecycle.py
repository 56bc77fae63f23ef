"""A study's life: draft -> live (items frozen) -> closed."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from studies.models import Study, StudyItem

from .preregistration import preregistration_freeze
from .snapshots import snapshots_build

FREEZE_BATCH = 500


def study_launch(*, study: Study) -> Study:
    """Freeze what every item shows (scores included) and the plan; open the study to participants."""
    with transaction.atomic():
        locked = (
            Study.objects.select_for_update().select_related("model", "dataset").get(pk=study.pk)
        )
        if locked.status != Study.Status.DRAFT:
            raise ValidationError(f"study {locked} is {locked.status}; only a draft can go live")
        if not locked.lists.exists():
            raise ValidationError(f"study {locked} has no lists; its design produced no items")
        items = list(StudyItem.objects.filter(study=locked))
        snapshots = snapshots_build(study=locked, items=items)
        for item in items:
            item.frozen = snapshots[item.pk]
        StudyItem.objects.bulk_update(items, ["frozen"], batch_size=FREEZE_BATCH)
        locked.status = Study.Status.LIVE
        locked.launched_at = timezone.now()
        # The plan is frozen in the same transaction: no participant ever meets an unfixed plan.
        frozen = preregistration_freeze(study=locked)
        locked.save(update_fields=["status", "launched_at", *frozen])
    return locked


def study_close(*, study: Study) -> Study:
    """Close a live study: no one enters or answers any more; everything stored stays."""
    with transaction.atomic():
        locked = Study.objects.select_for_update().get(pk=study.pk)
        if locked.status != Study.Status.LIVE:
            raise ValidationError(
                f"study {locked} is {locked.status}; only a live study can be closed"
            )
        locked.status = Study.Status.CLOSED
        locked.closed_at = timezone.now()
        locked.save(update_fields=["status", "closed_at"])
    return locked
