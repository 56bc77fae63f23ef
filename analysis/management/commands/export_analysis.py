from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.bundle import bundle_write
from analysis.services.options import AnalysisOptions
from studies.models import Study


def find_study(key: str) -> Study:
    """Return the study with id, uid or (unique) name ``key``; raise CommandError otherwise."""
    found = Study.objects.filter(pk=int(key)) if key.isdigit() else Study.objects.none()
    if not found.exists():
        found = Study.objects.filter(uid=key) if len(key) in (32, 36) else found
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
        parser.add_argument("--resamples", type=int, default=1000, help="Bootstrap resamples.")
        parser.add_argument("--seed", type=int, default=0, help="Bootstrap seed.")
        parser.add_argument("--level", type=float, default=0.95, help="Confidence level.")

    def handle(self, *args: Any, **options: Any) -> None:
        study = find_study(options["study"])
        settings = AnalysisOptions(
            n_resamples=options["resamples"], seed=options["seed"], level=options["level"]
        )
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
