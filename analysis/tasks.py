"""Celery tasks of the analysis (used only when CELERY_BROKER_URL is set)."""

from celery import shared_task

from analysis.services.jobs import analysis_build_run


@shared_task(name="analysis.build_result", acks_late=True)
def build_result(result_id: int) -> None:
    """Build one study's queued analysis; safe to deliver twice (the second does nothing)."""
    analysis_build_run(result_id)
