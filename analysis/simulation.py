"""Simulated participants: fill a live study with plausible, clearly marked answers.

Simulated people enter, consent, answer and complete through the same services as real
ones (``studies.services``), so every answer passes the study type's own validation,
idempotency and ordering checks. Until ``Participant`` has a field for it, a simulated
participant is an *invited* participant whose invitation label starts with
:data:`SIMULATED_PREFIX`; :func:`simulated_participant_ids` is the one place that reads
the marker, and every page, CSV and report shows it.

How they answer (a caricature, not a model of people, meant for demos and tests):

* each participant has a leniency ``b ~ N(0, 0.5)`` and is *careless* with probability
  :data:`CARELESS_SHARE`; a careless participant answers at random (or always picks the
  left side), quickly, and passes an attention check only with probability 0.4;
* an attentive participant's latent judgement of an explanation is
  ``0.6 z + b + v_item + e`` with ``z`` the explanation's faithfulness score standardised
  over the study's items (:data:`SIGNAL_METRICS`, first one present), ``v_item ~ N(0, 0.4)``
  shared by everyone and ``e ~ N(0, 0.8)``; ratings map it onto the scale, preferences pick
  the side with the larger judgement; checks and gold items are passed with probability 0.95;
* in an aided task they label the text correctly with probability 0.75 (0.85 with
  highlights) and, when the model's prediction is shown, follow it 60% of the time;
* in forward and counterfactual simulation they predict the model's output right with
  probability 0.55 before explanations and 0.7 after (0.6 in the control condition);
* in an expert review they rate each criterion from their judgement of the explanation and
  flag it with the study's first flag (e.g. correct) when it is positive, else the second;
* in rationale annotation everyone marks the same one to three words of an item (chosen
  per item), sometimes adding one more.
"""

import math
import statistics
from collections.abc import Mapping
from datetime import datetime, timedelta
from random import Random
from string import ascii_uppercase
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Sum
from django.utils import timezone

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
from studies.services.snapshots import trial_view
from studies.types.base import TrialView

SIMULATED_PREFIX = "[simulated]"
CARELESS_SHARE = 0.12
SIGNAL_METRICS = ("comprehensiveness_aopc", "sufficiency_aopc", "decision_flip", "tau_loo")
SIGNAL_WEIGHT = 0.6


def simulated_label(seed: int, index: int) -> str:
    """Return the invitation label of simulated participant ``index`` of run ``seed``."""
    return f"{SIMULATED_PREFIX} participant {index + 1} (seed {seed})"


def simulated_participant_ids(study: Study) -> set[int]:
    """Return the ids of the study's simulated participants."""
    return set(
        Participant.objects.filter(
            study=study, invitation__label__startswith=SIMULATED_PREFIX
        ).values_list("pk", flat=True)
    )


def _signal(study: Study) -> tuple[str | None, float, float]:
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


class _Person:
    """One simulated participant's traits and random stream."""

    def __init__(self, *, seed: int, index: int, signal: tuple[str | None, float, float]) -> None:
        self.rng = Random(f"elephant-simulation:{seed}:{index}")
        self.seed = seed
        self.index = index
        self.careless = self.rng.random() < CARELESS_SHARE
        self.leniency = self.rng.gauss(0.0, 0.5)
        self.metric, self.mean, self.sd = signal

    def start_trial(self, trial: Trial) -> None:
        """Seed this trial's draws by what it shows, so answers do not depend on the order."""
        item = trial.item
        key = f"{item.instance_id}:{item.role}:{'|'.join(item.methods)}:{trial.phase}"
        self.rng = Random(f"elephant-simulation:{self.seed}:{self.index}:{key}")

    def judgement(self, explanation: Mapping[str, Any], instance_id: int) -> float:
        """Return the latent judgement (standard units) of one shown explanation."""
        z = 0.0
        for score in explanation.get("metric_scores", []):
            if score["metric"] == self.metric and score.get("value") is not None:
                z = (float(score["value"]) - self.mean) / self.sd
        shared = Random(f"elephant-simulation:{self.seed}:item:{instance_id}")
        item_effect = shared.gauss(0.0, 0.4)
        return SIGNAL_WEIGHT * z + self.leniency + item_effect + self.rng.gauss(0.0, 0.8)

    def complies(self) -> bool:
        """Return whether this participant follows an instruction or knows a gold answer."""
        return self.rng.random() < (0.4 if self.careless else 0.95)

    def seconds(self) -> float:
        """Return how long one trial takes."""
        centre = 1.2 if self.careless else 6.0
        return float(centre * math.exp(self.rng.gauss(0.0, 0.35)))


def _rating(person: _Person, view: TrialView, instance_id: int) -> dict[str, Any]:
    slider = view.options["scale"] == "slider"
    low, high = (0, 100) if slider else (1, int(view.options["points"]))
    expected = view.expected or {}
    if expected:
        if person.complies():
            value = person.rng.randint(int(expected["min"]), int(expected["max"]))
        else:
            outside = [
                v for v in range(low, high + 1) if not expected["min"] <= v <= expected["max"]
            ]
            value = person.rng.choice(outside or [low])
    elif person.careless:
        value = person.rng.randint(low, high)
    else:
        latent = person.judgement(view.snapshot["explanations"][0], instance_id)
        middle = (low + high) / 2
        value = round(middle + latent * (high - low) / 4)
    value = min(max(value, low), high)
    comment = (
        "simulated comment" if view.options.get("comment") and person.rng.random() < 0.1 else ""
    )
    return {"rating": value, "comment": comment}


def _preference(person: _Person, view: TrialView, instance_id: int) -> dict[str, Any]:
    explanations = view.snapshot["explanations"]
    left, right = view.payload["sides"]
    expected = view.expected or {}
    if "side" in expected:
        other = "right" if expected["side"] == "left" else "left"
        choice = expected["side"] if person.complies() else other
    elif "method" in expected:
        good = "left" if explanations[left]["method"] == expected["method"] else "right"
        choice = good if person.complies() else ("right" if good == "left" else "left")
    elif person.careless:
        choice = "left"
    else:
        # Judge in the frozen order, so the sides drawn for this participant do not matter.
        judged = [person.judgement(e, instance_id) for e in explanations]
        choice = "left" if judged[left] > judged[right] else "right"
    return {"choice": choice, "comment": ""}


def _label(person: _Person, view: TrialView, instance_id: int) -> dict[str, Any]:
    snap = view.snapshot
    n_labels = len(snap["label_names"])
    expected = view.expected or {}
    gold = snap.get("gold_label")
    model = snap["prediction"]["label"]
    if "label" in expected or expected.get("gold_label"):
        wanted = expected.get("label", gold)
        wrong = [k for k in range(n_labels) if k != wanted]
        label = wanted if person.complies() or not wrong else person.rng.choice(wrong)
    elif person.careless or gold is None:
        label = person.rng.randrange(n_labels)
    elif view.payload.get("show_prediction") and person.rng.random() < 0.6:
        label = model  # relies on the model, right or wrong
    else:
        right = 0.85 if snap["explanations"] else 0.75
        label = gold if person.rng.random() < right else person.rng.randrange(n_labels)
    # Posted as strings, like the participant's form.
    answer: dict[str, Any] = {"label": str(label)}
    if view.options.get("ask_confidence"):
        answer["confidence"] = str(person.rng.randint(1, int(view.options["confidence_points"])))
    return answer


def _rationale(person: _Person, view: TrialView, instance_id: int) -> dict[str, Any]:
    n_tokens = len(view.snapshot["instance"]["tokens"])
    low = int(view.options.get("min_tokens") or 1)
    high = int(view.options.get("max_tokens") or n_tokens)
    expected = view.expected or {}
    known = [
        i
        for e in view.snapshot.get("explanations", [])
        if e["method"] == "human_rationale"
        for i, score in enumerate(e["scores"])
        if score > 0.5
    ]
    if "indices" in expected and person.complies():
        marked = list(expected["indices"])
    elif known and person.complies():
        marked = known
    elif person.careless:
        marked = person.rng.sample(range(n_tokens), min(n_tokens, max(low, 1)))
    else:
        # Everyone sees the same "important" words of an item, and adds or drops one.
        shared = Random(f"elephant-simulation:{person.seed}:rationale:{instance_id}")
        start = shared.randrange(n_tokens)
        marked = list(range(start, min(n_tokens, start + shared.randint(1, 3))))
        if person.rng.random() < 0.4:
            marked.append(person.rng.randrange(n_tokens))
    marked = sorted(set(marked))[:high]
    while len(marked) < min(low, n_tokens):
        marked = sorted({*marked, person.rng.randrange(n_tokens)})
    return {"tokens": ",".join(str(i) for i in marked), "comment": ""}


def _simulate_model(person: _Person, view: TrialView, instance_id: int) -> dict[str, Any]:
    snap = view.snapshot
    if view.role == "learn":
        return {}
    if view.role == "rating":
        return {"rating": str(person.rng.randint(1, 7))}
    n_labels = len(snap["label_names"])
    expected = view.expected or {}
    if "label" in expected:
        wrong = [k for k in range(n_labels) if k != expected["label"]]
        label = expected["label"] if person.complies() or not wrong else person.rng.choice(wrong)
        return {"label": str(label)}
    model = int(snap.get("counterfactual", snap)["prediction"]["label"])
    right = 0.55
    if view.phase == "post":
        right = 0.7 if view.snapshot["explanations"] else 0.6
    if person.careless:
        right = 1.0 / n_labels
    guess = model if person.rng.random() < right else person.rng.randrange(n_labels)
    return {"label": str(guess)}


def _review(person: _Person, view: TrialView, instance_id: int) -> dict[str, Any]:
    explanations = view.snapshot["explanations"]
    order = view.payload.get("order") or list(range(len(explanations)))
    points = int(view.options["points"])
    flags = list(view.options["flags"])
    wanted = (view.expected or {}).get("flag")
    answer: dict[str, Any] = {"comment": ""}
    for position, index in enumerate(order):
        letter = (
            ascii_uppercase[position] if position < len(ascii_uppercase) else f"E{position + 1}"
        )
        latent = person.judgement(explanations[index], instance_id)
        for criterion in view.options["criteria"]:
            value = round((points + 1) / 2 + latent * (points - 1) / 4 + person.rng.gauss(0, 0.5))
            answer[f"{letter}_{criterion['key']}"] = str(min(max(value, 1), points))
        if wanted is not None:
            flag = wanted if person.complies() else flags[0]
        else:
            flag = flags[0] if latent > 0 else flags[min(1, len(flags) - 1)]
            if person.rng.random() < 0.1:
                flag = flags[-1]
        answer[f"{letter}_flag"] = flag
    return answer


ANSWERERS = {
    "plausibility_rating": _rating,
    "pairwise_preference": _preference,
    "aided_task": _label,
    "rationale_annotation": _rationale,
    "forward_simulation": _simulate_model,
    "counterfactual_simulation": _simulate_model,
    "expert_review": _review,
}


def _questionnaire(person: _Person, study: Study) -> dict[str, Any]:
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


def _run_one(study: Study, person: _Person, participant: Participant, start: datetime) -> None:
    """Take one participant from consent to completion, on a clock that starts at ``start``."""
    now = start
    participant = participant_consent(participant=participant, agree=True, now=now)
    now += timedelta(seconds=20)
    participant_instructions_read(participant=participant, now=now)
    answer = ANSWERERS[study.study_type]
    for trial in Trial.objects.filter(assignment__participant=participant).select_related("item"):
        now += timedelta(seconds=0.5)
        trial_mark_shown(trial=trial, now=now)
        person.start_trial(trial)
        view = trial_view(
            study=study,
            snapshot=trial.item.frozen,
            role=trial.role,
            phase=trial.phase,
            payload=trial.payload,
            expected=trial.item.expected,
        )
        took = timedelta(seconds=person.seconds())
        now += took
        response_submit(
            participant=participant,
            trial_id=trial.pk,
            data=answer(person, view, trial.item.instance_id),
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
    if study.study_type not in ANSWERERS:
        raise ValidationError(
            {
                "study_type": (
                    f"cannot simulate participants of a {study.study_type} study yet; "
                    f"simulation knows {', '.join(sorted(ANSWERERS))}"
                )
            }
        )
    if study.status != Study.Status.LIVE:
        raise ValidationError(f"study {study} is {study.status}; only a live study takes answers")
    count = min(n, _free_places(study))
    if count == 0:
        return 0
    signal = _signal(study)
    already = Participant.objects.filter(
        study=study, invitation__label__startswith=SIMULATED_PREFIX
    ).count()
    with transaction.atomic():
        invitations = invitations_create(
            study=study,
            labels=[simulated_label(seed, already + k) for k in range(count)],
        )
        for k, invitation in enumerate(invitations):
            person = _Person(seed=seed, index=already + k, signal=signal)
            participant = participant_enter(
                study=study,
                ids=EntryIds(source=Participant.Source.INVITED),
                invitation=invitation,
            )
            # The clock starts when they enter and runs at simulated speed, so a session
            # ends a few minutes after the real time of the simulation.
            _run_one(study, person, participant, max(timezone.now(), participant.entered_at))
    return count
