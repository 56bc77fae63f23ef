"""A study's analysis built by a background job, never inside a request (issue #15).

The analysis of a demo study took 34.6 s inside the request at first view. Now each
(study, options) has one :class:`~analysis.models.AnalysisResult` row keeping the last
result and the state of its build. A page asks :func:`analysis_state_get`, which returns
at once what is kept and queues a build when it is not current; the build
(:func:`analysis_build_run`) runs elsewhere:

* on Celery workers when ``CELERY_BROKER_URL`` is set (the task ``analysis.build_result``,
  :mod:`analysis.tasks`), as the explanation jobs do;
* otherwise in one background thread of the web process, building one analysis at a time
  (the embedded default: no broker, and no more than one build's CPU taken from the
  participants' requests).

Either way the build is queued only once the request's transaction commits, so in tests
(each one transaction, rolled back) nothing runs behind the test's back: a test runs
:func:`analysis_build_run` itself.

One build per row at a time: a build is queued only when none is queued or running (a
row lock, and the write lock on SQLite), and a worker claims it by moving it from pending
to running, so a duplicate delivery does nothing. A build reads the data's fingerprint
before it starts and again when it ends: when the data changed meanwhile its result is
kept as the last one (never shown as current, since its fingerprint is not the data's)
and a new build is queued. A build that failed on the same data is not retried by itself
(it would fail again); the page offers to try again. A queued or running build that gave
no sign of life for :data:`BUILD_TIMEOUT` (a web process restarted under it, a worker
lost) is queued again.
"""

import functools
import logging
import queue
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from analysis.models import AnalysisResult
from config.celery import app as celery_app
from studies.models import Study

from .options import AnalysisOptions
from .results import (
    BUILD_STEPS,
    HEAVY_FIELDS,
    analysis_fingerprint,
    last_deletion,
    result_for,
    result_is_current,
    result_store,
    study_analysis_build,
)

BUILD_TASK = "analysis.build_result"  # defined in analysis/tasks.py
# No progress report for this long: the build is taken for lost and queued again. A step
# (the type's section with 1000 bootstrap resamples) of a large study may take minutes.
BUILD_TIMEOUT = timedelta(minutes=15)
WAITING = "Waiting to start"
logger = logging.getLogger(__name__)
Status = AnalysisResult.Status


@dataclass(frozen=True)
class AnalysisState:
    """What the pages show of one study's analysis: the kept result and its build."""

    result: AnalysisResult  # the row, without its large fields
    current: bool  # the kept result is of the data now stored

    @property
    def shown(self) -> bool:
        """Return whether there is a result to show (current or the last one)."""
        return self.result.has_result

    def as_status(self) -> dict[str, Any]:
        """Return the state as JSON: what the status URL and the API report."""
        result = self.result
        return {
            "status": result.status,
            "current": self.current,
            "computed_at": result.computed_at.isoformat() if result.computed_at else None,
            "fingerprint": result.fingerprint or None,
            "progress": {"step": result.step, "steps": result.steps, "stage": result.stage},
            "error": result.error,
        }


def _lost(result: AnalysisResult) -> bool:
    """Return whether a queued or running build gave no sign of life for too long."""
    seen = result.heartbeat_at or result.requested_at
    return seen is None or timezone.now() - seen > BUILD_TIMEOUT


def _withdraw(result: AnalysisResult) -> None:
    """Stop keeping ``result``'s analysis: a participant's data were deleted since it was read."""
    AnalysisResult.objects.filter(pk=result.pk).update(
        computed_at=None, fingerprint="", results_json="", tables_json="", svgs_json=""
    )
    result.refresh_from_db(fields=["computed_at", "fingerprint"])


def analysis_build_request(
    *, result: AnalysisResult, fingerprint: str, retry: bool = False
) -> bool:
    """Queue a build of ``result`` for the data with ``fingerprint``; return whether queued.

    Nothing is queued while a build is queued or running (unless it is lost), nor after a
    build failed on these same data, unless ``retry``.
    """
    with transaction.atomic():
        row = AnalysisResult.objects.select_for_update().defer(*HEAVY_FIELDS).get(pk=result.pk)
        busy = row.status in (Status.PENDING, Status.RUNNING) and not _lost(row)
        failed = row.status == Status.FAILED and row.build_fingerprint == fingerprint
        if busy or (failed and not retry):
            return False
        AnalysisResult.objects.filter(pk=row.pk).update(
            status=Status.PENDING,
            build_fingerprint=fingerprint,
            requested_at=timezone.now(),
            heartbeat_at=None,
            step=0,
            steps=BUILD_STEPS,
            stage=WAITING,
            error="",
        )
        transaction.on_commit(functools.partial(_dispatch, row.pk))
    result.refresh_from_db(
        fields=["status", "build_fingerprint", "requested_at", "step", "steps", "stage", "error"]
    )
    return True


def analysis_state_get(
    *, study: Study, options: AnalysisOptions, retry: bool = False
) -> AnalysisState:
    """Return the state of the study's analysis with ``options`` at once, never computing it.

    When the kept result is not of the data now stored, a build is queued (see
    :func:`analysis_build_request`; ``retry`` retries one that failed). A kept result read
    before a participant's data were deleted is withdrawn, not shown.
    """
    result = result_for(study=study, options=options)
    fingerprint = analysis_fingerprint(study)
    deletions = last_deletion(study)
    if result.has_result and result.deletions_seen != deletions:
        _withdraw(result)
    current = result_is_current(result, fingerprint=fingerprint, deletions=deletions)
    if not current:
        analysis_build_request(result=result, fingerprint=fingerprint, retry=retry)
    return AnalysisState(result=result, current=current)


def _claim(result_id: int) -> tuple[AnalysisResult, int] | None:
    """Move a queued build to running; return its row and attempt, or None if not queued."""
    now = timezone.now()
    with transaction.atomic():
        row = (
            AnalysisResult.objects.select_for_update()
            .defer(*HEAVY_FIELDS)
            .filter(pk=result_id)
            .first()
        )
        if row is None or row.status != Status.PENDING:
            return None  # the study is gone, or another worker has the build
        attempt = row.attempts + 1
        AnalysisResult.objects.filter(pk=row.pk).update(
            status=Status.RUNNING,
            attempts=attempt,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            step=0,
            stage="Starting",
        )
    return row, attempt


def analysis_build_run(result_id: int) -> None:
    """Build and keep the analysis of row ``result_id`` if it is queued (a worker's task).

    Reports each step on the row; a failure is kept on the row with its error. When the
    data changed while it ran, the result is kept as the last one and a build is queued
    for the new data.
    """
    claimed = _claim(result_id)
    if claimed is None:
        return
    row, attempt = claimed
    mine = AnalysisResult.objects.filter(pk=result_id, attempts=attempt)

    def progress(step: int, steps: int, stage: str) -> None:
        try:
            mine.update(step=step, steps=steps, stage=stage[:200], heartbeat_at=timezone.now())
        except DatabaseError:  # a progress report is worth less than the build it reports
            logger.warning("analysis build %s: progress not recorded", result_id, exc_info=True)

    study = Study.objects.select_related("model", "dataset").get(pk=row.study_id)
    row.study = study
    fingerprint = analysis_fingerprint(study)
    deletions = last_deletion(study)
    try:
        analysis = study_analysis_build(
            study=study, options=AnalysisOptions(**row.options), progress=progress
        )
    except Exception as exc:
        logger.exception("analysis of study %s (result %s) failed", study.pk, result_id)
        mine.update(
            status=Status.FAILED,
            build_fingerprint=fingerprint,
            error=f"{type(exc).__name__}: {exc}",
            finished_at=timezone.now(),
        )
        return
    with transaction.atomic():
        result_store(result=row, analysis=analysis, fingerprint=fingerprint, deletions=deletions)
        live = analysis_fingerprint(study)
        if live == fingerprint:
            mine.update(
                status=Status.DONE, finished_at=timezone.now(), step=BUILD_STEPS, stage="Done"
            )
            return
        queued = mine.update(
            status=Status.PENDING,
            build_fingerprint=live,
            requested_at=timezone.now(),
            heartbeat_at=None,
            finished_at=timezone.now(),
            step=0,
            stage=f"{WAITING} (the answers changed while it was computed)",
        )
        if queued:
            transaction.on_commit(functools.partial(_dispatch, result_id))


class _Builder:
    """The in-process backend: one daemon thread building queued analyses one at a time."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def submit(self, result_id: int) -> None:
        """Queue ``result_id``, starting the thread if this process has none yet."""
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._work, name="analysis-builds", daemon=True
                )
                self._thread.start()
        self._queue.put(result_id)

    def _work(self) -> None:
        while True:
            result_id = self._queue.get()
            try:
                analysis_build_run(result_id)
            except Exception:
                logger.exception("analysis build %s failed", result_id)
            finally:
                connection.close()  # the thread's own connection; the next build opens one


_builder = _Builder()


def _dispatch(result_id: int) -> None:
    """Hand a queued build to Celery when a broker is set, else to this process's thread."""
    if settings.CELERY_BROKER_URL:
        celery_app.send_task(BUILD_TASK, args=[result_id])
    else:
        _builder.submit(result_id)
