"""Builds across threads and workers (PostgreSQL): one at a time, and on Celery when configured.

Twenty researchers' tabs open the page at once: one build is queued. A build delivered to
two workers at once is claimed by one: it runs once. With a broker, a real Celery worker
builds what a page queued. (SQLite's in-memory test database cannot be shared by threads
writing the same table; the embedded default, a file in WAL mode, can.)
"""

import socket
import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from analysis.models import AnalysisResult
from analysis.services import jobs
from analysis.services.jobs import analysis_build_run, analysis_state_get
from config.celery import app
from studies.models import Study

from .conftest import FAST

pytestmark = [pytest.mark.requires_postgres, pytest.mark.django_db(transaction=True)]
REDIS = ("127.0.0.1", 6379)


def _together(n: int, work) -> list[str]:
    """Run ``work()`` in ``n`` threads released at once; return their errors."""
    barrier = threading.Barrier(n)
    errors: list[str] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except Exception as exc:  # noqa: BLE001  # reported by the main thread
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_concurrent_views_queue_one_build_and_two_deliveries_run_it_once(rated, monkeypatch):
    queued: list[int] = []
    monkeypatch.setattr(jobs, "_dispatch", queued.append)
    errors = _together(
        20,
        lambda: analysis_state_get(study=Study.objects.get(pk=rated.pk), options=FAST),
    )
    assert errors == []
    assert AnalysisResult.objects.filter(study=rated).count() == 1
    (result_id,) = queued

    builds: list[int] = []
    build = jobs.study_analysis_build

    def counted(**kwargs):
        builds.append(1)
        return build(**kwargs)

    monkeypatch.setattr(jobs, "study_analysis_build", counted)
    assert _together(2, lambda: analysis_build_run(result_id)) == []
    assert len(builds) == 1
    kept = AnalysisResult.objects.get(pk=result_id)
    assert (kept.status, kept.attempts) == (AnalysisResult.Status.DONE, 1)


@pytest.mark.celery
def test_a_celery_worker_builds_the_queued_analysis(rated, settings):
    """With a broker the page's build goes to a real worker (local Redis, as .ci/run starts)."""
    try:
        with socket.create_connection(REDIS, timeout=1):
            pass
    except OSError:
        pytest.skip("no Redis on 127.0.0.1:6379 (.ci/run starts one)")
    # The broker the other Celery worker test uses: the app keeps the producer pool it made
    # for the first broker URL, so a second URL in the same test process sent the tasks to
    # one Redis database while the worker listened on another, and the later test hung.
    broker = "redis://127.0.0.1:6379/15"
    settings.CELERY_BROKER_URL = broker
    app.conf.update(broker_url=broker, result_backend=None, task_always_eager=False)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        state = analysis_state_get(study=Study.objects.get(pk=rated.pk), options=FAST)
        assert not state.current
        deadline = time.monotonic() + 120
        while (kept := AnalysisResult.objects.get(pk=state.result.pk)).status != "done":
            assert kept.status != "failed", kept.error
            assert time.monotonic() < deadline, kept.stage
            time.sleep(0.5)
    assert analysis_state_get(study=Study.objects.get(pk=rated.pk), options=FAST).current
