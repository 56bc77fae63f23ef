"""Celery tasks (used only when CELERY_BROKER_URL is set)."""

from celery import shared_task

from explanations.services.jobs import job_shard_run


@shared_task(name="explanations.run_shard", acks_late=True)
def run_shard(shard_id: int) -> None:
    """Compute one shard of a job; safe to deliver twice."""
    job_shard_run(shard_id)
