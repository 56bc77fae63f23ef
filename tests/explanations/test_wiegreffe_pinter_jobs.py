"""Wiegreffe & Pinter's tests as diagnostics jobs: one trained model per shard (issue #13).

The stored figures are checked against the compute core run directly, and the
summaries (median over seeds, the adversary kept) against hand computations over the
stored entries; F1 against scikit-learn.
"""

import statistics
from unittest.mock import patch

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from explanations.compute.diagnostics.wiegreffe_pinter import (
    DEFAULT_LAMBDAS,
    held_out_outputs,
    seed_variance,
)
from explanations.jobs.diagnose_training import model_recipe
from explanations.models import Diagnostic, Explanation, Job, JobShard, ModelDiagnostic
from explanations.services.diagnostics import (
    DEFAULT_PARAMETERS,
    TRAINING_EXPERIMENTS,
    diagnostics_job_create,
    diagnostics_run,
)
from explanations.services.runtime import runtime_for

from .factories import trained_model

pytestmark = pytest.mark.django_db

TRAINING = {
    "seed_variance": {"seeds": 2},
    "model_adversary": {"lambdas": [0.001, 1.0], "epochs": 6, "patience": 2},
}


@pytest.fixture(autouse=True)
def one_thread():
    """Small models on one thread: on a shared 2-core machine OpenMP threads waiting for
    each other make them many times slower (see tests/explanations/compute/conftest.py)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def tiny(tmp_path):
    return trained_model(tmp_path, n=40)


def test_the_default_lambda_grid_is_the_compute_cores():
    assert DEFAULT_PARAMETERS["model_adversary"]["lambdas"] == list(DEFAULT_LAMBDAS)


def test_each_trained_model_is_a_shard_and_the_tables_are_stored(tiny):
    model, dataset = tiny
    held_out = model.held_out_instance_ids
    job = diagnostics_run(
        model=model, dataset=dataset, experiments=list(TRAINING_EXPERIMENTS), parameters=TRAINING
    )
    assert job.status == Job.Status.DONE, job.error
    units = list(job.shards.values_list("unit", flat=True))
    assert units == [
        "uniform:0",
        "seed_variance:1",
        "seed_variance:2",
        "diagnostic_mlp:0",
        "model_adversary:0",
        "model_adversary:1",
    ]
    assert all(JobShard.objects.get(job=job, unit=u).instance_ids == held_out for u in units)
    assert job.total_items == len(units) * len(held_out)

    tables = {d.experiment: d for d in ModelDiagnostic.objects.filter(model=model)}
    assert set(tables) == set(TRAINING_EXPERIMENTS)
    # The model's own F1 measured again on its held-out split: what training recorded,
    # and scikit-learn's on the same predictions.
    runtime = runtime_for(model)
    recipe = model_recipe(model, dataset, runtime)
    base = held_out_outputs(runtime.module, recipe.held_out())
    assert base.macro_f1 == pytest.approx(
        f1_score(base.labels, base.predicted, average="macro"), abs=1e-12
    )
    assert tables["uniform"].values["table"]["base"]["macro_f1"] == pytest.approx(
        model.training_metrics["macro_f1"], abs=1e-12
    )

    # Seed variance: the seeds are the model's + 1 and + 2; each entry is the core's.
    expected = seed_variance(recipe, runtime.module, seeds=[1, 2])
    assert model.seed == 0
    rows = {
        d.instance_id: d for d in Diagnostic.objects.filter(model=model, experiment="seed_variance")
    }
    assert sorted(rows) == sorted(held_out)
    order = [
        pk
        for pk in dataset.instances.filter(gold_label__isnull=False)
        .order_by("position")
        .values_list("pk", flat=True)
    ]
    for k, index in enumerate(recipe.split()[1]):
        stored = rows[order[index]].values
        jsds = [stored["units"][str(s)]["jsd"] for s in (1, 2)]
        assert jsds == pytest.approx(expected.attention_jsd[:, k].tolist(), abs=1e-9)
        assert stored["median_jsd"] == pytest.approx(statistics.median(jsds))
        assert stored["mean_tvd"] == pytest.approx(
            float(np.mean(expected.output_tvd[:, k])), abs=1e-9
        )
    seeds = tables["seed_variance"].values["units"]
    assert [seeds[s]["macro_f1"] for s in ("1", "2")] == pytest.approx(expected.seed_f1.tolist())

    # The adversary kept: the largest mean JSD among those within 0.05 of the model's F1.
    adversary = tables["model_adversary"].values
    eligible = {
        key: entry["mean_jsd"]
        for key, entry in adversary["units"].items()
        if entry["macro_f1"] >= adversary["base"]["macro_f1"] - 0.05
    }
    assert adversary["kept"] == (max(eligible, key=eligible.get) if eligible else None)
    stored = Explanation.objects.filter(model=model, method__name="adversary_attention")
    if adversary["kept"] is not None:
        assert stored.count() == dataset.instances.count()
        assert {e.parameters["lambda"] for e in stored} == {float(adversary["kept"])}
        for explanation in stored:
            assert sum(explanation.scores) == pytest.approx(1.0, abs=1e-6)
    else:
        assert not stored.exists()

    mlp = {row["variant"]: row for row in tables["diagnostic_mlp"].values["table"]["rows"]}
    assert set(mlp) >= {"trained", "uniform", "imported"}


def test_a_rerun_replaces_the_entries_of_the_earlier_job(tiny):
    model, dataset = tiny
    parameters = {"seed_variance": {"seeds": 2}}
    diagnostics_run(
        model=model, dataset=dataset, experiments=["seed_variance"], parameters=parameters
    )
    second = diagnostics_run(
        model=model,
        dataset=dataset,
        experiments=["seed_variance"],
        parameters={"seed_variance": {"seeds": 1}},
    )
    table = ModelDiagnostic.objects.get(model=model, experiment="seed_variance")
    assert table.values["job"] == second.pk
    assert list(table.values["units"]) == ["1"]
    for row in Diagnostic.objects.filter(model=model, experiment="seed_variance"):
        assert list(row.values["units"]) == ["1"]


def test_a_model_that_cannot_be_retrained_is_refused_or_skipped(tiny, tmp_path):
    model, dataset = tiny
    model.training_metrics = model.reported_metrics
    model.save()
    with pytest.raises(ValueError, match="does not record its seed and held-out instances"):
        diagnostics_job_create(model=model, dataset=dataset, experiments=["uniform"])
    job = diagnostics_job_create(model=model, dataset=dataset)
    assert "uniform" not in job.parameters["experiments"]
    assert "held-out" in job.parameters["skipped"]["uniform"]
    (tmp_path / "other").mkdir()
    other, _ = trained_model(tmp_path / "other", name="other", n=24)
    with pytest.raises(ValueError, match="was not trained on dataset"):
        diagnostics_job_create(model=other, dataset=dataset, experiments=["seed_variance"])


def test_the_page_runs_them_and_the_report_and_export_show_them(
    client, researcher, tmp_path, django_capture_on_commit_callbacks
):
    import pandas as pd
    from django.core.management import call_command
    from django.urls import reverse

    from explanations.diagnostic_report import diagnostics_export, diagnostics_summary
    from explanations.services import jobs

    model, dataset = trained_model(tmp_path, n=40, owner=researcher)
    client.force_login(researcher)
    page = reverse("explanations:model-attention", args=[model.name])
    shown = client.get(page).content.decode()
    assert 'value="seed_variance"' in shown
    assert "trains models" in shown
    run = reverse("explanations:model-attention-run", args=[model.name])
    with (
        django_capture_on_commit_callbacks(execute=True),
        patch.object(jobs, "_spawn") as spawn,
    ):
        answer = client.post(run, {"experiments": ["uniform", "diagnostic_mlp"]})
    job = Job.objects.get(model=model)
    assert answer.status_code == 302
    assert answer.url == reverse("explanations:job-detail", args=[job.pk])
    assert job.status == Job.Status.PENDING  # started elsewhere, not in the request
    spawn.assert_called_once_with(job.pk)
    call_command("run_job", str(job.pk), verbosity=0)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE, job.error

    summary = diagnostics_summary(model, dataset)
    uniform = summary["experiments"]["uniform"]
    assert [r["model"] for r in uniform["table"]["rows"]] == [
        "model under test",
        "uniform attention",
    ]
    shown = client.get(page).content.decode()
    assert "Uniform attention baseline (W&amp;P)" in shown
    assert "uniform attention" in shown
    assert "held-out instances" in shown
    figure = client.get(reverse("explanations:model-attention-plot", args=[model.name, "uniform"]))
    assert figure.status_code == 200
    assert b"<svg" in figure.content

    written = diagnostics_export(model=model, dataset=dataset, out=tmp_path / "export")
    names = {p.name for p in written}
    assert {"uniform_models.csv", "diagnostic_mlp_models.csv", "uniform.svg"} <= names
    table = pd.read_csv(tmp_path / "export" / "diagnostic_mlp_models.csv")
    stored = {
        r["variant"]: r["macro_f1"]
        for r in ModelDiagnostic.objects.get(model=model, experiment="diagnostic_mlp").values[
            "table"
        ]["rows"]
    }
    assert table["macro_f1"].tolist() == pytest.approx(list(stored.values()))

    # Someone who can see the model but does not own it cannot run anything on it.
    other = type(researcher).objects.create_user("bob", password="pw-bob-123456")
    client.force_login(other)
    assert client.post(run, {"experiments": ["uniform"]}).status_code == 404
    dataset.is_public = True
    dataset.save()
    assert client.post(run, {"experiments": ["uniform"]}).status_code == 403
    assert "Run experiments" not in client.get(page).content.decode()
    assert Job.objects.filter(model=model).count() == 1
