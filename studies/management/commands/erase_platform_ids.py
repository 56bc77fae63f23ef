"""``erase_platform_ids [--dry-run] [--days N]``: retention of Prolific and MTurk ids.

For every study closed more than ``ELEPHANT_PLATFORM_ID_RETENTION_DAYS`` days ago (or
``--days``), blank its participants' platform ids; pseudonyms stay the same. Run it daily
(cron, a systemd timer, or a scheduled Celery task).
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from studies.services.privacy import platform_ids_erase, retention_cutoff


class Command(BaseCommand):
    help = (
        "Erase the Prolific and MTurk ids of participants of studies closed longer than the "
        "retention period (ELEPHANT_PLATFORM_ID_RETENTION_DAYS); pseudonyms stay."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Print what would be erased; change nothing."
        )
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help="Retention in days after closing (default: ELEPHANT_PLATFORM_ID_RETENTION_DAYS).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            cutoff = retention_cutoff(days=options["days"])
            erased = platform_ids_erase(days=options["days"], dry_run=options["dry_run"])
        except ValidationError as exc:
            raise CommandError(f"--days: {' '.join(exc.messages)}") from None
        verb = "would erase" if options["dry_run"] else "erased"
        for e in erased:
            self.stdout.write(
                f"study {e.study_id} ({e.study_name}), closed {e.closed_at:%Y-%m-%d}: {verb} "
                f"{e.ids} platform id(s) of {e.participants} participant(s)"
            )
        total = sum(e.ids for e in erased)
        self.stdout.write(
            f"{len(erased)} study(ies) closed before {cutoff:%Y-%m-%d %H:%M} UTC: {verb} "
            f"{total} platform id(s)"
            + (" (dry run: nothing changed)" if options["dry_run"] else "")
        )
