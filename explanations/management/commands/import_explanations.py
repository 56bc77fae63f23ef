from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.io.problems import ImportFailed
from explanations.management.progress import progress_bar
from explanations.models import Dataset
from explanations.services.explanations import explanations_import


class Command(BaseCommand):
    help = "Import explanations computed elsewhere (JSON lines), all or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--model", required=True, help="Model name; created if new.")
        parser.add_argument("--dataset", required=True, help="Dataset name.")

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = Dataset.objects.filter(name=options["dataset"]).first()
        if dataset is None:
            raise CommandError(
                f"--dataset {options['dataset']!r}: no such dataset; import it first"
            )
        try:
            with progress_bar(self.stderr, disable=options["verbosity"] == 0) as progress:
                result = explanations_import(
                    path=options["path"],
                    model_name=options["model"],
                    dataset=dataset,
                    progress=progress,
                )
        except ImportFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Model {result.model.name}: {result.written} explanations written.")
