from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.io.datasets import FORMATS
from explanations.io.problems import ImportFailed
from explanations.management.progress import progress_bar
from explanations.services.datasets import dataset_import


class Command(BaseCommand):
    help = "Import a dataset (JSONL, CSV or an ERASER folder), all or nothing."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--name", required=True, help="Dataset name (a slug).")
        parser.add_argument("--format", choices=FORMATS, help="Default: from the path.")
        parser.add_argument("--labels", help="Comma-separated label names, in index order.")
        parser.add_argument("--owner", help="Username of the researcher who owns it.")
        parser.add_argument("--description", default="")
        parser.add_argument(
            "--append",
            action="store_true",
            help="Add the file's new ids to an existing dataset --name. Without it an existing "
            "name is refused, saying what the file would add; stored instances never change.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        owner = None
        if options["owner"]:
            owner = get_user_model().objects.filter(username=options["owner"]).first()
            if owner is None:
                raise CommandError(f"--owner {options['owner']!r}: no such user")
        labels = options["labels"].split(",") if options["labels"] else None
        try:
            with progress_bar(self.stderr, disable=options["verbosity"] == 0) as progress:
                result = dataset_import(
                    path=options["path"],
                    name=options["name"],
                    fmt=options["format"],
                    owner=owner,
                    label_names=labels,
                    description=options["description"],
                    append=options["append"],
                    progress=progress,
                )
        except ImportFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Dataset {result.dataset.name}: {result.created} instances added, {result.unchanged} "
            f"already stored, {result.rationales} rationales; labels {', '.join(result.dataset.label_names)}."
        )
