from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.management.lookups import model_and_dataset
from explanations.management.progress import progress_bar
from explanations.services.model_store import ModelUnavailable
from explanations.services.modeling import model_predict


class Command(BaseCommand):
    help = "Store a model's predictions for every instance of a dataset."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--model", required=True)
        parser.add_argument("--dataset", required=True)

    def handle(self, *args: Any, **options: Any) -> None:
        model, dataset = model_and_dataset(options)
        try:
            with progress_bar(self.stderr, disable=options["verbosity"] == 0) as progress:
                count = model_predict(model=model, dataset=dataset, progress=progress)
        except ModelUnavailable as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Stored {count} predictions of {model.name} on {dataset.name}.")
