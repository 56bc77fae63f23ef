"""Simulated participants: valid answers through the real services, clearly marked."""

import pytest

from analysis.simulation import participants_simulate, simulated_participant_ids
from studies.models import Participant, Response
from studies.selectors import responses_for_analysis
from tests.studies.factories import film_corpus, make_study


@pytest.fixture
def rating_study(researcher, tmp_path):
    dataset, model = film_corpus(tmp_path, owner=researcher)
    return make_study(researcher, dataset, model)


def test_simulated_participants_complete_and_are_marked(rating_study):
    made = participants_simulate(study=rating_study, n=4, seed=1)
    assert made == 4
    people = Participant.objects.filter(study=rating_study)
    assert people.count() == 4
    assert {p.status for p in people} == {Participant.Status.COMPLETED}
    assert simulated_participant_ids(rating_study) == set(people.values_list("pk", flat=True))
    rows = responses_for_analysis(rating_study)
    print(rows[0])
    assert len(rows) == Response.objects.filter(participant__study=rating_study).count()
