"""Simulated participants: fill a live study with plausible answers, clearly marked.

Simulated people enter, consent, answer and complete through the same services as real
ones (``studies.services``), so every answer passes the study type's own validation,
idempotency and ordering checks. They enter by an invitation labelled
``[simulated] participant N (seed S)`` and carry ``Participant.simulated``, which every
page, CSV and report shows.

How they answer is a caricature, not a model of people, meant for demos and tests: each
study type's analysis module (``analysis/types/<type>.py``) holds its answerer, drawing
from a :class:`~analysis.types.base.SimulatedPerson`.
"""

import statistics
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

from analysis.types.base import SIGNAL_METRICS, Signal, SimulatedPerson, get_analysis
from studies.models import Participant, Study, StudyItem, StudyList, Trial
from studies.services.assignment import EntryIds, participant_enter
from studies.services.invitations import invitations_create
from studies.services.participants import (
    participant_complete,
    participant_consent,
    participant_instructions_read,
    questionnaire_submit,
)
from studies.services.responses import response_submit, trial_mark_shown
from studies.services.snapshots import trial_view_of

SIMULATED_PREFIX = "[simulated]"


def simulated_label(seed: int, index: int) -> str:
    """Return the invitation label of simulated participant ``index`` of run ``seed``."""
    return f"{SIMULATED_PREFIX} participant {index + 1} (seed {seed})"


def simulated_participant_ids(study: Study) -> set[int]:
    """Return the ids of the study's simulated participants."""
    return set(Participant.objects.filter(study=study, simulated=True).values_list("pk", flat=True))


def _signal(study: Study) -> Signal:
    """Return the faithfulness metric steering the judgements, its mean and sd over items."""
    values: dict[str, list[float]] = {}
    for frozen in StudyItem.objects.filter(study=study, role=StudyItem.Role.TEST).values_list(
        "frozen", flat=True
    ):
        for explanation in frozen.get("explanations", []):
            for score in explanation.get("metric_scores", []):
                if score.get("value") is not None and score["metric"] in SIGNAL_METRICS:
                    values.setdefault(score["metric"], []).append(float(score["value"]))
    for metric in SIGNAL_METRICS:
        found = values.get(metric, [])
        if len(found) >= 2:
            spread = statistics.pstdev(found)
            return metric, statistics.fmean(found), spread if spread > 0 else 1.0
    return None, 0.0, 1.0


def _questionnaire(person: SimulatedPerson, study: Study) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for question in study.questionnaire.all():
        if question.kind == question.Kind.LIKERT:
            answers[question.key] = person.rng.randint(1, question.points or 1)
        elif question.required:
            answers[question.key] = "(simulated participant)"
    return answers


def _free_places(study: Study) -> int:
    free = StudyList.objects.filter(study=study).aggregate(free=Sum(F("target") - F("filled")))
    return int(free["free"] or 0)


def _run_one(
    study: Study, person: SimulatedPerson, participant: Participant, start: datetime
) -> None:
    """Take one participant from consent to completion, on a clock that starts at ``start``."""
    now = start
    participant = participant_consent(participant=participant, agree=True, now=now)
    now += timedelta(seconds=20)
    participant_instructions_read(participant=participant, now=now)
    analysis = get_analysis(study.study_type)
    for trial in Trial.objects.filter(assignment__participant=participant).select_related("item"):
        now += timedelta(seconds=0.5)
        trial_mark_shown(trial=trial, now=now)
        person.start_trial(trial)
        view = trial_view_of(study=study, trial=trial)
        took = timedelta(seconds=person.seconds())
        now += took
        response_submit(
            participant=participant,
            trial_id=trial.pk,
            data=analysis.answer(person, view, trial.item.instance_id),
            idempotency_key=f"sim-{participant.uid.hex}-{trial.position}",
            client_duration_ms=max(0, round(took.total_seconds() * 1000) - 40),
            now=now,
        )
    now += timedelta(seconds=30)
    if study.questionnaire.exists():
        questionnaire_submit(participant=participant, data=_questionnaire(person, study), now=now)
    else:
        participant_complete(participant=participant, now=now)


def participants_simulate(*, study: Study, n: int, seed: int = 0) -> int:
    """Create up to ``n`` simulated participants who complete ``study``; return how many.

    The study must be live and accept invited participants (simulated ones enter by an
    invitation labelled ``[simulated] ...``). Stops early, without turning anyone away,
    when every list is full. All or nothing: a failure leaves no simulated participant.
    Given ``seed``, each simulated participant answers the same item the same way whatever
    the order of their trials (timings aside).
    """
    if n < 0:
        raise ValidationError({"n": f"expected a number of participants >= 0, got {n}"})
    try:
        get_analysis(study.study_type)
    except ValidationError as exc:
        raise ValidationError(
            {
                "study_type": f"cannot simulate participants of a {study.study_type} study: {exc.message}"
            }
        ) from None
    if study.status != Study.Status.LIVE:
        raise ValidationError(f"study {study} is {study.status}; only a live study takes answers")
    count = min(n, _free_places(study))
    if count == 0:
        return 0
    signal = _signal(study)
    already = Participant.objects.filter(study=study, simulated=True).count()
    with transaction.atomic():
        invitations = invitations_create(
            study=study,
            labels=[simulated_label(seed, already + k) for k in range(count)],
        )
        for k, invitation in enumerate(invitations):
            person = SimulatedPerson(seed=seed, index=already + k, signal=signal)
            participant = participant_enter(
                study=study,
                ids=EntryIds(source=Participant.Source.INVITED),
                invitation=invitation,
                simulated=True,
            )
            # The clock starts when they enter and runs at simulated speed, so a session
            # ends a few minutes after the real time of the simulation.
            _run_one(study, person, participant, max(timezone.now(), participant.entered_at))
    return count
