from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from explanations.management.lookups import model_named
from explanations.services.explanations import explanations_export


class Command(BaseCommand):
    help = (
        "Export a model's explanations in the import format (JSON lines); those of a Hugging "
        "Face model also give seen_words and words (how many words of how many it saw)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--model", required=True)
        parser.add_argument("--methods", help="Comma-separated method names (default: all).")

    def handle(self, *args: Any, **options: Any) -> None:
        model = model_named(options["model"])
        methods = options["methods"].split(",") if options["methods"] else None
        count = explanations_export(model=model, path=options["path"], methods=methods)
        self.stdout.write(f"Wrote {count} explanations to {options['path']}.")
