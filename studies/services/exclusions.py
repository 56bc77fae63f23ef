"""Exclusion rules, applied with a logged reason and reversible.

Rules look at test, attention-check and gold trials only (practice never counts):

- ``failed_checks``: more than ``max_failed_checks`` attention checks or gold items failed;
- ``too_fast``: the median server-measured time per answered trial (render to answer) is
  below ``min_median_seconds``;
- ``straight_lining``: every test answer (at least ``straight_lining_min`` of them) has the
  same :meth:`~studies.types.base.StudyType.straightline_key` (same rating, same side).

Applying never deletes anything and never excludes twice for the same rule; revoking
stamps the exclusion, which stays in the log.
"""

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from studies.models import Exclusion, Participant, Response, Study
from studies.types.base import get_type

from .snapshots import trial_view_of


@dataclass(frozen=True)
class ExclusionRules:
    max_failed_checks: int | None = 0
    min_median_seconds: float | None = None
    straight_lining: bool = True
    straight_lining_min: int = 4


def _evaluate(study: Study, rules: ExclusionRules) -> dict[int, list[tuple[str, str]]]:
    kind = get_type(study.study_type)
    failed: dict[int, int] = defaultdict(int)
    checks: dict[int, int] = defaultdict(int)
    durations: dict[int, list[float]] = defaultdict(list)
    keys: dict[int, list[Hashable]] = defaultdict(list)
    for response in (
        Response.objects.filter(participant__study=study)
        .exclude(trial__role="practice")
        .select_related("trial__item")
        .order_by("participant_id", "trial__position")
    ):
        pid = response.participant_id
        trial = response.trial
        if response.passed is not None:
            checks[pid] += 1
            failed[pid] += 0 if response.passed else 1
        if response.server_duration_ms is not None:
            durations[pid].append(response.server_duration_ms / 1000)
        if trial.role == "test":
            view = trial_view_of(study=study, trial=trial)
            keys[pid].append(kind.straightline_key(view, response.value))
    found: dict[int, list[tuple[str, str]]] = defaultdict(list)
    if rules.max_failed_checks is not None:
        for pid, n in failed.items():
            if n > rules.max_failed_checks:
                found[pid].append(
                    (
                        Exclusion.Rule.FAILED_CHECKS,
                        f"failed {n} of {checks[pid]} attention checks and gold items "
                        f"(allowed: {rules.max_failed_checks})",
                    )
                )
    if rules.min_median_seconds is not None:
        for pid, times in durations.items():
            if times and median(times) < rules.min_median_seconds:
                found[pid].append(
                    (
                        Exclusion.Rule.TOO_FAST,
                        f"median time per trial {median(times):.2f} s "
                        f"< {rules.min_median_seconds:g} s over {len(times)} trials",
                    )
                )
    if rules.straight_lining:
        for pid, answers in keys.items():
            if len(answers) >= rules.straight_lining_min and len(set(answers)) == 1:
                found[pid].append(
                    (
                        Exclusion.Rule.STRAIGHT_LINING,
                        f"the same answer ({answers[0]!r}) on all {len(answers)} test trials",
                    )
                )
    return found


def exclusions_apply(*, study: Study, rules: ExclusionRules, by: User | None) -> list[Exclusion]:
    """Exclude every participant a rule catches (once per rule); return the new exclusions."""
    found = _evaluate(study, rules)
    created = []
    with transaction.atomic():
        active = set(
            Exclusion.objects.filter(study=study, revoked_at__isnull=True).values_list(
                "participant_id", "rule"
            )
        )
        for pid, hits in sorted(found.items()):
            for rule, reason in hits:
                if (pid, rule) in active:
                    continue
                created.append(
                    Exclusion.objects.create(
                        study=study, participant_id=pid, rule=rule, reason=reason, created_by=by
                    )
                )
    return created


def exclusion_create(*, participant: Participant, reason: str, by: User | None) -> Exclusion:
    """Exclude one participant by hand, with a reason."""
    if not reason.strip():
        raise ValidationError({"reason": "give a reason for the exclusion"})
    with transaction.atomic():
        if Exclusion.objects.filter(
            participant=participant, rule=Exclusion.Rule.MANUAL, revoked_at__isnull=True
        ).exists():
            raise ValidationError({"reason": "this participant is already excluded by hand"})
        return Exclusion.objects.create(
            study_id=participant.study_id,
            participant=participant,
            rule=Exclusion.Rule.MANUAL,
            reason=reason.strip(),
            created_by=by,
        )


def exclusion_revoke(
    *, exclusion: Exclusion, by: User | None, now: datetime | None = None
) -> Exclusion:
    """Revoke an exclusion: the participant counts again; the log keeps both stamps."""
    with transaction.atomic():
        locked = Exclusion.objects.select_for_update().get(pk=exclusion.pk)
        if locked.revoked_at is not None:
            raise ValidationError("this exclusion is already revoked")
        locked.revoked_at = now or timezone.now()
        locked.revoked_by = by
        locked.save(update_fields=["revoked_at", "revoked_by"])
    return locked
