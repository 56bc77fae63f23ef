"""The demo's places: simulated participants take at most half of each list (issue #15).

Every link ``load_demo`` prints (anonymous, Prolific-style, invitation) must still admit a
person after the simulation. The demo's own study designs run here on a tiny BiLSTM trained
on synthetic reviews (named ``demo-bilstm``, as the studies expect), one study per type.
"""

import io

import pytest
from django.core.management import call_command
from django.db.models import F
from django.test import Client

from demo import services
from demo.management.commands import load_demo
from studies.models import Assignment, Invitation, Participant, Study, StudyList
from studies.services import assignment
from tests.explanations.factories import trained_model

pytestmark = pytest.mark.django_db

METHODS = ["attention", "integrated_gradients", "occlusion", "random"]


def _one_study_per_type():
    """Return the demo's studies, one per study type, all on the tiny ``demo-bilstm``."""
    seen: set[str] = set()
    studies = []
    for name, study_type, _model, methods, extra in services.DEMO_STUDIES:
        if study_type not in seen:
            seen.add(study_type)
            # Gold items need human rationales, which the synthetic reviews lack; they are
            # shared by every list, so the places are the same without them.
            design = {k: v for k, v in extra.items() if k != "gold_positions"}
            studies.append((name, study_type, "demo-bilstm", methods, design))
    return tuple(studies)


@pytest.fixture
def demo_studies(tmp_path, monkeypatch, researcher):
    """Build the demo's studies (their real designs) on a tiny model; return their links."""
    _, dataset = trained_model(tmp_path, name="demo-bilstm", owner=researcher)
    monkeypatch.setattr(
        services,
        "DEMO_MODELS",
        (("demo-bilstm", dataset.name, "bilstm_attention", METHODS, ["sufficiency"]),),
    )
    monkeypatch.setattr(services, "SENTIMENT", dataset.name)
    monkeypatch.setattr(services, "DEMO_STUDIES", _one_study_per_type())
    services.demo_models_ensure(owner=researcher)
    return services.demo_studies_ensure(owner=researcher)


def _simulated_by_list(study: Study) -> dict[int, int]:
    counts = dict.fromkeys(study.lists.values_list("pk", flat=True), 0)
    for list_id in Assignment.objects.filter(
        study_list__study=study, participant__simulated=True
    ).values_list("study_list", flat=True):
        counts[list_id] += 1
    return counts


def test_simulated_participants_take_at_most_half_of_each_list(demo_studies):
    studies = [demo.study for demo in demo_studies]
    assert {s.study_type for s in studies} == {t for _, t, *_ in services.DEMO_STUDIES}
    counts = services.demo_participants_simulate(studies=studies, n=24)
    for study in studies:
        targets = dict(study.lists.values_list("pk", "target"))
        by_list = _simulated_by_list(study)
        # Lists fill evenly: each holds exactly its half, rounded down, and no more.
        assert by_list == {pk: target // 2 for pk, target in targets.items()}, study.study_type
        assert counts[study.pk] == sum(target // 2 for target in targets.values())
        # Half is a few places: the demo's analysis pages have several simulated people.
        assert counts[study.pk] >= 4, study.study_type
    # A second run with a larger request adds nobody: the halves are taken.
    again = services.demo_participants_simulate(studies=studies, n=100)
    assert again == counts


def test_a_simulated_participant_given_a_list_past_its_half_is_rolled_back(
    demo_studies, monkeypatch
):
    [study] = [d.study for d in demo_studies if d.study.study_type == "aided_task"]
    first, second = study.lists.order_by("index")
    assert first.target == second.target == 8

    # As if people had filled the other lists first: the engine sends everyone to the first.
    def first_open(study):
        return StudyList.objects.filter(study=study, filled__lt=F("target")).order_by("index")[0]

    monkeypatch.setattr(assignment, "_pick_list", first_open)
    counts = services.demo_participants_simulate(studies=[study], n=8)
    assert counts[study.pk] == 4
    assert _simulated_by_list(study) == {first.pk: 4, second.pk: 0}
    # The fifth left nothing behind: no participant, no invitation, no place taken.
    assert Participant.objects.filter(study=study).count() == 4
    assert Invitation.objects.filter(study=study, label__startswith="[simulated]").count() == 4
    first.refresh_from_db()
    assert first.filled == 4


def test_every_printed_link_admits_a_person_after_the_simulation(demo_studies):
    services.demo_participants_simulate(studies=[d.study for d in demo_studies], n=24)
    for demo in demo_studies:
        for path in (demo.anonymous_path, demo.prolific_path, demo.invitation_path):
            assert path, f"{demo.study.study_type}: the demo printed no link"
            client = Client()
            response = client.get(path, follow=True)
            assert b"Information and consent" in response.content, (demo.study.study_type, path)
            response = client.post(response.request["PATH_INFO"], {"agree": "yes"}, follow=True)
            page = response.content.decode()
            assert "this study is full" not in page.lower(), (demo.study.study_type, path)
            assert "Instructions" in page, (demo.study.study_type, path)
        people = Participant.objects.filter(study=demo.study, simulated=False)
        assert people.filter(assignment__isnull=False).count() == 3


def test_load_demo_says_how_many_it_simulated_of_how_many_asked(demo_studies, monkeypatch):
    monkeypatch.setattr(load_demo, "demo_datasets_ensure", lambda **kwargs: [])
    monkeypatch.setattr(load_demo, "demo_models_ensure", lambda **kwargs: [])
    monkeypatch.setattr(load_demo, "demo_studies_ensure", lambda **kwargs: demo_studies)
    out = io.StringIO()
    call_command("load_demo", "--simulate-participants", "100", verbosity=0, stdout=out)
    for demo in demo_studies:
        half = sum(target // 2 for target in demo.study.lists.values_list("target", flat=True))
        assert (
            f"100 asked, {half} simulated: half of each list's places stay for people"
            in out.getvalue()
        )
