"""A real Celery worker on the local Redis computes a job and matches the in-process run."""

import socket
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from config.celery import app
from explanations.models import Explanation, Job
from explanations.services.computing import explanations_compute

from .factories import trained_model

REDIS = ("127.0.0.1", 6379)
METHODS = ["attention", "gradient", "integrated_gradients", "occlusion", "random"]


def redis_up() -> bool:
    try:
        with socket.create_connection(REDIS, timeout=1):
            return True
    except OSError:
        return False


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_celery_worker_gives_same_scores_as_in_process(tmp_path, settings):
    if not redis_up():
        pytest.skip("no Redis on 127.0.0.1:6379 (.ci/run starts one)")
    if connection.vendor == "sqlite":
        # The test database is SQLite in memory with a shared cache, which locks whole tables
        # between the worker thread's connection and this one ("database table is locked")
        # whenever a shard's write meets a progress poll. A Celery deployment uses PostgreSQL;
        # .ci/run runs this test there.
        pytest.skip("Celery workers need a server database; .ci/run runs this on PostgreSQL")
    model, dataset = trained_model(tmp_path)
    settings.ELEPHANT_SHARD_SIZE = 20
    explanations_compute(model=model, dataset=dataset, methods=METHODS)
    in_process = {
        (e.instance_id, e.method.name): e.scores
        for e in Explanation.objects.select_related("method")
    }
    Explanation.objects.all().delete()

    broker = "redis://127.0.0.1:6379/15"
    settings.CELERY_BROKER_URL = broker
    app.conf.update(broker_url=broker, result_backend=None, task_always_eager=False)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        job = explanations_compute(model=model, dataset=dataset, methods=METHODS, wait=False)
        # A deadline, not a wait without end: a worker that never gets the tasks fails here.
        deadline = time.monotonic() + 300
        while job.status not in (Job.Status.DONE, Job.Status.FAILED):
            assert time.monotonic() < deadline, f"job {job.pk}: {job.done_shards} shards done"
            time.sleep(0.5)
            job.refresh_from_db()
    assert job.backend == "celery"
    assert job.status == Job.Status.DONE, job.error
    assert job.total_shards == 4
    via_celery = {
        (e.instance_id, e.method.name): e.scores
        for e in Explanation.objects.select_related("method")
    }
    assert via_celery.keys() == in_process.keys()
    for key, scores in in_process.items():
        assert via_celery[key] == pytest.approx(scores, rel=1e-6, abs=1e-9), key
