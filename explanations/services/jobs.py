"""Sharded jobs: computed in-process by default, by Celery workers when a broker is set.

A job's instances are split into shards (``JobShard`` rows). Each shard is computed by
:func:`job_shard_run`, which any worker may call: it claims the shard, skips it when
already done (a duplicate delivery), and writes with upserts, so a retried shard
overwrites and never duplicates. Workers on other machines (GPU ones included:
``ELEPHANT_DEVICE``) share a job by consuming the same queue.

No transaction is open while a shard computes: on SQLite (the embedded default) a
transaction holds the one write lock of the database, and a participant's answer would
wait for the whole shard, then fail with "database is locked". A shard's body reads and
computes outside any transaction, and its results are written, the shard marked done and
the job's progress counted in one short transaction: all of a shard or nothing.

This module imports no compute code, so the web tier may create and show jobs; the
bodies (:mod:`explanations.jobs`) are imported by dotted path when a shard runs.
"""

import functools
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.module_loading import import_string

from config.celery import app as celery_app
from explanations.models import ClassifierModel, Dataset, Job, JobShard

from .progress import Progress, no_progress

RUN_SHARD_TASK = "explanations.run_shard"  # defined in explanations/tasks.py
# A body reads a shard's inputs and computes (no transaction open), then returns the write
# of its results, which job_shard_run performs in the transaction that marks the shard done.
ShardWrite = Callable[[], None]
ShardBody = Callable[[Job, list[int]], ShardWrite]
# A shard with a unit (a model to train, see job_create) gets it as ``unit=`` too.
# Each job kind's body, by dotted path: the bodies import torch and load models, which the
# web tier (importing this module to create and list jobs) must not. They are imported
# here, and only here, when a shard first runs in a worker or in a command's process.
SHARD_BODIES: dict[str, str] = {
    Job.Kind.EXPLAIN: "explanations.jobs.explain.explain_shard",
    Job.Kind.SCORE: "explanations.jobs.score.score_shard",
    Job.Kind.DIAGNOSE: "explanations.jobs.diagnose.diagnose_shard",
}


def job_create(
    *,
    kind: str,
    model: ClassifierModel,
    dataset: Dataset,
    instance_ids: Sequence[int],
    parameters: dict[str, Any],
    shard_size: int | None = None,
    units: Sequence[tuple[str, Sequence[int]]] = (),
    created_by: Any = None,
) -> Job:
    """Create a job and its shards over ``instance_ids`` (in the given order).

    ``units``: further shards, each a unit of work named by its first element (a model
    to train, e.g. ``seed_variance:3``) over the instances it is measured on; they follow
    the slices of ``instance_ids``, and the job's items count each unit's instances.
    With nothing to do the job returned is done and unsaved (``pk`` None), so a re-run
    that skips everything adds no row to the job lists.
    """
    size = shard_size or settings.ELEPHANT_SHARD_SIZE
    ids = list(instance_ids)
    slices = [("", ids[start : start + size]) for start in range(0, len(ids), size)]
    slices += [(unit, list(part)) for unit, part in units if part]
    job = Job(
        kind=kind,
        model=model,
        dataset=dataset,
        parameters=parameters,
        total_shards=len(slices),
        total_items=sum(len(part) for _, part in slices),
        backend="celery" if settings.CELERY_BROKER_URL else "in-process",
        created_by=created_by,
        status=Job.Status.PENDING if slices else Job.Status.DONE,
    )
    if not slices:
        return job
    with transaction.atomic():
        job.save()
        JobShard.objects.bulk_create(
            [
                JobShard(job=job, index=k, instance_ids=part, unit=unit)
                for k, (unit, part) in enumerate(slices)
            ]
        )
    return job


def job_shard_run(shard_id: int) -> None:
    """Compute one shard; a shard already done is skipped, a failed one may be retried.

    Claimed in a short transaction, computed with none open, written in another short
    one with the shard's status and the job's progress (see the module docstring).
    """
    with transaction.atomic():
        shard = JobShard.objects.select_for_update().select_related("job").get(pk=shard_id)
        if shard.status == JobShard.Status.DONE:
            return
        job = shard.job
        JobShard.objects.filter(pk=shard.pk).update(
            status=JobShard.Status.RUNNING, attempts=F("attempts") + 1, worker=socket.gethostname()
        )
        Job.objects.filter(pk=job.pk, status=Job.Status.PENDING).update(
            status=Job.Status.RUNNING, started_at=timezone.now()
        )
    try:
        body: ShardBody = import_string(SHARD_BODIES[job.kind])
        if shard.unit:
            write = body(job, list(shard.instance_ids), unit=shard.unit)  # type: ignore[call-arg]
        else:
            write = body(job, list(shard.instance_ids))
        with transaction.atomic():
            # A duplicate delivery may have finished the shard meanwhile: its results stand,
            # and the job's progress is counted once.
            status = JobShard.objects.select_for_update().values_list("status", flat=True)
            if status.get(pk=shard.pk) == JobShard.Status.DONE:
                return
            write()
            JobShard.objects.filter(pk=shard.pk).update(
                status=JobShard.Status.DONE, finished_at=timezone.now(), error=""
            )
            Job.objects.filter(pk=job.pk).update(
                done_shards=F("done_shards") + 1,
                done_items=F("done_items") + len(shard.instance_ids),
            )
    except Exception as exc:
        JobShard.objects.filter(pk=shard.pk).update(status=JobShard.Status.FAILED, error=repr(exc))
        Job.objects.filter(pk=job.pk).update(
            status=Job.Status.FAILED, error=f"shard {shard.index}: {exc!r}"
        )
        raise
    with transaction.atomic():
        if not job.shards.exclude(status=JobShard.Status.DONE).exists():
            Job.objects.filter(pk=job.pk).exclude(status=Job.Status.DONE).update(
                status=Job.Status.DONE, finished_at=timezone.now(), error=""
            )


def job_run(
    job: Job, *, progress: Progress = no_progress, wait: bool = True, poll_seconds: float = 0.5
) -> Job:
    """Run the job's unfinished shards, in-process or on Celery, reporting progress.

    With Celery the shards are queued and, when ``wait``, this waits for workers to
    finish them (a worker's failure marks the job failed). Failed shards of an earlier
    run are retried. An unsaved job (nothing to do, see :func:`job_create`) is returned
    as it is.
    """
    if job.pk is None:
        return job
    pending = list(job.shards.exclude(status=JobShard.Status.DONE).values_list("pk", flat=True))
    if pending:
        Job.objects.filter(pk=job.pk).update(status=Job.Status.PENDING, error="")
    if not settings.CELERY_BROKER_URL:
        for shard_id in pending:
            try:
                job_shard_run(shard_id)
            except Exception:  # noqa: BLE001  (recorded on the job and shard; callers report it)
                job.refresh_from_db()
                return job
            job.refresh_from_db()
            progress(job.done_items, job.total_items, job.get_kind_display())
        return job
    for shard_id in pending:
        transaction.on_commit(functools.partial(_enqueue, shard_id))
    if not wait:
        return job
    while True:
        job.refresh_from_db()
        progress(job.done_items, job.total_items, job.get_kind_display())
        if job.status in (Job.Status.DONE, Job.Status.FAILED):
            return job
        time.sleep(poll_seconds)


def job_start(job: Job) -> Job:
    """Start the job without waiting for it and without computing in this process.

    On Celery workers when a broker is set; otherwise in a child process running
    ``manage.py run_job`` (the embedded default). A web request that starts a job
    therefore returns at once and never loads torch or a model: the job's page shows
    its progress. The start waits for the caller's transaction to commit, so the
    job's rows are there for whoever runs it.
    """
    if job.pk is None:
        return job
    if settings.CELERY_BROKER_URL:
        return job_run(job, wait=False)
    transaction.on_commit(functools.partial(_spawn, job.pk))
    return job


def _spawn(job_id: int) -> None:
    """Run the job in a child process of its own session (it outlives a worker restart)."""
    manage = Path(settings.BASE_DIR) / "manage.py"
    subprocess.Popen(  # noqa: S603  (our interpreter, our manage.py, an integer argument)
        [sys.executable, str(manage), "run_job", str(int(job_id)), "--verbosity", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )


def _enqueue(shard_id: int) -> None:
    celery_app.send_task(RUN_SHARD_TASK, args=[shard_id])
