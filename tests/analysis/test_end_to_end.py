"""End to end: a study answered by simulated participants, analysed, shown and exported.

The study is designed and launched through the studies services, filled by
``participants_simulate`` (marked simulated in every table), cleaned by the exclusion
rules, then analysed three ways: the page, the REST API and ``export_analysis``. The
bundle must hold every file and column promised, and ``results.json`` must be what the
page shows.
"""

import json
import re

import pandas as pd
import pytest
from django.core.management import call_command
from django.urls import reverse

from analysis.models import AnalysisResult
from analysis.services.simulated import participants_simulate
from studies.services.exclusions import ExclusionRules, exclusions_apply
from tests.analysis.background import analysis_computed
from tests.studies.factories import make_study

RESAMPLES = 100
FILES = {
    "responses.csv",
    "participants.csv",
    "items.csv",
    "codebook.md",
    "results.json",
    "report.html",
    "manifest.json",
}


def shown(value, digits=3):
    """Format a number as the page does (the ``num`` filter)."""
    return f"{value:.{digits}f}".replace("-", "\u2212")


@pytest.fixture
def study(corpus, researcher):
    dataset, model = corpus
    study = make_study(
        researcher, dataset, model, n_items=9, ratings_per_item=5, attention_check_positions=[2, 6]
    )
    assert participants_simulate(study=study, n=15, seed=11) == 15
    exclusions_apply(study=study, rules=ExclusionRules(max_failed_checks=0), by=researcher)
    return study


def test_simulated_study_page_api_and_bundle_agree(study, researcher, client, tmp_path):
    client.force_login(researcher)
    params = {"n_resamples": str(RESAMPLES)}
    analysis_computed(study, params)  # by the background job, as the page asks
    page = client.get(reverse("analysis:study-analysis", args=[study.pk]), params)
    assert page.status_code == 200
    html = page.content.decode()
    api = client.get(reverse("analysis-api:study-results", args=[study.pk]), params).json()

    AnalysisResult.objects.all().delete()  # the export recomputes: the seeds make it identical
    out = tmp_path / "bundle"
    call_command("export_analysis", study=str(study.pk), out=str(out), resamples=RESAMPLES)
    results = json.loads((out / "results.json").read_text())

    # The bundle: every file, and both plots in both formats.
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert names >= FILES
    plots = set(results["plots"])
    assert {"ratings_by_method", "plausibility_vs_comprehensiveness_aopc"} <= plots
    assert {f"plots/{p}.{fmt}" for p in plots for fmt in ("svg", "png")} <= names

    # results.json is the API's answer and the page's numbers.
    for data in (api, results):
        data.pop("generated_at")
    # The API adds the state of the kept result: current, as no answer came since.
    assert api.pop("current") is True
    assert api.pop("status") == "done"
    for key in ("computed_at", "fingerprint", "progress", "error"):
        api.pop(key)
    assert results == api
    section = results["sections"]["rating"]
    assert section["n_answers"] == results["counts"]["trials_included"]
    numbers = [a["alpha"] for a in section["agreement"]]
    for row in section["method_means"] + section["differences"]:
        numbers += [row["estimate"], row["ci"]["lower"], row["ci"]["upper"]]
    for row in section["correlations"]:
        numbers.append(row["estimate"])
        if row["ci"] and row["ci"]["lower"] is not None:
            numbers += [row["ci"]["lower"], row["ci"]["upper"]]
    for model in section["mixed_models"]:
        numbers += [f["estimate"] for f in model["fixed_effects"]]
        numbers += [v["variance"] for v in model["variance_components"]]
    assert len([n for n in numbers if n is not None]) > 30
    for number in numbers:
        if number is not None:
            assert shown(number) in html, number
    counts = results["counts"]
    table = re.search(r'<table class="compact" id="counts">(.*?)</table>', html, re.S).group(1)
    cells = [int(c) for c in re.findall(r'<td class="num">(\d+)</td>', table)]
    for key in ("participants", "participants_excluded", "participants_included", "answers"):
        assert counts[key] in cells
    assert f'<strong id="n-excluded">{results["exclusions"]["n_participants_excluded"]}' in html

    # Simulated participants are marked in the data, the page and the report.
    assert counts["participants_simulated"] == 15
    assert "Simulated data." in html
    assert "Simulated data." in (out / "report.html").read_text()
    responses = pd.read_csv(out / "responses.csv")
    participants = pd.read_csv(out / "participants.csv")
    assert responses["simulated"].dtype == bool
    assert responses["simulated"].all()
    assert participants["simulated"].all()
    assert len(participants) == 15

    # The exclusions: who was caught, and that the analysis left them out.
    excluded = set(participants.loc[participants["excluded"], "participant_id"])
    assert excluded
    assert results["exclusions"]["n_participants_excluded"] == len(excluded)
    used = responses[responses["included"]]
    assert not set(used["participant_id"]) & excluded
    assert set(used["role"]) == {"test"}
    assert len(used) == section["n_answers"]

    # Columns labelled by kind, joined with the frozen scores of what was shown.
    for column in ("rating", "method", "faithfulness__comprehensiveness_aopc", "passed"):
        assert column in responses.columns
    items = pd.read_csv(out / "items.csv")
    real = responses[responses["explanation_id"].notna()]
    joined = real.merge(
        items[["item_id", "explanation_id", "faithfulness__comprehensiveness_aopc"]],
        on=["item_id", "explanation_id"],
        suffixes=("", "_item"),
    )
    assert len(joined) == len(real)
    assert (
        joined["faithfulness__comprehensiveness_aopc"]
        == joined["faithfulness__comprehensiveness_aopc_item"]
    ).all()
    # Recomputed from the CSV alone, the mean ratings are the page's.
    means = used.groupby("method")["rating"].mean()
    for row in section["method_means"]:
        assert row["estimate"] == pytest.approx(means[row["method"]])

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["design"]["seed"] == study.seed
    assert manifest["analysis"]["options"]["n_resamples"] == RESAMPLES
    assert manifest["simulated"]["n_participants"] == 15
    assert "exclusion_rules" in manifest
