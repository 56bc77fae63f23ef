"""``run_job JOB_ID``: compute a job's unfinished shards here, with a progress bar.

What a page or the API starts with no Celery broker runs as this command in a child
process (``explanations.services.jobs.job_start``); it also resumes a job whose worker
was lost, and retries a failed job's failed shards.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.management.progress import progress_bar
from explanations.models import Job
from explanations.services.jobs import job_run


class Command(BaseCommand):
    help = "Compute a job's unfinished shards in this process (resume or retry a job)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job", type=int, help="The job's id (its page shows it).")

    def handle(self, *args: Any, **options: Any) -> None:
        job = Job.objects.filter(pk=options["job"]).first()
        if job is None:
            raise CommandError(f"job {options['job']}: no such job")
        with progress_bar(self.stderr, disable=options["verbosity"] == 0) as progress:
            job = job_run(job, progress=progress)
        if job.status == Job.Status.FAILED:
            raise CommandError(f"job {job.pk} failed: {job.error}")
        self.stdout.write(f"Job {job.pk}: {job.status}, {job.done_items}/{job.total_items} items.")
