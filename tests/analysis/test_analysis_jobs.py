"""A study's analysis as a background job: served at once, "updating", never built in a request.

Issue #15: the analysis page computed the analysis inside the request (34.6 s at first
view of a demo study). The pages now queue a build on commit and show what is kept; the
tests run the queued build themselves (:func:`analysis_build_run`, what the thread or the
Celery worker runs), so every step is deterministic. One test runs the real thread.
"""

import json
import threading
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analysis import tasks
from analysis.models import AnalysisResult
from analysis.services import jobs, results
from analysis.services.jobs import analysis_build_run, analysis_state_get
from analysis.services.results import (
    BUILD_STEPS,
    analysis_fingerprint,
    analysis_from_result,
    study_analysis_build,
)
from analysis.services.simulated import participants_simulate
from studies.models import Participant, Study
from studies.services.privacy import participant_data_delete

from .conftest import FAST

QUERY = {"n_resamples": "60"}  # FAST as the pages' query


@pytest.fixture
def owner(client, researcher):
    client.force_login(researcher)
    return client


@pytest.fixture
def builds(monkeypatch):
    """Record each call of the build (and the thread it ran in), then build for real."""
    calls: list[int] = []

    def recorded(**kwargs):
        calls.append(threading.get_ident())
        return study_analysis_build(**kwargs)

    monkeypatch.setattr(jobs, "study_analysis_build", recorded)
    monkeypatch.setattr(results, "study_analysis_build", recorded)
    return calls


def page(client, study) -> str:
    response = client.get(reverse("analysis:study-analysis", args=[study.pk]), QUERY)
    assert response.status_code == 200
    return response.content.decode()


def status(client, study) -> dict:
    response = client.get(reverse("analysis:study-analysis-status", args=[study.pk]), QUERY)
    assert response.status_code == 200
    return response.json()


def row(study) -> AnalysisResult:
    return AnalysisResult.objects.get(study=study)


def fingerprint(study) -> str:
    """Return the fingerprint of the study's data as stored now (not the fixture's copy)."""
    return analysis_fingerprint(Study.objects.get(pk=study.pk))


def test_first_view_queues_the_build_and_shows_progress(
    owner, rated, builds, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as queued:
        html = page(owner, rated)
    assert builds == []  # nothing computed in the request
    (callback,) = queued
    assert (callback.func, callback.args) == (jobs._dispatch, (row(rated).pk,))
    assert "Computing the analysis…" in html
    assert "Waiting to start" in html
    assert '<progress class="progress" max="4" value="0"' in html
    status_url = reverse("analysis:study-analysis-status", args=[rated.pk])
    assert f'data-status-url="{status_url}?n_resamples=60"' in html
    assert '<noscript><meta http-equiv="refresh" content="5"></noscript>' in html
    assert "analysis_status.js" in html
    assert "Krippendorff" not in html
    assert "Download the analysis bundle" not in html
    assert status(owner, rated) == {
        "status": "pending",
        "current": False,
        "computed_at": None,
        "fingerprint": None,
        "progress": {"step": 0, "steps": BUILD_STEPS, "stage": "Waiting to start"},
        "error": "",
    }

    analysis_build_run(row(rated).pk)  # what the background thread or worker runs
    assert len(builds) == 1
    html = page(owner, rated)
    assert "Computing the analysis" not in html
    assert 'id="analysis-status"' not in html
    assert "Krippendorff" in html
    assert html.count("<svg") >= 2
    assert "Download the analysis bundle (.zip)" in html
    kept = row(rated)
    assert f'<time datetime="{kept.computed_at.isoformat()}" data-local-time>' in html
    state = status(owner, rated)
    assert (state["status"], state["current"]) == ("done", True)
    assert state["fingerprint"] == fingerprint(rated)
    assert len(builds) == 1  # the views after it computed nothing


def test_progress_is_reported_step_by_step(owner, rated, monkeypatch):
    seen = []

    def build(**kwargs):
        report = kwargs.pop("progress")

        def spy(step, steps, stage):
            report(step, steps, stage)
            seen.append((status(owner, rated)["progress"], page(owner, rated)))

        return study_analysis_build(**kwargs, progress=spy)

    monkeypatch.setattr(jobs, "study_analysis_build", build)
    page(owner, rated)
    analysis_build_run(row(rated).pk)
    steps = [(p["step"], p["steps"], p["stage"]) for p, _ in seen]
    assert steps[:4] == [
        (1, 4, "Reading the answers"),
        (2, 4, "Exclusions and counts"),
        (3, 4, "Plausibility ratings"),
        (4, 4, "Drawing the plots"),
    ]
    assert steps[4:] == [(4, 4, "Drawing plot 1 of 2"), (4, 4, "Drawing plot 2 of 2")]
    assert "Computing… step 3 of 4: Plausibility ratings" in seen[2][1]
    assert '<progress class="progress" max="4" value="3"' in seen[2][1]


def test_kept_result_is_what_the_build_returned(rated):
    built = study_analysis_build(study=rated, options=FAST)
    state = analysis_state_get(study=rated, options=FAST)
    results.result_store(
        result=state.result,
        analysis=built,
        fingerprint=fingerprint(rated),
        deletions=results.last_deletion(rated),
    )
    kept = analysis_from_result(row(rated))
    assert kept.results == built.results
    assert json.dumps(kept.results) == json.dumps(built.results)  # key order kept too
    assert kept.tables == built.tables
    assert kept.svg_files == built.svg_files


def test_a_new_answer_shows_the_last_result_updating_and_queues_one_build(
    owner, api, rated, builds, django_capture_on_commit_callbacks
):
    page(owner, rated)
    analysis_build_run(row(rated).pk)
    before = row(rated)
    assert participants_simulate(study=rated, n=1, seed=21) == 1  # a new participant answers

    with django_capture_on_commit_callbacks() as queued:
        html = page(owner, rated)
        again = page(owner, rated)
        state = status(owner, rated)
        response = api.get(reverse("analysis-api:study-results", args=[rated.pk]), QUERY)
    assert len(queued) == 1  # three views and an API call, one build queued
    assert len(builds) == 1  # and none computed in them
    for shown in (html, again):
        assert "Krippendorff" in shown  # the last result, at once
        assert "· <strong>updating…</strong>" in shown
        assert "Updating the analysis" in shown
        assert "Download the analysis bundle (.zip)" not in shown
        assert "can be downloaded once the analysis of the latest answers is ready" in shown
    assert (state["status"], state["current"]) == ("pending", False)
    assert state["computed_at"] == before.computed_at.isoformat()
    assert response.status_code == 200
    data = response.json()
    assert (data["current"], data["status"]) == (False, "pending")
    assert data["fingerprint"] == before.fingerprint != fingerprint(rated)
    assert data["counts"]["participants"] == 7  # the last result: before the new one

    # The bundle is never of an outdated analysis: it says so and asks to come back.
    bundle = owner.get(reverse("analysis:study-bundle", args=[rated.pk]), QUERY)
    assert bundle.status_code == 202
    assert bundle["Retry-After"] == "5"
    assert "The analysis is updating" in bundle.content.decode()
    assert '<meta http-equiv="refresh" content="5">' in bundle.content.decode()
    api_bundle = api.get(reverse("analysis-api:study-bundle", args=[rated.pk]), QUERY)
    assert api_bundle.status_code == 202
    assert api_bundle.json()["status"] == "pending"

    analysis_build_run(row(rated).pk)
    data = api.get(reverse("analysis-api:study-results", args=[rated.pk]), QUERY).json()
    assert (data["current"], data["status"]) == (True, "done")
    assert data["counts"]["participants"] == 8
    bundle = owner.get(reverse("analysis:study-bundle", args=[rated.pk]), QUERY)
    assert bundle.status_code == 200
    assert bundle["Content-Type"] == "application/zip"


def test_a_build_that_went_stale_while_running_is_queued_again_not_shown_as_current(
    owner, rated, monkeypatch, django_capture_on_commit_callbacks
):
    def build(**kwargs):
        analysis = study_analysis_build(**kwargs)
        participants_simulate(study=rated, n=1, seed=22)  # an answer arrives meanwhile
        return analysis

    monkeypatch.setattr(jobs, "study_analysis_build", build)
    page(owner, rated)
    with django_capture_on_commit_callbacks() as queued:
        analysis_build_run(row(rated).pk)
    kept = row(rated)
    assert kept.has_result  # kept as the last result...
    assert kept.fingerprint != fingerprint(rated)  # ...of the data it read
    assert kept.status == AnalysisResult.Status.PENDING  # and built again
    assert kept.build_fingerprint == fingerprint(rated)
    assert [c.args for c in queued] == [(kept.pk,)]
    html = page(owner, rated)
    assert "· <strong>updating…</strong>" in html
    assert "Download the analysis bundle (.zip)" not in html
    assert status(owner, rated)["current"] is False

    monkeypatch.setattr(jobs, "study_analysis_build", study_analysis_build)
    analysis_build_run(kept.pk)
    assert status(owner, rated) | {"computed_at": None} == {
        "status": "done",
        "current": True,
        "computed_at": None,
        "fingerprint": fingerprint(rated),
        "progress": {"step": 4, "steps": 4, "stage": "Done"},
        "error": "",
    }


def test_a_failed_build_shows_its_error_to_the_owner_and_can_be_tried_again(
    owner, make_researcher, rated, monkeypatch, django_capture_on_commit_callbacks
):
    def broken(**kwargs):
        raise ValueError("column 'rating' holds 'lots'; expected a number")

    monkeypatch.setattr(jobs, "study_analysis_build", broken)
    page(owner, rated)
    analysis_build_run(row(rated).pk)
    with django_capture_on_commit_callbacks() as queued:
        html = page(owner, rated)
        state = status(owner, rated)
    assert queued == []  # it would fail again on the same data: not retried by itself
    assert "The analysis could not be computed" in html
    assert "ValueError: column &#x27;rating&#x27; holds &#x27;lots&#x27;; expected a number" in html
    assert ">Try again</button>" in html
    assert "<noscript><meta" not in html  # nothing to wait for
    assert state["status"] == "failed"
    assert state["error"] == "ValueError: column 'rating' holds 'lots'; expected a number"

    other = Client()
    other.force_login(make_researcher("mallory"))
    for name in ("analysis:study-analysis", "analysis:study-analysis-status"):
        assert other.get(reverse(name, args=[rated.pk]), QUERY).status_code == 404
    assert other.post(reverse("analysis:study-analysis", args=[rated.pk])).status_code == 404

    url = reverse("analysis:study-analysis", args=[rated.pk])
    with django_capture_on_commit_callbacks() as queued:
        response = owner.post(f"{url}?n_resamples=60")
    assert response.status_code == 302
    assert response["Location"] == f"{url}?n_resamples=60"
    assert len(queued) == 1
    assert row(rated).status == AnalysisResult.Status.PENDING
    monkeypatch.setattr(jobs, "study_analysis_build", study_analysis_build)
    analysis_build_run(row(rated).pk)
    assert "Krippendorff" in page(owner, rated)


def test_a_delivered_twice_build_runs_once(rated, builds):
    state = analysis_state_get(study=rated, options=FAST)
    analysis_build_run(state.result.pk)
    analysis_build_run(state.result.pk)  # a duplicate delivery: already done
    assert len(builds) == 1
    assert row(rated).attempts == 1


def test_a_lost_build_is_queued_again(owner, rated, django_capture_on_commit_callbacks):
    page(owner, rated)
    long_ago = timezone.now() - jobs.BUILD_TIMEOUT - timedelta(minutes=1)
    AnalysisResult.objects.filter(study=rated).update(
        status=AnalysisResult.Status.RUNNING, heartbeat_at=long_ago
    )
    with django_capture_on_commit_callbacks() as queued:
        page(owner, rated)
    assert len(queued) == 1
    assert row(rated).status == AnalysisResult.Status.PENDING
    AnalysisResult.objects.filter(study=rated).update(
        status=AnalysisResult.Status.RUNNING, heartbeat_at=timezone.now()
    )
    with django_capture_on_commit_callbacks() as queued:
        page(owner, rated)
    assert queued == []  # running and alive: one build at a time


def test_a_result_read_before_a_deletion_is_never_shown_again(owner, rated, researcher):
    page(owner, rated)
    analysis_build_run(row(rated).pk)
    person = Participant.objects.filter(study=rated).order_by("pk").first()
    participant_data_delete(study=rated, actor=researcher, pseudonym=person.pseudonym)
    html = page(owner, rated)
    assert "Computing the analysis…" in html  # not the last result, which held their answers
    assert person.pseudonym not in html
    kept = row(rated)
    assert not kept.has_result
    assert (kept.results_json, kept.tables_json, kept.svgs_json) == ("", "", "")
    analysis_build_run(kept.pk)
    assert person.pseudonym not in row(rated).results_json
    assert json.loads(row(rated).results_json)["counts"]["participants"] == 6


def test_the_api_answers_202_with_the_status_until_a_result_exists(api, rated):
    url = reverse("analysis-api:study-results", args=[rated.pk])
    response = api.get(url, QUERY)
    assert response.status_code == 202
    assert response["Retry-After"] == "5"
    assert response.json()["status"] == "pending"
    assert response.json()["progress"]["stage"] == "Waiting to start"
    analysis_build_run(row(rated).pk)
    data = api.get(url, QUERY).json()
    assert (data["status"], data["current"]) == ("done", True)
    assert data["computed_at"] == row(rated).computed_at.isoformat()
    assert data["sections"]["rating"]["method_means"]


def test_with_a_broker_the_build_goes_to_celery(rated, settings, monkeypatch):
    sent = []
    monkeypatch.setattr(jobs.celery_app, "send_task", lambda name, args: sent.append((name, args)))
    settings.CELERY_BROKER_URL = "redis://broker.invalid:6379/0"
    state = analysis_state_get(study=rated, options=FAST)
    jobs._dispatch(state.result.pk)
    assert sent == [("analysis.build_result", [state.result.pk])]
    assert tasks.build_result.name == jobs.BUILD_TASK
    tasks.build_result(state.result.pk)  # the task's body, as a worker runs it
    assert row(rated).status == AnalysisResult.Status.DONE
    assert row(rated).fingerprint == fingerprint(rated)


@pytest.mark.django_db(transaction=True)
def test_without_a_broker_a_thread_of_the_web_process_builds_it(
    rated, researcher, builds, monkeypatch
):
    finished = threading.Event()
    run = jobs.analysis_build_run

    def run_and_tell(result_id):
        try:
            run(result_id)
        finally:
            finished.set()

    # Told when done, the test need not poll the table the thread writes: the in-memory test
    # database shares one cache between connections, where a read beside a write fails.
    monkeypatch.setattr(jobs, "analysis_build_run", run_and_tell)
    client = Client()
    client.force_login(researcher)
    assert "Computing the analysis…" in page(client, rated)
    # (the thread may start building before the page's bytes are read: no check of
    # ``builds`` here; which thread built it is checked below)
    assert finished.wait(120)
    assert len(builds) == 1
    assert builds[0] != threading.get_ident()  # built in another thread, not the request's
    kept = row(rated)
    assert (kept.status, kept.error) == (AnalysisResult.Status.DONE, "")
    assert "Krippendorff" in page(client, rated)
