import uuid
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.bundle import bundle_write
from analysis.services.options import INTERVALS, RESAMPLING, AnalysisOptions, options_from_query
from studies.models import Study

# Option of AnalysisOptions -> the command's option setting it.
FLAGS = {
    "n_resamples": "resamples",
    "seed": "seed",
    "level": "level",
    "resampling": "resampling",
    "interval": "interval",
}


def _uid(key: str) -> uuid.UUID | None:
    """Return ``key`` as a study uid (32 hex digits, with or without dashes), else None."""
    if len(key) not in (32, 36):
        return None
    try:
        return uuid.UUID(key)
    except ValueError:
        return None


def analysis_options(options: dict[str, Any]) -> AnalysisOptions:
    """Return the analysis options given on the command line; raise CommandError naming one."""
    try:
        return options_from_query(
            {name: options[flag] for name, flag in FLAGS.items() if options.get(flag) is not None}
        )
    except ValidationError as exc:
        raise CommandError(
            "; ".join(
                f"--{FLAGS.get(name, name)}: {' '.join(messages)}"
                for name, messages in exc.message_dict.items()
            )
        ) from None


def find_study(key: str) -> Study:
    """Return the study with id, uid or (unique) name ``key``; raise CommandError otherwise."""
    found = Study.objects.filter(pk=int(key)) if key.isdigit() else Study.objects.none()
    if not found.exists():
        found = Study.objects.filter(uid=uid) if (uid := _uid(key)) else found
    if not found.exists():
        found = Study.objects.filter(name=key)
    if found.count() > 1:
        raise CommandError(f"--study {key!r}: several studies have this name; give the id")
    study = found.select_related("model", "dataset").first()
    if study is None:
        raise CommandError(f"--study {key!r}: no study with this id, uid or name")
    return study


class Command(BaseCommand):
    help = (
        "Export a study's analysis bundle: responses/participants/items CSV, codebook, "
        "results.json, plots (SVG, PNG), an offline report.html and manifest.json."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True, help="Study id, uid or name.")
        parser.add_argument("--out", required=True, type=Path, help="A new or empty folder.")
        default = AnalysisOptions()
        parser.add_argument(
            "--resamples", type=int, default=default.n_resamples, help="Bootstrap resamples."
        )
        parser.add_argument("--seed", type=int, default=default.seed, help="Bootstrap seed.")
        parser.add_argument("--level", type=float, default=default.level, help="Confidence level.")
        parser.add_argument(
            "--resampling",
            choices=RESAMPLING,
            default=default.resampling,
            help="What the bootstrap resamples.",
        )
        parser.add_argument(
            "--interval",
            choices=INTERVALS,
            default=default.interval,
            help="Bootstrap interval: percentile or basic (reverse percentile).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        settings = analysis_options(options)
        study = find_study(options["study"])
        out = Path(options["out"])
        try:
            files = bundle_write(
                study=study,
                out=out,
                options=settings,
                progress=lambda step: self.stdout.write(f"… {step}"),
            )
        except (FileExistsError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Wrote {len(files)} files for study {study.pk} to {out}.")
