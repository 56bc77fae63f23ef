from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.models import Dataset
from explanations.services.model_import import label_map_parse, model_import


class Command(BaseCommand):
    help = (
        "Import a Hugging Face sequence classifier from a save_pretrained folder (offline; "
        "config, model.safetensors or pytorch_model.bin, and a fast tokenizer's tokenizer.json)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path, help="The folder written by save_pretrained.")
        parser.add_argument("--name", required=True, help="Model name (letters, digits, - or _).")
        parser.add_argument("--dataset", required=True, help="The dataset the model classifies.")
        parser.add_argument(
            "--label-map",
            help="dataset_label=model_label pairs, e.g. neg=NEGATIVE,pos=POSITIVE "
            "(default: the model's id2label, matched ignoring case).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = Dataset.objects.filter(name=options["dataset"]).first()
        if dataset is None:
            raise CommandError(f"--dataset {options['dataset']!r}: no such dataset")
        try:
            model = model_import(
                path=options["path"],
                name=options["name"],
                dataset=dataset,
                label_map=label_map_parse(options["label_map"]),
            )
        except ValueError as exc:  # ModelFolderError is a ValueError
            raise CommandError(str(exc)) from exc
        config = model.config
        self.stdout.write(
            f"Model {model.name}: {config['model_type']} ({', '.join(config['architectures'])}), "
            f"labels {', '.join(model.label_names)}, max length {config['max_length']} pieces, "
            f"tokenizer {config['tokenizer_class']}; weights sha256 {model.weights_sha256}."
        )
