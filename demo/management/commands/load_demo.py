from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from demo.services import demo_datasets_ensure, demo_models_ensure, demo_researcher_ensure
from explanations.management.progress import progress_bar


class Command(BaseCommand):
    help = "Load the demo: a researcher account and the shipped datasets (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="http://127.0.0.1:8000", help="Base URL printed in links."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user, account = demo_researcher_ensure()
        with progress_bar(self.stderr, disable=options["verbosity"] == 0) as progress:
            datasets = demo_datasets_ensure(owner=user, progress=progress)
            models = demo_models_ensure(owner=user, progress=progress)
        base = options["host"].rstrip("/")
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(f"  Researcher login: {base}/accounts/login/")
        self.stdout.write(f"    username: {account.username}")
        self.stdout.write(f"    password: {account.password}")
        for dataset in datasets:
            self.stdout.write(f"  Dataset {dataset.name}: {base}{dataset.get_absolute_url()}")
        for model in models:
            self.stdout.write(f"  Model {model.name} scores: {base}/models/{model.name}/scores/")
