"""A study type from outside the apps, through design, launch, a session, simulated
participants, the analysis page and the bundle; and the check that catches a missing analysis.

The type lives in ``tests/studies/plugin_type/`` alone (``study_types.py`` and
``analysis_types.py``), installed as an app for these tests.
"""

import io
import zipfile
from unittest import mock

import pytest
from django.core import checks
from django.test import modify_settings
from django.urls import reverse

from analysis import checks as analysis_checks
from analysis.services.simulated import participants_simulate
from analysis.types import base as analysis_types
from studies.models import Participant, Response, Study
from studies.types import base as study_types
from tests.analysis.background import analysis_computed

from .flow import consent_and_read, trial_form

pytestmark = pytest.mark.django_db
PLUGIN = "tests.studies.plugin_type"
TYPE = "highlight_agreement"


@pytest.fixture
def plugin():
    with modify_settings(INSTALLED_APPS={"append": PLUGIN}):
        yield


def design_form(dataset, model, **options):
    return {
        "name": "Agreement",
        "study_type": TYPE,
        "dataset": dataset.name,
        "model": model.name,
        "methods": ["gradient", "lrp"],
        "seed": "3",
        "n_items": "4",
        "ratings_per_item": "4",
        "condition_design": "within",
        "balance_outcomes": "on",
        "practice_count": "1",
        "attention_check_positions": "2",
        "gold_positions": "",
        "display_mode": "heatmap",
        "consent_text": "Consent.",
        "instructions": "Say yes or no.",
        "sources": ["anonymous", "invited"],
        "estimated_minutes": "10",
        "time_limit_minutes": "60",
        **{f"{TYPE}__{name}": value for name, value in options.items()},
    }


def test_a_plugin_type_runs_from_design_to_bundle(plugin, client, researcher, corpus):
    dataset, model = corpus
    client.force_login(researcher)
    # Design: the form shows the declared options, validates them and fills defaults.
    start = client.get(reverse("studies:study-new")).content.decode()
    assert "Highlight agreement" in start  # the type is chosen first
    page = client.get(
        reverse("studies:study-new"),
        {"study_type": TYPE, "dataset": dataset.name, "model": model.name},
    ).content.decode()
    assert "Fewest words to show highlighted" in page
    bad = client.post(reverse("studies:study-new"), design_form(dataset, model, min_words="99"))
    assert bad.status_code == 400
    created = client.post(
        reverse("studies:study-new"), design_form(dataset, model, question="Right words?")
    )
    assert created.status_code == 302, created.content.decode()[:2000]
    study = researcher.studies.get(name="Agreement")
    assert study.type_options == {
        "question": "Right words?",
        "repeat_instruction": False,
        "min_words": 1,
    }
    # Preview, then launch.
    preview = client.get(reverse("studies:study-preview-trial", args=[study.pk, 1]))
    assert preview.status_code == 200
    assert "Right words?" in preview.content.decode()
    client.post(reverse("studies:study-launch", args=[study.pk]), {"confirm": "yes"})
    study.refresh_from_db()
    assert study.status == Study.Status.LIVE

    # A participant's session, through the pages.
    response = consent_and_read(client, client.get(f"/s/{study.uid}/", follow=True))
    while b"data-trial-form" in response.content:
        assert "Right words?" in response.content.decode()
        trial_id, key = trial_form(response)
        trial = study.items.model.objects.get(trials__pk=trial_id).trials.get(pk=trial_id)
        answer = (trial.item.expected or {}).get("answer", "yes")
        data = {"trial": trial_id, "idempotency_key": key, "answer": answer}
        response = client.post(response.request["PATH_INFO"], data, follow=True)
        assert response.status_code == 200
    person = Participant.objects.get(study=study, simulated=False)
    assert person.status == Participant.Status.COMPLETED
    assert Response.objects.filter(participant=person, passed=True).exists()

    # Simulated participants answer through the plugin's answerer.
    assert participants_simulate(study=study, n=3, seed=1) == 3
    assert Participant.objects.filter(study=study, simulated=True).count() == 3

    # The analysis page shows the plugin's section, once the background job computed it.
    analysis_computed(study)
    page = client.get(reverse("analysis:study-analysis", args=[study.pk])).content.decode()
    assert "Highlight agreement" in page

    # The bundle: its tables, codebook and results carry the plugin's columns and section.
    bundle = client.get(reverse("analysis:study-bundle", args=[study.pk]))
    assert bundle.status_code == 200
    files = zipfile.ZipFile(
        io.BytesIO(b"".join(bundle.streaming_content) if bundle.streaming else bundle.content)
    )
    names = {name.rsplit("/", 1)[-1]: name for name in files.namelist()}
    codebook = files.read(names["codebook.md"]).decode()
    assert "| `agrees` | answer | TRUE if the participant answered yes |" in codebook
    assert "| `method` | answer | explanation method shown" in codebook
    assert "Fewest words to show highlighted" in codebook
    results = files.read(names["results.json"]).decode()
    assert '"agreement"' in results
    assert '"share_yes"' in results


def test_the_plugin_options_are_validated_by_their_declaration(plugin):
    kind = study_types.get_type(TYPE)
    assert kind.clean_options({}) == {
        "question": "Do the highlighted words decide the prediction?",
        "repeat_instruction": False,
        "min_words": 1,
    }
    with pytest.raises(Exception, match=r"option min_words=0: expected a whole number >= 1"):
        kind.clean_options({"min_words": 0})
    with pytest.raises(Exception, match=r"unknown option\(s\) for highlight_agreement: colour"):
        kind.clean_options({"colour": "red"})


def test_the_system_check_names_a_type_without_its_analysis(plugin):
    assert analysis_checks.check_study_type_analyses() == []
    assert not [e for e in checks.run_checks() if e.id == "analysis.E001"]
    without = {k: v for k, v in analysis_types.registered().items() if k != TYPE}
    with mock.patch.dict(analysis_types._REGISTRY, without, clear=True):
        (error,) = analysis_checks.check_study_type_analyses()
        assert error.id == "analysis.E001"
        assert error.msg == (
            "study type 'highlight_agreement' is missing its results section and its "
            "simulated answerer: no analysis module registers study type "
            "'highlight_agreement'."
        )
        assert "analysis/types/highlight_agreement.py" in error.hint
        assert [e.id for e in checks.run_checks()].count("analysis.E001") == 1


def test_the_system_check_names_the_missing_piece(plugin):
    class SectionOnly(analysis_types.AnalysisType):
        study_type = TYPE
        section_key = "agreement"
        section_title = "Highlight agreement"

        def section(self, **kwargs):
            return {}, {}

    with mock.patch.dict(analysis_types._REGISTRY, {TYPE: SectionOnly()}):
        (error,) = analysis_checks.check_study_type_analyses()
    assert "is missing its simulated answerer" in error.msg
    assert "results section" not in error.msg
