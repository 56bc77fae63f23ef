"""Single-use invitation links for experts."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.db import transaction

from studies.models import Invitation, Participant, Study


def invitations_create(*, study: Study, labels: Sequence[str]) -> list[Invitation]:
    """Create one invitation per label (who it is for); return them in order."""
    cleaned = [label.strip() for label in labels if label.strip()]
    if not cleaned:
        raise ValidationError({"labels": "name at least one invitee"})
    if Participant.Source.INVITED not in study.sources:
        raise ValidationError({"labels": "this study does not accept invited participants"})
    with transaction.atomic():
        invitations = []
        for label in cleaned:
            invitation = Invitation(study=study, label=label[:200])
            invitation.full_clean(exclude=["study"])
            invitation.save()
            invitations.append(invitation)
    return invitations
