"""``create_researcher USERNAME``: an account for running studies, not a superuser.

The password never goes on the command line (shell history, ``ps``): it comes from an
environment variable, from a prompt on a terminal (like ``createsuperuser``), or there is
none yet (``--no-password``; set one later with ``changepassword``).
"""

import argparse
import getpass
import os
import sys
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from studies.services.researchers import researcher_create, researcher_username_check

PROMPTS = 3


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(
            f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
        )
    return " ".join(exc.messages)


class Command(BaseCommand):
    help = "Create a researcher: an active account that is neither staff nor superuser."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        # Otherwise "--password SECRET" would be read as "--password-from-env SECRET".
        parser.allow_abbrev = False
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        # Accepted only to refuse it without echoing the value (argparse would print it).
        parser.add_argument("--password", help=argparse.SUPPRESS)
        parser.add_argument("--email", default="", help="The researcher's email address.")
        source = parser.add_mutually_exclusive_group()
        source.add_argument(
            "--password-from-env",
            metavar="VAR",
            help="Read the password from environment variable VAR.",
        )
        source.add_argument(
            "--no-password",
            action="store_true",
            help="Create the account without a usable password (set one with changepassword).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username, email = options["username"], options["email"]
        if options["password"] is not None:
            raise CommandError(
                "--password: a password is never given on the command line (shell history, "
                "process list); use --password-from-env VAR, the prompt, or --no-password"
            )
        if options["no_password"]:
            password = None
        elif options["password_from_env"]:
            name = options["password_from_env"]
            password = os.environ.get(name, "")
            if not password:
                raise CommandError(f"--password-from-env {name}: that variable is not set or empty")
        elif sys.stdin.isatty():
            return self._create_prompting(username, email)
        else:
            raise CommandError(
                "password: no terminal to prompt on; pass --password-from-env VAR or --no-password"
            )
        self._create(username=username, email=email, password=password)

    def _create(self, *, username: str, email: str, password: str | None) -> None:
        try:
            user = researcher_create(username=username, email=email, password=password)
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        note = "" if password is not None else " (no password yet: set one with changepassword)"
        self.stdout.write(f"Researcher {user.username} created{note}.")

    def _create_prompting(self, username: str, email: str) -> None:
        """Ask for the password (twice) and retry a refused one, like createsuperuser."""
        try:
            # A taken or malformed name is refused before anyone types a password.
            researcher_username_check(username=username)
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        for _ in range(PROMPTS):
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                self.stderr.write("Error: the two passwords differ.")
                continue
            try:
                user = researcher_create(username=username, email=email, password=password)
            except ValidationError as exc:
                if hasattr(exc, "error_dict") and set(exc.message_dict) == {"password"}:
                    self.stderr.write(f"Error: {_messages(exc)}")
                    continue
                raise CommandError(_messages(exc)) from exc
            self.stdout.write(f"Researcher {user.username} created.")
            return
        raise CommandError(f"password: no acceptable password after {PROMPTS} attempts")
