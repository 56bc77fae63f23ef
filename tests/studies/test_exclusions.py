"""Exclusion rules: failed checks, too fast, straight-lining; logged, never doubled, reversible."""

from datetime import timedelta

import pytest
from django.utils import timezone

from studies.models import Exclusion, Response, Trial
from studies.selectors import responses_for_analysis, trial_current
from studies.services.assignment import EntryIds, participant_enter
from studies.services.exclusions import ExclusionRules, exclusion_revoke, exclusions_apply
from studies.services.participants import participant_consent
from studies.services.responses import response_submit

from .factories import make_study
from .flow import good_answer

pytestmark = pytest.mark.django_db


def run(study, pid, *, fail_checks=False, seconds=5.0):
    participant = participant_enter(study=study, ids=EntryIds(source="prolific", prolific_pid=pid))
    participant_consent(participant=participant, agree=True)
    start = timezone.now()
    k = 0
    while (trial := trial_current(participant.assignment)) is not None:
        trial = Trial.objects.select_related("item").get(pk=trial.pk)
        shown = start + timedelta(seconds=k * 60)
        Trial.objects.filter(pk=trial.pk).update(shown_at=shown)
        answer = good_answer(trial)
        if fail_checks and trial.item.expected:
            answer = {"rating": str(trial.item.expected["max"] % 5 + 1)}
        response_submit(
            participant=participant,
            trial_id=trial.pk,
            data=answer,
            idempotency_key=f"{pid}-{trial.pk}",
            now=shown + timedelta(seconds=seconds),
        )
        k += 1
    return participant


def test_rules_catch_the_right_people_once_and_revoking_is_logged(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, ratings_per_item=3)
    careful = run(study, "careful", seconds=6)
    careless = run(study, "careless", fail_checks=True, seconds=6)
    fast = run(study, "fast", seconds=0.5)
    rules = ExclusionRules(max_failed_checks=0, min_median_seconds=2, straight_lining=False)
    created = exclusions_apply(study=study, rules=rules, by=researcher)
    found = {(e.participant_id, e.rule) for e in created}
    assert found == {(careless.pk, "failed_checks"), (fast.pk, "too_fast")}
    reasons = {e.rule: e.reason for e in created}
    assert reasons["failed_checks"] == "failed 2 of 2 attention checks and gold items (allowed: 0)"
    assert (
        reasons["too_fast"] == "median time per trial 0.50 s < 2 s over 8 trials"
    )  # practice never counts
    assert exclusions_apply(study=study, rules=rules, by=researcher) == []  # never doubled
    rows = responses_for_analysis(study)
    assert {r["participant_id"] for r in rows if r["excluded"]} == {careless.pk, fast.pk}
    assert not any(r["excluded"] for r in rows if r["participant_id"] == careful.pk)
    exclusion = Exclusion.objects.get(participant=fast)
    exclusion_revoke(exclusion=exclusion, by=researcher)
    assert not any(
        r["excluded"] for r in responses_for_analysis(study) if r["participant_id"] == fast.pk
    )
    assert Exclusion.objects.filter(study=study).count() == 2  # the log keeps the revoked one
    assert Response.objects.filter(participant__study=study).count() == 27  # nothing deleted
