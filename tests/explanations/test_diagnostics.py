"""Attention under test: diagnostics jobs, their stored results, page, API and export."""

import io
import json
from unittest.mock import patch

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from explanations.compute import diagnostics as core
from explanations.compute.batching import make_batch
from explanations.compute.registry import methods_resolve, supported_methods
from explanations.diagnostic_report import correlation_table, diagnostics_summary
from explanations.models import Diagnostic, Explanation, Job, JobShard
from explanations.services import diagnostics as service
from explanations.services import jobs
from explanations.services.diagnostics import (
    diagnostics_job_create,
    diagnostics_parameters,
    diagnostics_plan,
    diagnostics_run,
)
from explanations.services.jobs import job_shard_run
from explanations.services.runtime import runtime_for

from .factories import trained_model

pytestmark = pytest.mark.django_db

FAST = {"permutation": {"permutations": 20}, "adversarial": {"steps": 30}}


@pytest.fixture
def tiny(tmp_path):
    return trained_model(tmp_path, n=24)


def _batch(model, dataset):
    runtime = runtime_for(model)
    instances = list(dataset.instances.order_by("pk"))
    seqs = [runtime.vocab.encode(i.explained_tokens) for i in instances]
    return runtime.module, make_batch(seqs), [i.pk for i in instances]


def test_the_web_side_and_the_compute_core_read_one_statement():
    assert service.TRANSFORMER_SKIPPED is core.TRANSFORMER_SKIPPED
    assert service.HUGGINGFACE_SKIPPED is core.HUGGINGFACE_SKIPPED
    assert service.diagnostics_skipped("huggingface") == core.HUGGINGFACE_SKIPPED


def test_correlation_and_permutation_job_stores_the_core_figures(tiny, settings):
    model, dataset = tiny
    settings.ELEPHANT_SHARD_SIZE = 10
    job = diagnostics_run(
        model=model, dataset=dataset, experiments=["correlation", "permutation"], parameters=FAST
    )
    assert job.status == Job.Status.DONE, job.error
    assert job.kind == Job.Kind.DIAGNOSE
    assert (job.total_shards, job.done_items) == (3, 24)
    rows = Diagnostic.objects.filter(model=model)
    assert rows.filter(experiment="correlation").count() == 24
    assert rows.filter(experiment="permutation").count() == 24
    # The stored figures are the compute core's on the whole dataset at once: the random
    # streams are keyed by instance id, so sharding changes nothing.
    module, batch, ids = _batch(model, dataset)
    expected = core.permutation_test(module, batch, permutations=20, seed=0, keys=ids)
    stored = dict(rows.filter(experiment="permutation").values_list("instance_id", "values"))
    for row, pk in enumerate(ids):
        assert stored[pk]["median_tvd"] == pytest.approx(expected.median_tvd[row], abs=1e-6)
    gradient = core.jain_wallace_gradient(module, batch)
    with core.intervention.evaluation_mode(module):
        attention = core.intervention.as_rows(
            core.BiLSTMIntervention(module, batch).attention, batch.lengths
        )
    taus = core.kendall_per_instance(attention, gradient)
    stored = dict(rows.filter(experiment="correlation").values_list("instance_id", "values"))
    for row, pk in enumerate(ids):
        assert stored[pk]["tau"]["gradient"] == pytest.approx(taus.tau[row], abs=1e-6)
    first = rows.get(experiment="correlation", instance_id=ids[0])
    assert first.parameters["definitions"] == "jain_wallace"
    assert first.max_attention == pytest.approx(float(attention[0].max()), abs=1e-6)


def test_summary_table_matches_the_core_summarise(tiny):
    model, dataset = tiny
    diagnostics_run(model=model, dataset=dataset, experiments=["correlation"])
    rows = list(Diagnostic.objects.filter(model=model, experiment="correlation"))
    table = correlation_table(dataset, rows, 0.05)["rows"]
    taus = np.array(
        [
            np.nan if r.values["tau"]["leave_one_out"] is None else r.values["tau"]["leave_one_out"]
            for r in rows
        ]
    )
    ps = np.array(
        [
            np.nan
            if r.values["p_value"]["leave_one_out"] is None
            else r.values["p_value"]["leave_one_out"]
            for r in rows
        ]
    )
    predicted = np.array([r.predicted_label for r in rows])
    expected = core.summarise(core.Correlation(tau=taus, p_value=ps), predicted)
    ours = [r for r in table if r["measure"] == "leave_one_out"]
    assert len(ours) == len(expected)
    for mine, theirs in zip(ours, expected, strict=True):
        assert mine["instances"] == theirs.instances
        assert mine["undefined"] == theirs.undefined
        assert mine["mean"] == pytest.approx(theirs.mean)
        assert mine["sd"] == pytest.approx(theirs.sd)
        assert mine["share_significant"] == pytest.approx(theirs.share_significant)


def test_a_retried_shard_replaces_and_never_duplicates(tiny, settings):
    model, dataset = tiny
    settings.ELEPHANT_SHARD_SIZE = 12
    job = diagnostics_run(
        model=model, dataset=dataset, experiments=["permutation"], parameters=FAST
    )
    before = dict(Diagnostic.objects.values_list("instance_id", "values"))
    shard = JobShard.objects.filter(job=job).first()
    JobShard.objects.filter(pk=shard.pk).update(status=JobShard.Status.PENDING)
    job_shard_run(shard.pk)
    assert Diagnostic.objects.count() == 24
    assert dict(Diagnostic.objects.values_list("instance_id", "values")) == before


def test_bad_experiments_and_parameters_name_the_field(tiny):
    model, dataset = tiny
    with pytest.raises(ValueError, match="experiments: unknown shuffle"):
        diagnostics_plan(model=model, experiments=["shuffle"])
    with pytest.raises(
        ValueError, match=r"parameters\.permutation\.permutations: expected at least 1"
    ):
        diagnostics_parameters(
            experiments=["permutation"], overrides={"permutation": {"permutations": 0}}
        )
    with pytest.raises(ValueError, match=r"parameters\.permutation: unknown rounds"):
        diagnostics_parameters(
            experiments=["permutation"], overrides={"permutation": {"rounds": 3}}
        )
    with pytest.raises(ValueError, match=r"parameters\.adversarial\.steps: expected an integer"):
        diagnostics_parameters(
            experiments=["adversarial"], overrides={"adversarial": {"steps": "x"}}
        )
    with pytest.raises(ValueError, match=r"parameters\.correlation\.definitions: expected one of"):
        diagnostics_parameters(
            experiments=["correlation"], overrides={"correlation": {"definitions": "mine"}}
        )
    assert Job.objects.count() == 0


def test_transformer_and_imported_models_skip_with_reasons(tiny):
    model, _ = tiny
    model.architecture = "transformer"
    chosen, skipped = diagnostics_plan(model=model)
    assert chosen == ["correlation", "zeroing"]
    assert set(skipped) == set(core.TRANSFORMER_SKIPPED)
    with pytest.raises(ValueError, match="permutation not defined for model tiny"):
        diagnostics_plan(model=model, experiments=["permutation"])
    model.architecture = "huggingface"
    chosen, skipped = diagnostics_plan(model=model)  # no model_type: checked when it runs
    assert chosen == ["correlation", "zeroing"]
    assert set(skipped) == set(core.HUGGINGFACE_SKIPPED)
    model.architecture = "external"
    with pytest.raises(ValueError, match="supports no attention diagnostic"):
        diagnostics_plan(model=model)


def test_run_diagnostics_command(tiny):
    model, dataset = tiny
    out = io.StringIO()
    call_command(
        "run_diagnostics",
        "--model",
        model.name,
        "--dataset",
        dataset.name,
        "--experiments",
        "permutation",
        "--parameters",
        json.dumps(FAST),
        stdout=out,
        verbosity=0,
    )
    assert "done, 24/24 items" in out.getvalue()
    assert "experiments permutation." in out.getvalue()
    assert Diagnostic.objects.filter(model=model, experiment="permutation").count() == 24
    with pytest.raises(CommandError, match="--parameters: expected a JSON object"):
        call_command(
            "run_diagnostics",
            "--model",
            model.name,
            "--dataset",
            dataset.name,
            "--parameters",
            "{",
            verbosity=0,
        )
    with pytest.raises(CommandError, match="experiments: unknown nope"):
        call_command(
            "run_diagnostics",
            "--model",
            model.name,
            "--dataset",
            dataset.name,
            "--experiments",
            "nope",
            verbosity=0,
        )


@pytest.fixture
def owned(tmp_path, researcher):
    return trained_model(tmp_path, n=24, owner=researcher)


def test_zeroing_and_adversarial_store_results_and_the_adversary(owned):
    model, dataset = owned
    job = diagnostics_run(
        model=model, dataset=dataset, experiments=["zeroing", "adversarial"], parameters=FAST
    )
    assert job.status == Job.Status.DONE, job.error
    module, batch, ids = _batch(model, dataset)
    zeroed = core.zeroing_diagnostics(module, batch, seed=0, keys=ids)
    stored = dict(
        Diagnostic.objects.filter(experiment="zeroing").values_list("instance_id", "values")
    )
    for row, pk in enumerate(ids):
        assert set(stored[pk]["flips"]) == set(core.ORDERS)
        assert stored[pk]["flips"]["attention"]["flipped"] == bool(
            zeroed.flips["attention"].flipped[row]
        )
        expected = zeroed.single.jsd_difference[row]
        if np.isnan(expected):
            assert stored[pk]["jsd_difference"] is None
        else:
            assert stored[pk]["jsd_difference"] == pytest.approx(expected, abs=1e-9)
    settings = core.AdversarialSettings(steps=30)
    found = core.adversarial_attention(module, batch, settings=settings, seed=0, keys=ids)
    adversaries = {
        e.instance_id: e
        for e in Explanation.objects.filter(model=model, method__name="adversarial_attention")
    }
    assert set(adversaries) == {pk for row, pk in enumerate(ids) if found.feasible[row]}
    assert adversaries, "the tiny model should admit some adversary within TVD 0.05"
    for row, pk in enumerate(ids):
        if pk in adversaries:
            kept = adversaries[pk].scores
            assert kept == pytest.approx(list(found.kept[row]), abs=1e-9)
            assert sum(kept) == pytest.approx(1.0)
            assert adversaries[pk].parameters["tvd_threshold"] == 0.05
    # Stored only: compute_explanations refuses it, with why.
    assert "adversarial_attention" not in supported_methods("bilstm_attention")
    with pytest.raises(ValueError, match="stored by another computation"):
        methods_resolve(["adversarial_attention"], kind="bilstm_attention", model_name="m")


def test_the_page_shows_tables_definitions_and_lazy_figures(client, researcher, owned):
    from django.urls import reverse

    model, dataset = owned
    client.force_login(researcher)
    url = reverse("explanations:model-attention", args=[model.name])
    page = client.get(url).content.decode()
    assert "Not run yet" in page
    diagnostics_run(model=model, dataset=dataset, experiments=["correlation", "permutation"])
    page = client.get(url).content.decode()
    assert "Attention under test" in page
    assert "Reference, not our model" in page
    assert "0.34" in page
    assert "permutations=100" in page
    plot_url = reverse("explanations:model-attention-plot", args=[model.name, "permutation"])
    assert plot_url in page
    assert "<svg" not in page
    plot = client.get(plot_url)
    assert plot["Content-Type"] == "image/svg+xml"
    assert plot.content.startswith(b"<svg")
    assert client.get(plot_url, HTTP_IF_NONE_MATCH=plot["ETag"]).status_code == 304
    zeroing_url = reverse("explanations:model-attention-plot", args=[model.name, "zeroing"])
    assert client.get(zeroing_url).status_code == 404
    listing = client.get(reverse("explanations:model-list")).content.decode()
    assert url in listing


def test_the_page_lists_what_a_transformer_skips(client, researcher, owned):
    from django.urls import reverse

    model, _ = owned
    model.architecture = "transformer"
    model.save(update_fields=["architecture"])
    client.force_login(researcher)
    page = client.get(reverse("explanations:model-attention", args=[model.name])).content.decode()
    assert "Not run for this model, and why" in page
    assert "jain_wallace_gradient" in page
    assert "Not defined for this model" in page


def test_api_runs_and_reads_diagnostics(
    api, owned, make_researcher, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    model, dataset = owned
    url = f"/api/models/{model.name}/diagnostics/"
    bad = api.post(url, {"experiments": ["shuffle"]}, format="json")
    assert bad.status_code == 400
    assert "experiments: unknown shuffle" in bad.json()["detail"]
    bad = api.post(url, {"parameters": {"permutation": {"permutations": -1}}}, format="json")
    assert bad.status_code == 400
    assert "parameters.permutation.permutations" in bad.json()["detail"]
    with (
        django_capture_on_commit_callbacks(execute=True) as started,
        patch.object(jobs, "_spawn") as spawn,
    ):
        made = api.post(url, {"experiments": ["permutation"], "parameters": FAST}, format="json")
        assert made.status_code == 202, made.json()
        # Answered at once: the job is started in a child process, never in the request.
        assert made.json()["status"] == "pending"
        assert made.json()["kind"] == "diagnose"
    assert len(started) == 1
    spawn.assert_called_once_with(made.json()["id"])
    call_command("run_job", str(made.json()["id"]), verbosity=0)
    read = api.get(url).json()
    assert read["experiments"]["permutation"]["instances"] == 24
    assert read["experiments"]["permutation"]["parameters"]["permutations"] == 20
    assert read["jobs"][0]["id"] == made.json()["id"]
    other = APIClient()
    other.force_authenticate(make_researcher("mallory"))
    assert other.get(url).status_code == 404
    assert other.post(url, {}, format="json").status_code == 404
    dataset.is_public = True
    dataset.save(update_fields=["is_public"])
    assert other.get(url).status_code == 200  # a public dataset's model: seen, not run
    refused = other.post(url, {"experiments": ["permutation"]}, format="json")
    assert refused.status_code == 403
    assert (
        refused.json()["detail"]
        == f"Only the owner of model {model.name} may run diagnostics on it."
    )
    assert Job.objects.filter(model=model, kind=Job.Kind.DIAGNOSE).count() == 1


def test_export_writes_csv_figures_and_every_parameter(owned, tmp_path):
    model, dataset = owned
    with pytest.raises(CommandError, match="no attention diagnostics stored"):
        call_command("export_diagnostics", "--model", model.name, "--out", str(tmp_path / "x"))
    diagnostics_run(
        model=model, dataset=dataset, experiments=["correlation", "zeroing"], parameters=FAST
    )
    out = tmp_path / "export"
    call_command(
        "export_diagnostics", "--model", model.name, "--out", str(out), stdout=io.StringIO()
    )
    assert sorted(p.name for p in out.iterdir()) == [
        "correlation.csv",
        "correlation.png",
        "correlation.svg",
        "parameters.json",
        "zeroing.csv",
        "zeroing.png",
        "zeroing.svg",
    ]
    assert (out / "zeroing.png").read_bytes().startswith(b"\x89PNG")
    lines = (out / "correlation.csv").read_text().splitlines()
    assert lines[0].startswith("instance,predicted_class,max_attention,tau.gradient")
    assert len(lines) == 25
    assert (out / "zeroing.svg").read_text().startswith("<svg")
    document = json.loads((out / "parameters.json").read_text())
    assert document["experiments"]["correlation"]["parameters"]["definitions"] == "jain_wallace"
    assert "Kendall" in document["experiments"]["correlation"]["definition"]
    assert document["experiments"]["zeroing"]["table"]["rows"][0]["predicted_class"] == "all"
    assert document["reference"][0]["source"].startswith("Jain & Wallace")
    summary = diagnostics_summary(model, dataset)
    assert set(summary["experiments"]) == {"correlation", "zeroing"}


def test_platform_definitions_use_stored_explanations(owned):
    from explanations.services.computing import explanations_compute

    model, dataset = owned
    job = diagnostics_job_create(
        model=model,
        dataset=dataset,
        experiments=["correlation"],
        parameters={"correlation": {"definitions": "platform"}},
    )
    from explanations.services.jobs import job_run

    job_run(job)
    row = Diagnostic.objects.filter(model=model).first()
    assert row.values["tau"]["gradient"] is None
    assert "no stored gradient explanation" in row.values["undefined_because"]["gradient"]
    explanations_compute(model=model, dataset=dataset, methods=["gradient", "omission"])
    diagnostics_run(
        model=model,
        dataset=dataset,
        experiments=["correlation"],
        parameters={"correlation": {"definitions": "platform"}},
    )
    row.refresh_from_db()
    explanation = Explanation.objects.get(
        model=model, instance_id=row.instance_id, method__name="gradient"
    )
    module, batch, ids = _batch(model, dataset)
    with core.intervention.evaluation_mode(module):
        attention = core.intervention.as_rows(
            core.BiLSTMIntervention(module, batch).attention, batch.lengths
        )
    expected = core.kendall_per_instance(
        [attention[ids.index(row.instance_id)]], [np.asarray(explanation.scores)]
    )
    assert row.values["tau"]["gradient"] == pytest.approx(expected.tau[0], abs=1e-9)


def test_a_transformer_gets_what_is_defined_for_it(tmp_path):
    from explanations.services.modeling import model_train

    from .factories import small_dataset, synthetic_records

    dataset = small_dataset(tmp_path, name="tf-data", records=synthetic_records(16))
    model = model_train(
        dataset=dataset,
        name="tf",
        architecture="transformer",
        epochs=1,
        config={"embedding_dim": 16, "hidden_dim": 16, "num_layers": 1, "num_heads": 2},
    )
    job = diagnostics_run(model=model, dataset=dataset)
    assert job.status == Job.Status.DONE, job.error
    assert job.parameters["experiments"] == ["correlation", "zeroing"]
    assert job.parameters["skipped"] == core.TRANSFORMER_SKIPPED
    row = Diagnostic.objects.filter(model=model, experiment="correlation").first()
    assert set(row.values["tau"]) == {"leave_one_out"}
    assert "jain_wallace_gradient" in row.parameters["skipped"]
    zeroing = Diagnostic.objects.filter(model=model, experiment="zeroing").first()
    assert "gradient" not in zeroing.values["flips"]
    assert "attention" in zeroing.values["flips"]
