from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.compute.registry import method_names
from explanations.management.lookups import model_and_dataset
from explanations.management.progress import progress_bar
from explanations.models import Job
from explanations.services.computing import explanations_compute
from explanations.services.model_store import ModelUnavailable


class Command(BaseCommand):
    help = "Compute explanations as a sharded job (in-process, or Celery when CELERY_BROKER_URL is set)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True)
        parser.add_argument("--dataset", required=True)
        parser.add_argument(
            "--methods",
            default="",
            help=(
                f"Comma-separated; from {', '.join(method_names())}. "
                "Default: every method the model supports."
            ),
        )
        parser.add_argument(
            "--force", action="store_true", help="Recompute what is stored already."
        )
        parser.add_argument(
            "--no-wait", action="store_true", help="With Celery: queue the shards and return."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        model, dataset = model_and_dataset(options)
        methods = [m.strip() for m in options["methods"].split(",") if m.strip()] or None
        try:
            with progress_bar(self.stderr, disable=options["verbosity"] == 0) as progress:
                job = explanations_compute(
                    model=model,
                    dataset=dataset,
                    methods=methods,
                    force=options["force"],
                    progress=progress,
                    wait=not options["no_wait"],
                )
        except (ValueError, ModelUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        if job.status == Job.Status.FAILED:
            raise CommandError(f"job {job.pk} failed: {job.error}")
        if job.pk is None:  # every instance already done: no job was created
            self.stdout.write("Nothing to compute: every instance is already done.")
            return
        self.stdout.write(
            f"Job {job.pk} ({job.backend}): {job.status}, {job.done_items}/{job.total_items} instances."
        )
