"""Simulated participants: valid answers through the real services, clearly marked."""

import pytest
from django.core.exceptions import ValidationError
from scipy import stats

from analysis.services.simulated import (
    SIMULATED_PREFIX,
    participants_simulate,
    simulated_participant_ids,
)
from analysis.types.base import SimulatedPerson
from studies.models import Participant, Response
from studies.services.assignment import EntryIds, participant_enter
from studies.services.exclusions import ExclusionRules, exclusions_apply
from studies.services.participants import participant_consent
from tests.studies.factories import make_study


def answers_by_item(study):
    """Return each simulated participant's answers keyed by (participant number, instance)."""
    found = {}
    for r in Response.objects.filter(participant__study=study).select_related(
        "participant__invitation", "trial__item"
    ):
        who = r.participant.invitation.label
        found[who, r.trial.item.instance_id, tuple(r.trial.item.methods)] = r.value
    return found


def test_simulated_participants_complete_through_the_services_and_are_marked(
    rating_study, monkeypatch
):
    # Whether a careless participant passes a check is drawn per trial, keyed by instance
    # ids, which differ between databases and test orders; here careless ones always fail.
    complies = SimulatedPerson.complies
    monkeypatch.setattr(
        SimulatedPerson, "complies", lambda person: not person.careless and complies(person)
    )
    real = participant_enter(
        study=rating_study, ids=EntryIds(source="prolific", prolific_pid="REAL-PERSON")
    )
    participant_consent(participant=real, agree=True)
    assert participants_simulate(study=rating_study, n=12, seed=2) == 11  # one place is taken
    simulated = Participant.objects.filter(study=rating_study).exclude(pk=real.pk)
    assert {p.status for p in simulated} == {Participant.Status.COMPLETED}
    assert simulated_participant_ids(rating_study) == {p.pk for p in simulated}
    assert all(p.invitation.label.startswith(SIMULATED_PREFIX) for p in simulated)
    # Every trial answered once, through the type's own validation.
    for p in simulated:
        trials = p.assignment.trials.count()
        assert Response.objects.filter(participant=p).count() == trials
        assert p.completed_at > p.consented_at >= p.entered_at
    # Some careless participants fail checks and are caught by the ordinary rules.
    failed = Response.objects.filter(participant__study=rating_study, passed=False)
    assert failed.exists()
    caught = exclusions_apply(study=rating_study, rules=ExclusionRules(), by=None)
    assert {e.participant_id for e in caught} <= {p.pk for p in simulated}
    assert participants_simulate(study=rating_study, n=5, seed=2) == 0  # the study is full
    assert not Participant.objects.filter(status=Participant.Status.FULL).exists()


def test_answers_depend_on_the_seed_not_on_the_trial_order(corpus, researcher):
    dataset, model = corpus
    first = make_study(researcher, dataset, model, ratings_per_item=2, name="first")
    second = make_study(researcher, dataset, model, ratings_per_item=2, name="second")
    participants_simulate(study=first, n=4, seed=9)
    participants_simulate(study=second, n=4, seed=9)
    a, b = answers_by_item(first), answers_by_item(second)
    assert a == b
    assert len(a) == Response.objects.filter(participant__study=first).count()


def test_ratings_follow_faithfulness_a_little(rated):
    ratings, scores = [], []
    for r in Response.objects.filter(participant__study=rated, trial__role="test"):
        ratings.append(r.value["rating"])
        scores.append(r.trial.item.frozen["explanations"][0]["metric_scores"][0]["value"])
    rho = stats.spearmanr(ratings, scores).statistic
    assert 0.15 < rho < 0.9  # a signal among noise, as designed


@pytest.mark.parametrize(
    ("study_type", "extra"),
    [
        ("aided_task", {"condition_design": "between", "gold_positions": [],
                        "type_options": {"show_prediction": "crossed"}}),
        ("rationale_annotation", {"methods": ["gradient"]}),
    ],
)  # fmt: skip
def test_task_types_are_simulated_too(corpus, researcher, study_type, extra):
    dataset, model = corpus
    study = make_study(
        researcher, dataset, model, study_type=study_type, n_items=3, ratings_per_item=2, **extra
    )
    places = sum(study.lists.values_list("target", flat=True))
    assert participants_simulate(study=study, n=10, seed=1) == places
    assert Participant.objects.filter(study=study, status="completed").count() == places


def test_refuses_a_draft_and_a_negative_count(corpus, researcher):
    dataset, model = corpus
    draft = make_study(researcher, dataset, model, launch=False)
    with pytest.raises(ValidationError, match="only a live study"):
        participants_simulate(study=draft, n=2)
    with pytest.raises(ValidationError, match=">= 0"):
        participants_simulate(study=draft, n=-1)
    assert not Participant.objects.exists()
