from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from explanations.compute.hf.alignment import POOLINGS
from explanations.io.problems import ImportFailed
from explanations.io.subword import FORMATS, THERMOSTAT_ID_FIELD
from explanations.management.progress import progress_bar
from explanations.models import Dataset
from explanations.services.explanations import explanations_import


class Command(BaseCommand):
    help = (
        "Import explanations computed elsewhere (JSON lines), all or nothing: one score per "
        "word (jsonl), or one per subword piece of a model imported with import_model "
        "(subword, thermostat), pooled to words."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--model",
            required=True,
            help="Model name; created if new (jsonl only: subword formats need an imported model).",
        )
        parser.add_argument("--dataset", required=True, help="Dataset name.")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default="jsonl",
            help="jsonl: {instance, method, scores, params} one score per word (default); "
            "subword: {instance, method, input_ids or pieces, scores, params}; "
            "thermostat: Thermostat's JSON lines (input_ids, attributions, predictions).",
        )
        parser.add_argument(
            "--method",
            help="thermostat: the method the file's explainer computed (e.g. integrated_gradients "
            "for LayerIntegratedGradients).",
        )
        parser.add_argument(
            "--id-field",
            help=f"thermostat: the field holding the instance id (default {THERMOSTAT_ID_FIELD}).",
        )
        parser.add_argument(
            "--pooling",
            choices=POOLINGS,
            help="subword, thermostat: pooling of a word's pieces for lines that name none "
            "(default: the method's, as for computed explanations).",
        )

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
                    fmt=options["format"],
                    method=options["method"],
                    id_field=options["id_field"],
                    pooling=options["pooling"],
                    progress=progress,
                )
        except ImportFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Model {result.model.name}: {result.written} explanations written.")
