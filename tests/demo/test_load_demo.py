"""The demo loader on a tiny model: failed jobs are clear errors, and re-runs resume.

The full demo trains three models for minutes; these tests point its tables at a tiny
BiLSTM trained on synthetic reviews (named ``demo-bilstm``, as the studies expect).
"""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from demo import services
from demo.management.commands import load_demo
from explanations.models import Job
from explanations.services import jobs
from studies.models import Study
from tests.explanations.factories import trained_model

pytestmark = pytest.mark.django_db

STUDY_NAME = "Demo: a tiny rating study"


@pytest.fixture
def tiny_demo(tmp_path, monkeypatch, researcher):
    """Train the tiny model and point the demo's model and study tables at it."""
    model, dataset = trained_model(tmp_path, name="demo-bilstm", owner=researcher)
    monkeypatch.setattr(
        services,
        "DEMO_MODELS",
        (
            (
                "demo-bilstm",
                dataset.name,
                "bilstm_attention",
                ["gradient", "random"],
                ["sufficiency"],
            ),
        ),
    )
    monkeypatch.setattr(services, "SENTIMENT", dataset.name)
    monkeypatch.setattr(
        services,
        "DEMO_STUDIES",
        (
            (
                STUDY_NAME,
                "plausibility_rating",
                "demo-bilstm",
                ["gradient", "random"],
                {"n_items": 6, "items_per_participant": 3},
            ),
        ),
    )
    return model, dataset, researcher


def _broken(job, instance_ids):
    raise RuntimeError("worker ran out of memory")


def test_a_failed_job_stops_the_demo_with_its_error(tiny_demo, monkeypatch):
    _, _, owner = tiny_demo
    monkeypatch.setitem(jobs.SHARD_BODIES, Job.Kind.EXPLAIN, f"{__name__}._broken")
    with pytest.raises(
        RuntimeError,
        match=r"Compute explanations for model demo-bilstm failed \(job \d+\): "
        r"shard 0: RuntimeError\('worker ran out of memory'\)",
    ):
        services.demo_models_ensure(owner=owner)


def test_load_demo_reports_a_failed_job_as_a_command_error_not_demo_ready(tiny_demo, monkeypatch):
    _, dataset, _ = tiny_demo
    monkeypatch.setattr(load_demo, "demo_datasets_ensure", lambda **kwargs: [dataset])
    monkeypatch.setitem(jobs.SHARD_BODIES, Job.Kind.SCORE, f"{__name__}._broken")
    out = io.StringIO()
    with pytest.raises(
        CommandError,
        match=r"the demo could not be loaded: Compute scores for model demo-bilstm failed",
    ):
        call_command("load_demo", verbosity=0, stdout=out)
    assert "Demo ready." not in out.getvalue()


def test_load_demo_reports_a_validation_error_by_its_message(monkeypatch, db):
    def refuse(**kwargs):
        raise ValidationError("study X is closed; only a live study takes answers")

    monkeypatch.setattr(load_demo, "demo_datasets_ensure", lambda **kwargs: [])
    monkeypatch.setattr(load_demo, "demo_models_ensure", lambda **kwargs: [])
    monkeypatch.setattr(load_demo, "demo_studies_ensure", refuse)
    with pytest.raises(
        CommandError,
        match=r"^the demo could not be loaded: study X is closed; only a live study takes answers$",
    ):
        call_command("load_demo", verbosity=0, stdout=io.StringIO())


def test_a_study_left_a_draft_by_an_interrupted_run_is_launched_on_the_next(tiny_demo, monkeypatch):
    _, _, owner = tiny_demo
    services.demo_models_ensure(owner=owner)

    def interrupted(*, study):
        raise RuntimeError("interrupted")

    launch = services.study_launch
    monkeypatch.setattr(services, "study_launch", interrupted)
    with pytest.raises(RuntimeError, match="interrupted"):
        services.demo_studies_ensure(owner=owner)
    assert Study.objects.get(name=STUDY_NAME).status == Study.Status.DRAFT

    monkeypatch.setattr(services, "study_launch", launch)
    [demo] = services.demo_studies_ensure(owner=owner)
    assert demo.study.status == Study.Status.LIVE
    assert Study.objects.filter(name=STUDY_NAME).count() == 1
    counts = services.demo_participants_simulate(studies=[demo.study], n=2)
    assert counts[demo.study.pk] == 2


def test_rerunning_the_demo_models_adds_no_job(tiny_demo):
    _, _, owner = tiny_demo
    services.demo_models_ensure(owner=owner)
    jobs_after_first = list(Job.objects.values_list("pk", flat=True))
    assert len(jobs_after_first) == 2
    services.demo_models_ensure(owner=owner)
    assert list(Job.objects.values_list("pk", flat=True)) == jobs_after_first
