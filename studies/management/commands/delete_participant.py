"""``delete_participant --study ID --platform-id X | --pseudonym P``: delete on request.

The participant's answers and everything derived from them leave the study's data and every
later analysis; the deletion is logged by pseudonym (``studies.services.privacy``).
"""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from studies.models import Study
from studies.services.privacy import participant_data_delete

OPTION = {"platform_id": "--platform-id", "pseudonym": "--pseudonym"}


class Command(BaseCommand):
    help = (
        "Delete one participant's answers (and what was derived from them) at their request; "
        "the deletion is logged by pseudonym and listed in the study's bundle."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--study", required=True, type=int, help="Study id.")
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--platform-id", help="The Prolific PID or MTurk worker id.")
        who.add_argument("--pseudonym", help="The pseudonym in the exports (p_...).")
        parser.add_argument("--reason", default="", help="Why (kept in the log, not exported).")
        parser.add_argument(
            "--by", default=None, help="User name recorded as who deleted (default: none)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        study = Study.objects.filter(pk=options["study"]).first()
        if study is None:
            raise CommandError(f"--study {options['study']}: no study with this id")
        actor = None
        if options["by"]:
            actor = get_user_model()._default_manager.filter(username=options["by"]).first()
            if actor is None:
                raise CommandError(f"--by {options['by']!r}: no user with this name")
        try:
            log = participant_data_delete(
                study=study,
                actor=actor,
                platform_id=options["platform_id"],
                pseudonym=options["pseudonym"],
                reason=options["reason"],
            )
        except ValidationError as exc:
            raise CommandError(
                "; ".join(
                    f"{OPTION.get(field, field)}: {' '.join(messages)}"
                    for field, messages in exc.message_dict.items()
                )
            ) from None
        except PermissionDenied as exc:
            raise CommandError(f"--by {options['by']!r}: {exc}") from None
        self.stdout.write(
            f"Deleted participant {log.pseudonym} of study {study.pk}: {log.answers} answer(s), "
            f"{log.questionnaire_answers} questionnaire answer(s), {log.rationales} rationale(s). "
            "Their place on the list stays taken (not given to anyone else)."
        )
