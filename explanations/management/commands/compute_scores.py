from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.management.lookups import model_and_dataset
from explanations.management.progress import progress_bar
from explanations.models import Job
from explanations.services.computing import ALL_METRICS, DEFAULT_METRICS, scores_compute
from explanations.services.model_store import ModelUnavailable


class Command(BaseCommand):
    help = (
        "Compute faithfulness and plausibility scores of a model's explanations as a sharded job."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True)
        parser.add_argument("--dataset", required=True)
        parser.add_argument(
            "--methods", help="Comma-separated (default: every method with explanations)."
        )
        parser.add_argument(
            "--metrics",
            default=",".join(DEFAULT_METRICS),
            help=f"Comma-separated, from {', '.join(ALL_METRICS)}.",
        )
        parser.add_argument("--force", action="store_true")
        parser.add_argument("--no-wait", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        model, dataset = model_and_dataset(options)
        methods = [m for m in (options["methods"] or "").split(",") if m] or None
        metrics = [m for m in options["metrics"].split(",") if m]
        try:
            with progress_bar(self.stderr, disable=options["verbosity"] == 0) as progress:
                job = scores_compute(
                    model=model,
                    dataset=dataset,
                    methods=methods,
                    metrics=metrics,
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
