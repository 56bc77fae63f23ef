"""Pre-registration in the analysis (issue #16): the hash in the manifest verifies, departures
from the plan are listed (none when the analysis follows it), goal and user are reported."""

import dataclasses
import hashlib
import json

import pytest
from django.test import Client

from analysis.bundle import bundle_files
from analysis.services.options import AnalysisOptions
from analysis.services.results import study_analysis_build
from analysis.services.simulated import participants_simulate
from studies.services.preregistration import Preregistration
from tests.analysis.background import analysis_computed
from tests.studies.factories import make_study

from .conftest import FAST

pytestmark = pytest.mark.django_db

PLAN = Preregistration(
    hypotheses="Plausibility rises with comprehensiveness.",
    plausibility_measure="mean_rating",
    faithfulness_metrics=["comprehensiveness_aopc"],
    n_resamples=FAST.n_resamples,
    level=FAST.level,
    resampling=FAST.resampling,
    interval=FAST.interval,
    max_failed_checks=None,
    straight_lining=False,
    explanation_goal="which tokens drove this prediction",
    intended_user="model_developer",
)


@pytest.fixture
def planned(corpus, researcher):
    """A live rating study pre-registered with PLAN, answered by 5 simulated participants."""
    dataset, model = corpus
    study = make_study(researcher, dataset, model, ratings_per_item=4, preregistration=PLAN)
    participants_simulate(study=study, n=5, seed=3)
    return study


def files_of(study, options=FAST):
    return bundle_files(study=study, analysis=study_analysis_build(study=study, options=options))


def manifest_of(study, options=FAST):
    return json.loads(files_of(study, options)["manifest.json"])


def test_the_manifest_holds_the_frozen_json_and_its_hash_verifies(planned):
    block = manifest_of(planned)["preregistration"]
    assert block["status"] == "pre-registered"
    assert hashlib.sha256(block["json"].encode("utf-8")).hexdigest() == block["sha256"]
    assert block["sha256"] == planned.preregistration_sha256
    assert json.loads(block["json"])["hypotheses"] == PLAN.hypotheses
    assert block["frozen_at"] == planned.preregistered_at.isoformat()


def test_no_departures_when_the_analysis_follows_the_plan(planned):
    assert manifest_of(planned)["departures"] == []


def test_departures_are_listed_when_the_options_differ(planned):
    used = dataclasses.replace(FAST, resampling="participant", level=0.9)
    departures = manifest_of(planned, used)["departures"]
    assert "resampling: planned two_way, used participant" in departures
    assert "level: planned 0.95, used 0.9" in departures
    assert len(departures) == 2


def test_departures_name_a_metric_and_an_exclusion_rule_not_planned(corpus, researcher):
    dataset, model = corpus
    plan = dataclasses.replace(PLAN, faithfulness_metrics=["decision_flip"])
    study = make_study(researcher, dataset, model, ratings_per_item=4, preregistration=plan)
    participants_simulate(study=study, n=5, seed=3)
    departures = manifest_of(study)["departures"]
    assert "faithfulness metric decision_flip: planned, not used (no such scores)" in departures
    assert "faithfulness metric comprehensiveness_aopc: used, not planned" in departures


def test_a_study_without_a_plan_says_not_preregistered(rated):
    manifest = manifest_of(rated)
    assert manifest["departures"] == "not pre-registered"
    assert manifest["preregistration"]["sha256"] is None
    files = files_of(rated)
    assert "Plan: not pre-registered." in files["codebook.md"].decode()


def test_goal_and_user_on_the_analysis_page_and_in_the_bundle(planned, researcher):
    web = Client()
    web.force_login(researcher)
    options = AnalysisOptions(n_resamples=FAST.n_resamples, resampling="participant")
    analysis_computed(planned, options.to_query())
    page = web.get(
        f"/studies/{planned.pk}/analysis/?n_resamples={options.n_resamples}&resampling=participant"
    )
    assert page.status_code == 200, page.content.decode()[:500]
    html = page.content.decode()
    assert "which tokens drove this prediction" in html
    assert "Model developer" in html
    assert f'sha256 <code title="{planned.preregistration_sha256}">' in html
    assert "resampling: planned two_way, used participant" in html
    files = files_of(planned)
    report = files["report.html"].decode()
    codebook = files["codebook.md"].decode()
    for text in (report, codebook):
        assert "which tokens drove this prediction" in text
        assert "Model developer" in text
        assert planned.preregistration_sha256 in text
    assert "No departures" in report
    assert "No departures from the plan." in codebook
