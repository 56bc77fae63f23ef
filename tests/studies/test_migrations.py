"""Data migrations: stored rows converted to what the models now say."""

from importlib import import_module

import pytest
from django.apps import apps

from studies.models import Participant
from studies.services.assignment import EntryIds, participant_enter
from studies.services.invitations import invitations_create

from .factories import make_study

pytestmark = pytest.mark.django_db


def test_the_simulated_label_convention_becomes_participant_simulated(researcher, corpus):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, sources=["invited"])
    marked, person = invitations_create(
        study=study, labels=["[simulated] participant 1 (seed 0)", "Dr A"]
    )
    for invitation in (marked, person):
        participant_enter(study=study, ids=EntryIds(source="invited"), invitation=invitation)
    assert not Participant.objects.filter(simulated=True).exists()
    import_module("studies.migrations.0005_participant_simulated").mark_simulated(apps, None)
    assert list(
        Participant.objects.filter(simulated=True).values_list("invitation__label", flat=True)
    ) == ["[simulated] participant 1 (seed 0)"]
