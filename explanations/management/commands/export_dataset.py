from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.models import Dataset
from explanations.services.datasets import dataset_export


class Command(BaseCommand):
    help = "Export a dataset in the import format (JSONL or CSV)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = Dataset.objects.filter(name=options["dataset"]).first()
        if dataset is None:
            raise CommandError(f"--dataset {options['dataset']!r}: no such dataset")
        count = dataset_export(dataset=dataset, path=options["path"], fmt=options["format"])
        self.stdout.write(f"Wrote {count} records to {options['path']}.")
