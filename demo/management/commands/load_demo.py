from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from demo.services import (
    demo_datasets_ensure,
    demo_models_ensure,
    demo_participants_simulate,
    demo_researcher_ensure,
    demo_studies_ensure,
)
from explanations.io.problems import ImportFailed
from explanations.management.progress import progress_bar
from explanations.services.model_store import ModelUnavailable


class Command(BaseCommand):
    help = "Load the demo: a researcher account and the shipped datasets (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--host", default="http://127.0.0.1:8000", help="Base URL printed in links."
        )
        parser.add_argument(
            "--simulate-participants",
            type=int,
            default=0,
            metavar="N",
            help=(
                "Add up to N simulated participants' answers to each demo study (marked as "
                "simulated); they take at most half of each list's places, rounded down, so the "
                "other half stays for people and every printed link lets one through."
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user, account = demo_researcher_ensure()
            with progress_bar(self.stderr, disable=options["verbosity"] == 0) as progress:
                datasets = demo_datasets_ensure(owner=user, progress=progress)
                models = demo_models_ensure(owner=user, progress=progress)
            studies = demo_studies_ensure(owner=user)
            simulated = demo_participants_simulate(
                studies=[d.study for d in studies], n=options["simulate_participants"]
            )
        except ValidationError as exc:
            raise CommandError(f"the demo could not be loaded: {'; '.join(exc.messages)}") from exc
        except (ValueError, ImportFailed, ModelUnavailable, RuntimeError) as exc:
            raise CommandError(f"the demo could not be loaded: {exc}") from exc
        base = options["host"].rstrip("/")
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(f"  Researcher login: {base}/accounts/login/")
        self.stdout.write(f"    username: {account.username}")
        self.stdout.write(f"    password: {account.password}")
        for dataset in datasets:
            self.stdout.write(f"  Dataset {dataset.name}: {base}{dataset.get_absolute_url()}")
        for model in models:
            self.stdout.write(f"  Model {model.name} scores: {base}/models/{model.name}/scores/")
        for demo in studies:
            study = demo.study
            self.stdout.write(
                f"  Study {study.name!r} ({study.study_type}, {study.status}): {base}/studies/{study.pk}/"
            )
            self.stdout.write(f"    anonymous link:  {base}{demo.anonymous_path}")
            self.stdout.write(f"    Prolific-style:  {base}{demo.prolific_path}")
            if demo.invitation_path:
                self.stdout.write(f"    invitation link: {base}{demo.invitation_path}")
            if simulated.get(study.pk):
                self.stdout.write(
                    f"    {options['simulate_participants']} asked, {simulated[study.pk]} "
                    "simulated: half of each list's places stay for people "
                    "(simulated participants are marked as such)"
                )
                self.stdout.write(
                    f"    analysis: {base}{reverse('analysis:study-analysis', args=[study.pk])}"
                )
