from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.compute.architectures import ARCHITECTURES, ATTENTION_KINDS
from explanations.management.progress import progress_bar
from explanations.models import Dataset
from explanations.services.modeling import model_train


class Command(BaseCommand):
    help = "Train a classifier on a dataset (seeded, held-out split, early stopping)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dataset", required=True)
        parser.add_argument("--architecture", required=True, choices=ARCHITECTURES)
        parser.add_argument("--name", required=True, help="Model name (a slug).")
        parser.add_argument("--epochs", type=int, default=20)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--embedding-dim", type=int, help="Default: the architecture's.")
        parser.add_argument("--hidden-dim", type=int, help="Default: the architecture's.")
        parser.add_argument(
            "--attention",
            choices=ATTENTION_KINDS,
            help="bilstm_attention only: learned (default) or uniform, frozen to 1/length "
            "over the real tokens (Wiegreffe & Pinter's baseline).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = Dataset.objects.filter(name=options["dataset"]).first()
        if dataset is None:
            raise CommandError(f"--dataset {options['dataset']!r}: no such dataset")
        config = {
            key: options[opt]
            for key, opt in (("embedding_dim", "embedding_dim"), ("hidden_dim", "hidden_dim"))
            if options[opt] is not None
        }
        if options["attention"] is not None:
            if options["architecture"] != "bilstm_attention":
                raise CommandError(
                    f"--attention applies to bilstm_attention only: the {options['architecture']} "
                    "has no single attention vector to freeze"
                )
            config["attention"] = options["attention"]
        try:
            with progress_bar(self.stderr, disable=options["verbosity"] == 0) as progress:
                model = model_train(
                    dataset=dataset,
                    name=options["name"],
                    architecture=options["architecture"],
                    epochs=options["epochs"],
                    seed=options["seed"],
                    config=config,
                    progress=progress,
                )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        m = model.training_metrics
        self.stdout.write(
            f"Model {model.name}: held-out accuracy {m['accuracy']:.3f}, macro-F1 {m['macro_f1']:.3f} "
            f"(majority baseline {m['majority_baseline']:.3f}); weights sha256 {model.weights_sha256}."
        )
