"""``run_diagnostics --model M --dataset D [--experiments a,b]``: attention under test."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.management.lookups import model_and_dataset
from explanations.management.progress import progress_bar
from explanations.models import Job
from explanations.services.diagnostics import EXPERIMENTS, diagnostics_run
from explanations.services.model_store import ModelUnavailable


class Command(BaseCommand):
    help = (
        "Run the attention diagnostics (J&W correlation, permutation, adversarial attention; "
        "S&S zeroing) on a model and dataset as a sharded job, and store the results."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True)
        parser.add_argument("--dataset", required=True)
        parser.add_argument(
            "--experiments",
            help=f"Comma-separated, from {', '.join(EXPERIMENTS)} "
            "(default: every one the model supports).",
        )
        parser.add_argument(
            "--parameters",
            help='JSON object per experiment, e.g. \'{"permutation": {"permutations": 50}}\'.',
        )
        parser.add_argument("--no-wait", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        model, dataset = model_and_dataset(options)
        experiments = [e for e in (options["experiments"] or "").split(",") if e] or None
        try:
            parameters = json.loads(options["parameters"]) if options["parameters"] else None
        except json.JSONDecodeError as exc:
            raise CommandError(f"--parameters: expected a JSON object ({exc})") from exc
        if parameters is not None and not isinstance(parameters, dict):
            raise CommandError("--parameters: expected a JSON object of experiment: {name: value}")
        try:
            with progress_bar(self.stderr, disable=options["verbosity"] == 0) as progress:
                job = diagnostics_run(
                    model=model,
                    dataset=dataset,
                    experiments=experiments,
                    parameters=parameters,
                    progress=progress,
                    wait=not options["no_wait"],
                )
        except (ValueError, ModelUnavailable) as exc:
            raise CommandError(str(exc)) from exc
        if job.status == Job.Status.FAILED:
            raise CommandError(f"job {job.pk} failed: {job.error}")
        if job.pk is None:
            self.stdout.write(f"Nothing to diagnose: dataset {dataset.name} has no instances.")
            return
        for name, reason in job.parameters["skipped"].items():
            self.stdout.write(f"Skipped {name}: {reason}")
        self.stdout.write(
            f"Job {job.pk} ({job.backend}): {job.status}, {job.done_items}/{job.total_items} "
            "items (each instance once, and each held-out instance once per model trained); "
            f"experiments {', '.join(job.parameters['experiments'])}."
        )
