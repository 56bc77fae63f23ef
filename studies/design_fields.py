"""The design fields every study has, declared once.

Each is an :class:`~studies.types.base.Option` (name, type, range, default, human label,
help), like a study type's own options. The design form's fields
(:mod:`studies.forms`), the API's fields (:mod:`studies.api.serializers`), the service's
validation and copying (:mod:`studies.services.design`) and the bundle's manifest and
codebook (:mod:`analysis.bundle`) are derived from :data:`DESIGN_FIELDS`, so a range is
checked with the same message everywhere. ``Study``'s model fields keep their own
definitions (a migration is their history); a test holds their defaults to these.

Fields with structure of their own (the name, dataset, model and methods, the check
positions, the questionnaire, the comprehension checks, the entry sources, the texts and
the completion code) are validated by the design service.
"""

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError

from studies.models import Study
from studies.types.base import Option

# Documented upper bounds: far above any real study, low enough that nothing downstream
# (a time limit added to a datetime, a count of places, a database integer) can overflow.
MAX_SEED = 2**31 - 1  # a 32-bit database integer
MAX_ITEMS = 100_000  # test instances sampled; trials, practice items and top k likewise
MAX_RATINGS_PER_ITEM = 10_000  # participants per list
MAX_MINUTES = 7 * 24 * 60  # a week, for the time limit and the estimate
# Prolific's completion codes are short strings of letters and digits; "-" and "_" are
# allowed too, as in the codes researchers already use (the URL encodes nothing else).
CODE = re.compile(r"[A-Za-z0-9_-]{1,50}")
CODE_EXPECTED = "1 to 50 letters, digits, - or _, or empty for no code"


def code_parser(name: str) -> Any:
    """Return the parser of the outcome code field ``name`` ('' means no code)."""

    def parse(value: Any) -> str:
        text = value.strip() if isinstance(value, str) else value
        if text == "":
            return ""
        if not isinstance(text, str) or not CODE.fullmatch(text):
            raise ValidationError(f"field {name}={value!r}: expected {CODE_EXPECTED}")
        return text

    return parse


DESIGN_FIELDS: tuple[Option, ...] = (
    Option(
        "seed",
        "Seed",
        int,
        0,
        low=-MAX_SEED,
        high=MAX_SEED,
        subject="field",
        help_text="Seeds the sampling of items, the lists' checks and each participant's order.",
    ),
    Option(
        "n_items",
        "Test instances",
        int,
        20,
        low=1,
        high=MAX_ITEMS,
        subject="field",
        help_text="Test instances sampled.",
    ),
    Option(
        "items_per_participant",
        "Items per participant",
        int,
        None,
        low=1,
        nullable=True,
        high=MAX_ITEMS,
        subject="field",
        help_text="Test trials per list; empty for all instances.",
    ),
    Option(
        "ratings_per_item",
        "k (judgements per item x method)",
        int,
        3,
        low=1,
        high=MAX_RATINGS_PER_ITEM,
        subject="field",
        help_text="Participants per list, so each item x method is judged k times.",
    ),
    Option(
        "condition_design",
        "Condition design",
        str,
        Study.ConditionDesign.WITHIN.value,
        choices=tuple((value, str(label)) for value, label in Study.ConditionDesign.choices),
        subject="field",
    ),
    Option(
        "balance_outcomes",
        "Balance over TP/FP/TN/FN",
        bool,
        True,
        subject="field",
        help_text="Balance items over TP/FP/TN/FN (or correct/wrong) when gold exists.",
    ),
    Option("practice_count", "Practice items", int, 1, low=0, high=MAX_ITEMS, subject="field"),
    Option(
        "display_mode",
        "Display mode",
        str,
        Study.DisplayMode.HEATMAP.value,
        choices=tuple((value, str(label)) for value, label in Study.DisplayMode.choices),
        subject="field",
    ),
    Option(
        "top_k",
        "Top k",
        int,
        None,
        low=1,
        nullable=True,
        high=MAX_ITEMS,
        subject="field",
        help_text="Highlight only the k strongest tokens; empty for all.",
    ),
    Option("pay", "Pay", str, "", max_length=50, subject="field", help_text='E.g. "£2.00".'),
    Option(
        "estimated_minutes", "Estimated minutes", int, 10, low=1, high=MAX_MINUTES, subject="field"
    ),
    Option(
        "time_limit_minutes",
        "Time limit minutes",
        int,
        60,
        low=1,
        high=MAX_MINUTES,
        subject="field",
        help_text="Unfinished assignments are released to others after this (at most a week).",
    ),
    # Prolific outcomes (issue #16): the code of each outcome besides completion.
    Option(
        "failed_checks_code",
        "Failed attention checks code (Prolific)",
        str,
        "",
        max_length=50,
        parse=code_parser("failed_checks_code"),
        describe=CODE_EXPECTED,
        subject="field",
        help_text="Prolific completion code for people who failed the attention checks; "
        "empty: no code, they are asked to return the submission.",
    ),
    Option(
        "failed_checks_threshold",
        "Failed attention checks that count as failing",
        int,
        2,
        low=1,
        high=MAX_ITEMS,
        subject="field",
        help_text="Prolific lets you act on two or more failed attention checks.",
    ),
    Option(
        "screened_out_code",
        "Screened-out code (Prolific)",
        str,
        "",
        max_length=50,
        parse=code_parser("screened_out_code"),
        describe=CODE_EXPECTED,
        subject="field",
        help_text="Prolific completion code for people who failed the comprehension check "
        "twice; empty: they are asked to return the submission.",
    ),
)
DESIGN: Mapping[str, Option] = {field.name: field for field in DESIGN_FIELDS}


def design_errors(values: Mapping[str, Any]) -> dict[str, str]:
    """Return the message of each declared field of ``values`` out of its range, by name."""
    errors: dict[str, str] = {}
    for field in DESIGN_FIELDS:
        value = values.get(field.name)
        if value is None and not field.nullable:
            errors[field.name] = f"field {field.name} is missing: expected {field.expected()}"
            continue
        try:
            field.clean(value)
        except ValidationError as exc:
            errors[field.name] = exc.messages[0]
    return errors
