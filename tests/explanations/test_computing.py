"""Training, prediction, explanation and score jobs through the services and commands."""

import io

import pytest
from django.core.management import CommandError, call_command

from explanations.compute.registry import supported_methods
from explanations.models import Explanation, Job, JobShard, Prediction, Score
from explanations.services import jobs
from explanations.services.computing import explanations_compute, scores_compute
from explanations.services.jobs import job_shard_run

from .factories import trained_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny(tmp_path):
    return trained_model(tmp_path)


def test_train_predict_stores_model_with_hash_and_metrics(tiny):
    model, dataset = tiny
    assert len(model.weights_sha256) == 64
    assert model.training_metrics["accuracy"] > model.training_metrics["majority_baseline"]
    assert Prediction.objects.filter(model=model).count() == dataset.instances.count()


def test_explanations_job_is_sharded_idempotent_and_retry_safe(tiny, settings):
    model, dataset = tiny
    settings.ELEPHANT_SHARD_SIZE = 16
    job = explanations_compute(
        model=model, dataset=dataset, methods=["gradient", "occlusion", "random"]
    )
    assert job.status == Job.Status.DONE
    assert job.total_shards == 5
    n = dataset.instances.count()
    assert Explanation.objects.filter(model=model).count() == 3 * n
    first = dict(Explanation.objects.filter(model=model).values_list("pk", "scores"))
    # A re-run skips what is done: an empty job.
    again = explanations_compute(
        model=model, dataset=dataset, methods=["gradient", "occlusion", "random"]
    )
    assert again.total_items == 0
    # A retried shard (e.g. a Celery redelivery after a crash) overwrites and never duplicates.
    shard = JobShard.objects.filter(job=job).first()
    JobShard.objects.filter(pk=shard.pk).update(status=JobShard.Status.PENDING)
    Job.objects.filter(pk=job.pk).update(parameters={**job.parameters, "force": True})
    job_shard_run(shard.pk)
    assert Explanation.objects.filter(model=model).count() == 3 * n
    assert dict(Explanation.objects.filter(model=model).values_list("pk", "scores")) == first


def test_scores_job_writes_labelled_scores(tiny):
    model, dataset = tiny
    explanations_compute(model=model, dataset=dataset, methods=["attention", "gradient", "random"])
    job = scores_compute(model=model, dataset=dataset)
    assert job.status == Job.Status.DONE
    kinds = dict(
        Score.objects.filter(explanation__model=model).values_list("metric", "kind").distinct()
    )
    assert kinds["comprehensiveness_aopc"] == "faithfulness"
    assert kinds["agreement_tau:attention"] == "faithfulness"
    per_explanation = Score.objects.filter(
        explanation__model=model, metric="comprehensiveness_aopc"
    ).count()
    assert per_explanation == 3 * dataset.instances.count()
    again = scores_compute(model=model, dataset=dataset)
    assert again.total_items == 0


def test_commands_report_clear_errors(tiny):
    with pytest.raises(CommandError, match="--model 'nope': no such model"):
        call_command("compute_explanations", "--model", "nope", "--dataset", "x", verbosity=0)
    model, dataset = tiny
    with pytest.raises(CommandError, match="unknown method"):
        call_command(
            "compute_explanations",
            "--model",
            model.name,
            "--dataset",
            dataset.name,
            "--methods",
            "shap",
            verbosity=0,
        )


def test_compute_explanations_without_methods_computes_every_method_the_model_supports(tiny):
    model, dataset = tiny
    out = io.StringIO()
    call_command(
        "compute_explanations", "--model", model.name, "--dataset", dataset.name, stdout=out
    )
    assert "done" in out.getvalue()
    stored = Explanation.objects.filter(model=model)
    expected = supported_methods("bilstm_attention")
    assert "lrp" in expected
    assert "attention_rollout" not in expected
    assert set(stored.values_list("method__name", flat=True)) == set(expected)
    assert stored.count() == len(expected) * dataset.instances.count()
    assert Job.objects.get(kind=Job.Kind.EXPLAIN).parameters["methods"] == list(expected)
    lrp = stored.filter(method__name="lrp").first()
    assert lrp.parameters == {"output": "logit", "epsilon": 0.001, "bias_factor": 0.0}


def test_a_method_the_model_does_not_support_is_refused_before_any_job(tiny):
    model, dataset = tiny
    jobs_before = Job.objects.count()
    with pytest.raises(
        CommandError,
        match=r"method\(s\) attention_rollout not supported by model tiny \(bilstm_attention\): "
        r"attention_rollout: it needs stacked self-attention layers\. It supports attention, "
        r"gradient, grad_input, integrated_gradients, occlusion, omission, lrp, random$",
    ):
        call_command(
            "compute_explanations",
            "--model",
            model.name,
            "--dataset",
            dataset.name,
            "--methods",
            "gradient,attention_rollout",
            verbosity=0,
        )
    with pytest.raises(ValueError, match="not supported by model tiny"):
        explanations_compute(model=model, dataset=dataset, methods=["attention_rollout"])
    assert Job.objects.count() == jobs_before
    assert not Job.objects.filter(kind=Job.Kind.EXPLAIN).exists()
    assert not Explanation.objects.filter(model=model).exists()


def test_tau_loo_from_stored_omission_equals_recomputed_deletions(tiny):
    model, dataset = tiny
    explanations_compute(model=model, dataset=dataset, methods=["gradient", "omission"])
    scores_compute(model=model, dataset=dataset, methods=["gradient"], metrics=["tau_loo"])
    reused = dict(
        Score.objects.filter(explanation__model=model, metric="tau_loo").values_list(
            "explanation_id", "value"
        )
    )
    Explanation.objects.filter(model=model, method__name="omission").delete()
    scores_compute(
        model=model, dataset=dataset, methods=["gradient"], metrics=["tau_loo"], force=True
    )
    recomputed = dict(
        Score.objects.filter(explanation__model=model, metric="tau_loo").values_list(
            "explanation_id", "value"
        )
    )
    assert reused.keys() == recomputed.keys()
    for key, value in recomputed.items():
        assert reused[key] == pytest.approx(value, abs=1e-6)


def _broken(job, instance_ids):
    raise RuntimeError("worker ran out of memory")


def test_a_failing_shard_is_a_clear_command_error_not_a_traceback(tiny, monkeypatch):
    model, dataset = tiny
    monkeypatch.setitem(jobs.SHARD_BODIES, Job.Kind.EXPLAIN, f"{__name__}._broken")
    with pytest.raises(
        CommandError, match=r"job \d+ failed: shard 0: RuntimeError\('worker ran out of memory'\)"
    ):
        call_command(
            "compute_explanations",
            "--model",
            model.name,
            "--dataset",
            dataset.name,
            "--methods",
            "gradient",
            verbosity=0,
        )
    assert Job.objects.get(kind=Job.Kind.EXPLAIN).status == Job.Status.FAILED
    assert Explanation.objects.filter(model=model).count() == 0


def test_agreement_scores_are_not_recomputed_on_a_rerun(tiny):
    model, dataset = tiny
    explanations_compute(model=model, dataset=dataset, methods=["attention", "gradient"])
    scores_compute(model=model, dataset=dataset, metrics=["agreement_tau"])
    assert scores_compute(model=model, dataset=dataset, metrics=["agreement_tau"]).total_items == 0


def test_a_rerun_with_nothing_to_do_adds_no_job_row(tiny):
    model, dataset = tiny
    explanations_compute(model=model, dataset=dataset, methods=["gradient", "random"])
    scores_compute(model=model, dataset=dataset, metrics=["sufficiency"])
    rows = Job.objects.count()
    explained = explanations_compute(model=model, dataset=dataset, methods=["gradient", "random"])
    scored = scores_compute(model=model, dataset=dataset, metrics=["sufficiency"])
    assert Job.objects.count() == rows == 2
    for job in (explained, scored):
        assert job.pk is None
        assert job.status == Job.Status.DONE
        assert (job.total_items, job.total_shards) == (0, 0)


def test_commands_say_when_a_rerun_has_nothing_to_compute(tiny):
    model, dataset = tiny
    names = ["--model", model.name, "--dataset", dataset.name]
    for command, extra in (
        ("compute_explanations", ["--methods", "gradient"]),
        ("compute_scores", ["--methods", "gradient"]),
    ):
        call_command(command, *names, *extra, verbosity=0, stdout=io.StringIO())
        again = io.StringIO()
        call_command(command, *names, *extra, verbosity=0, stdout=again)
        assert "Nothing to compute" in again.getvalue(), command
