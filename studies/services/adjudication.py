"""Record a lead reviewer's (or the researcher's) final flags on an expert-review item.

Decisions are appended, never changed: deciding again adds rows and the latest counts.
Each submission carries an idempotency key, so a double click stores it once.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from explanations.io.limits import nul_at, nul_message
from studies.models import Adjudication, Invitation, Response, Study, StudyItem
from studies.types.base import get_type

MAX_COMMENT = 2000
MAX_KEY = 64
MIN_REVIEWS = 2


@dataclass(frozen=True)
class Decision:
    """The final flag on one explanation (by method name), with an optional comment."""

    flag: str
    comment: str = ""


def adjudication_record(
    *,
    study: Study,
    item_id: int,
    decisions: Mapping[str, Decision],
    idempotency_key: str,
    invitation: Invitation | None = None,
    user: AbstractBaseUser | None = None,
) -> tuple[list[Adjudication], bool]:
    """Store the decisions on item ``item_id``; return the rows and whether they are new.

    Made by the lead's ``invitation`` or by the researcher ``user`` (exactly one). Raise
    ValidationError naming what is wrong: an item of another study or not yet reviewed
    twice, a method the item does not show, a flag the study does not offer.
    """
    if (invitation is None) == (user is None):
        raise ValidationError("an adjudication is made by the lead reviewer or the researcher")
    key = (idempotency_key or "").strip()
    if not key or len(key) > MAX_KEY or "\x00" in key:
        raise ValidationError(
            f"every decision needs an idempotency key of 1 to {MAX_KEY} characters, no NUL"
        )
    stored = list(Adjudication.objects.filter(idempotency_key=key, study=study))
    if stored:
        return stored, False
    if not get_type(study.study_type).has_adjudication or study.status == Study.Status.DRAFT:
        raise ValidationError(f"study {study} has no expert reviews to adjudicate")
    item = StudyItem.objects.filter(study=study, pk=item_id, role=StudyItem.Role.TEST).first()
    if item is None:
        raise ValidationError({"item": f"item {item_id} is not a reviewed item of study {study}"})
    reviews = Response.objects.filter(trial__item=item, trial__role=StudyItem.Role.TEST).count()
    if reviews < MIN_REVIEWS:
        raise ValidationError(
            {
                "item": f"item {item_id} has {reviews} review(s); adjudicate once two experts reviewed it"
            }
        )
    if not decisions:
        raise ValidationError({"decisions": "decide on at least one explanation"})
    flags = list(study.type_options.get("flags", []))
    errors: dict[str, str] = {}
    for method, decision in decisions.items():
        if method not in item.methods:
            errors[method] = f"item {item_id} shows no explanation by {method!r}"
        elif decision.flag not in flags:
            errors[method] = f"flag {decision.flag!r}: expected one of {', '.join(flags)}"
        elif len(decision.comment) > MAX_COMMENT:
            errors[method] = f"keep the comment under {MAX_COMMENT} characters"
        elif position := nul_at(decision.comment):
            errors[method] = f"the comment {nul_message(position)}"
    if errors:
        raise ValidationError(errors)
    rows = [
        Adjudication(
            study=study,
            item=item,
            method=method,
            flag=decision.flag,
            comment=decision.comment.strip(),
            invitation=invitation,
            user=user,  # type: ignore[misc]  # an authenticated researcher
            idempotency_key=key,
        )
        for method, decision in sorted(decisions.items())
    ]
    try:
        with transaction.atomic():
            created = Adjudication.objects.bulk_create(rows)
    except IntegrityError:
        return list(Adjudication.objects.filter(idempotency_key=key, study=study)), False
    return created, True
