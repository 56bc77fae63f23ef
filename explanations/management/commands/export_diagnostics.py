"""``export_diagnostics --model M --out DIR``: CSV, SVG and parameters of attention under test."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.diagnostic_report import diagnostics_export
from explanations.management.lookups import model_named
from explanations.models import Dataset


class Command(BaseCommand):
    help = (
        "Export a model's stored attention diagnostics: a CSV per experiment, its SVG figure "
        "and parameters.json (definitions, every parameter, summary tables, what was skipped)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True)
        parser.add_argument("--out", required=True, type=Path)
        parser.add_argument("--dataset", help="Default: the model's dataset.")

    def handle(self, *args: Any, **options: Any) -> None:
        model = model_named(options["model"])
        name = options["dataset"]
        dataset = Dataset.objects.filter(name=name).first() if name else model.dataset
        if dataset is None:
            raise CommandError(
                f"--dataset {name!r}: no such dataset"
                if name
                else f"--dataset: model {model.name} has no dataset; name one"
            )
        try:
            written = diagnostics_export(model=model, dataset=dataset, out=options["out"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for path in written:
            self.stdout.write(str(path))
