"""A researcher's whole study, in a real browser: design, preview, launch, progress, analysis.

The data are the first 48 reviews of the demo's ``sentiment.jsonl`` (16 with human
rationales), a tiny BiLSTM-attention model trained on them, its predictions, three
explanation methods and their faithfulness scores, all made through the services the
``load_demo`` command calls (the full demo takes too long for a test).
"""

import hashlib
import itertools
import json
import zipfile
from pathlib import Path

import pytest

from explanations.services.computing import explanations_compute, scores_compute
from explanations.services.datasets import dataset_import
from explanations.services.modeling import model_predict, model_train
from studies.models import Participant, Response, Study
from tests.explanations.factories import SMALL_CONFIG

from . import participant as p
from .analysis_jobs import hold_builds, run_held

pytestmark = pytest.mark.django_db(transaction=True)
DEMO = Path(__file__).resolve().parents[2] / "explanations" / "demo" / "sentiment.jsonl"
METHODS = ["gradient", "grad_input", "random"]


@pytest.fixture
def demo_data(tmp_path, researcher):
    path = tmp_path / "sentiment-48.jsonl"
    with DEMO.open(encoding="utf-8") as lines:
        path.write_text("".join(itertools.islice(lines, 48)), encoding="utf-8")
    dataset = dataset_import(path=path, name="sentiment-demo", owner=researcher).dataset
    model = model_train(
        dataset=dataset,
        name="demo-bilstm",
        architecture="bilstm_attention",
        epochs=4,
        seed=0,
        config=dict(SMALL_CONFIG),
        owner=researcher,
    )
    model_predict(model=model, dataset=dataset)
    explanations_compute(model=model, dataset=dataset, methods=METHODS)
    scores_compute(model=model, dataset=dataset)
    return dataset, model


def design_the_study(page, live_server) -> Study:
    page.get_by_role("link", name="Studies", exact=True).click()
    page.get_by_role("link", name="Design a new study").click()
    # The type, dataset and model come first; then the design with that type's options.
    page.get_by_role("radio", name="Plausibility rating").check()
    page.select_option("#id_dataset", "sentiment-demo")
    page.select_option("#id_model", "demo-bilstm")
    page.get_by_role("button", name="Continue").click()
    page.fill("#id_name", "Demo plausibility")
    for method in METHODS:
        page.check(f"input[name=methods][value={method}]")
    page.fill("#id_n_items", "6")
    page.fill("#id_ratings_per_item", "1")
    page.fill("#id_attention_check_positions", "2")
    page.fill("#id_gold_positions", "4")
    page.fill("#id_completion_code", "DEMO-DONE")
    page.get_by_role("button", name="Create the draft").click()
    page.get_by_text("created as a draft").wait_for()
    study = Study.objects.get(name="Demo plausibility")
    assert page.url == f"{live_server.url}/studies/{study.pk}/"
    assert page.locator("h1 .tag").inner_text() == "Draft"
    return study


def preview(page, live_server, study: Study) -> None:
    """Walk the first two trials of the preview with the keyboard; nothing is stored."""
    page.get_by_role("link", name="Preview as a participant").click()
    page.get_by_role("heading", name="Trials (9)").wait_for()
    page.get_by_role("link", name="Start the preview").click()
    page.wait_for_url(f"**/studies/{study.pk}/preview/1/")
    p.arrive(page)
    page.get_by_text("Preview: answers are checked but not stored.").wait_for()
    assert page.locator(".trial-progress span").inner_text() == "Practice item 1 of 1"
    p.choose_and_submit(page, "5", checked="input[name=rating][value='5']")
    assert page.get_by_text("Trial 1: you rated 5").inner_text().endswith("accepted, not stored.")
    p.choose_and_submit(page, p.rating_key(page, 0))
    page.get_by_text("Trial 2: you rated").wait_for()
    assert not Participant.objects.filter(study=study).exists()
    # The preview's trial pages are the participant's, without the researcher's navigation.
    page.goto(f"{live_server.url}/studies/{study.pk}/")


def launch(page) -> str:
    """Launch the study; return its anonymous entry link."""
    page.get_by_role("link", name="Launch (go live)…").click()
    page.get_by_role("button", name="Launch: freeze the items and go live").click()
    page.get_by_text("The study is live; its items and scores are frozen.").wait_for()
    assert page.locator("h1 .tag").inner_text() == "Live"
    link = page.locator("dt:text-is('Anonymous link') + dd code").inner_text()
    assert link.startswith("http")
    return link


def take_part(browser, link: str) -> None:
    """A participant in their own browser takes the study by keyboard."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        page.set_default_timeout(15000)
        page.goto(link)
        p.arrive(page)
        p.consent_and_start(page)
        k = 0
        while p.on_trial(page):
            key = p.rating_key(page, k)
            p.choose_and_submit(page, key, checked=f"input[name=rating][value='{key}']")
            k += 1
        assert page.locator("strong.code").inner_text() == "DEMO-DONE"
    finally:
        context.close()


def test_researcher_designs_previews_launches_watches_and_downloads(
    logged_in, browser, live_server, demo_data, tmp_path, monkeypatch
):
    page = logged_in
    held = hold_builds(monkeypatch)
    study = design_the_study(page, live_server)
    preview(page, live_server, study)
    link = launch(page)

    # Progress before and after one participant finishes.
    page.get_by_role("link", name="Progress").click()
    completed = page.locator(".stat", has_text="completed").first.locator("strong")
    assert completed.inner_text() == "0"
    take_part(browser, link)
    page.reload()
    assert completed.inner_text() == "1"
    assert page.locator(".stat", has_text="places taken").locator("strong").inner_text() == "1 / 3"
    cells = page.locator("tbody").last.locator("tr").last.locator("td").all_inner_texts()
    answered = Response.objects.filter(participant__study=study).count()
    assert answered == 9  # 1 practice, 6 test, 1 attention check, 1 gold
    # Pseudonym, source, status, list, answers, failed checks, excluded.
    assert cells[1].startswith("p_")
    assert (cells[2], cells[3], cells[4], cells[5], cells[6]) == (
        "Anonymous link",
        "Completed",
        "0",
        "9",
        "0",
    )
    assert cells[7].split()[:2] == ["no", "Exclude…"]  # not excluded, with the row's action

    # The analysis page, from the study page, then its bundle.
    page.get_by_role("link", name=study.name).click()
    page.get_by_role("link", name="Analysis and export").click()
    page.get_by_role("heading", name=f"Analysis of {study.name}").wait_for()
    # Computed in the background (here: by the test), then shown in place of the progress.
    assert page.get_by_text("Computing the analysis…").count() == 1
    assert run_held(held) == 1
    # The page reloads itself once the result is there (its poll, then the rendering, can
    # take a while on a loaded machine).
    bundle_link = page.get_by_role("link", name="Download the analysis bundle (.zip)")
    bundle_link.wait_for(timeout=60_000)
    with page.expect_download() as download:
        bundle_link.click()
    assert download.value.suggested_filename == f"elephant-study-{study.pk}-analysis.zip"
    path = tmp_path / "bundle.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as bundle:
        names = set(bundle.namelist())
        folder = f"elephant-study-{study.pk}-analysis/"
        for name in ("responses.csv", "participants.csv", "manifest.json", "report.html"):
            assert folder + name in names, sorted(names)
        responses = bundle.read(folder + "responses.csv").decode().splitlines()
        assert len(responses) == 1 + answered
        manifest = json.loads(bundle.read(folder + "manifest.json"))
        # The manifest's checksums are those of the files beside it.
        text = json.dumps(manifest)
        digest = hashlib.sha256(bundle.read(folder + "responses.csv")).hexdigest()
        assert digest in text
