"""Comprehension checks: questions on the instructions, answered before the first trial.

A check is a list of multiple-choice questions, each ``{"key", "prompt", "options",
"answer"}`` with ``answer`` the index of the right option. The design form writes one
question per line, options after ``|`` and the right one marked with ``*``::

    What do darker highlights mean? | Nothing | *Words that mattered more | Typos

Prolific's attention and comprehension check policy asks for comprehension checks at the
start of a study and for a second attempt before anyone is screened out; the participant
pages give exactly two (:data:`ATTEMPTS`).
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from studies.types.answers import whole_number

ATTEMPTS = 2
MAX_QUESTIONS = 20
MAX_OPTIONS = 10
MAX_TEXT = 500
HELP = (
    'One question per line: "question | option | *right option | option" (the right option '
    "marked with *; 2 to 10 options)."
)


@dataclass(frozen=True)
class Graded:
    """One attempt: the option chosen per question key, and the keys answered wrongly."""

    answers: dict[str, int]
    wrong: list[str]

    @property
    def passed(self) -> bool:
        return not self.wrong


def _from_line(number: int, line: str) -> dict[str, Any]:
    prompt, *options = (part.strip() for part in line.split("|"))
    marked = [k for k, option in enumerate(options) if option.startswith("*")]
    if len(marked) != 1:
        raise ValidationError(
            f"comprehension_checks, line {number}: mark exactly one option as right with *"
        )
    options = [option.removeprefix("*").strip() for option in options]
    return {"key": f"c{number}", "prompt": prompt, "options": options, "answer": marked[0]}


def parse_checks(raw: str | Sequence[Any]) -> list[dict[str, Any]]:
    """Return the checks from the one-per-line text or a list; raise naming the line.

    An empty text or list means no comprehension check.
    """
    rows: list[tuple[int, Any]]
    if isinstance(raw, str):
        rows = []
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                rows.append((number, _from_line(number, line.strip())))
    else:
        rows = list(enumerate(raw, start=1))
    if len(rows) > MAX_QUESTIONS:
        raise ValidationError(f"comprehension_checks: at most {MAX_QUESTIONS} questions")
    checks = []
    for number, row in rows:
        where = f"comprehension_checks, line {number}"
        if not isinstance(row, Mapping):
            raise ValidationError(f"{where}: expected a question with options")
        prompt, options, answer = row.get("prompt"), row.get("options"), row.get("answer")
        if not isinstance(prompt, str) or not prompt.strip() or len(prompt) > MAX_TEXT:
            raise ValidationError(f"{where}: expected a question of 1 to {MAX_TEXT} characters")
        if (
            not isinstance(options, list)
            or not 2 <= len(options) <= MAX_OPTIONS
            or not all(isinstance(o, str) and o.strip() and len(o) <= MAX_TEXT for o in options)
        ):
            raise ValidationError(
                f"{where}: expected 2 to {MAX_OPTIONS} options, none empty or over "
                f"{MAX_TEXT} characters"
            )
        if len({o.strip() for o in options}) != len(options):
            raise ValidationError(f"{where}: each option may appear once")
        if (
            not isinstance(answer, int)
            or isinstance(answer, bool)
            or not 0 <= answer < len(options)
        ):
            raise ValidationError(f"{where}: the right answer must be one of the options")
        checks.append(
            {
                "key": f"c{number}",
                "prompt": prompt.strip(),
                "options": [o.strip() for o in options],
                "answer": answer,
            }
        )
    return checks


def cleared(checks: Sequence[Any], attempts: Sequence[Mapping[str, Any]]) -> bool:
    """Return whether the trials may start: no check, or an attempt passed it."""
    return not checks or any(attempt["passed"] for attempt in attempts)


def format_checks(checks: Sequence[Mapping[str, Any]]) -> str:
    """Return ``checks`` in the one-per-line syntax :func:`parse_checks` reads."""
    lines = []
    for check in checks:
        options = [
            f"*{option}" if k == check["answer"] else option
            for k, option in enumerate(check["options"])
        ]
        lines.append(" | ".join([check["prompt"], *options]))
    return "\n".join(lines)


def grade(checks: Sequence[Mapping[str, Any]], data: Mapping[str, Any]) -> Graded:
    """Return the graded answers in ``data`` (option indices by question key).

    Raise ValidationError keyed by question when one is unanswered or not an option; such a
    submission is not an attempt.
    """
    errors: dict[str, str] = {}
    answers: dict[str, int] = {}
    for check in checks:
        raw = str(data.get(check["key"]) or "").strip()
        if not raw:
            errors[check["key"]] = "Please choose an answer."
            continue
        index = whole_number(raw)
        if index is None or index >= len(check["options"]):
            errors[check["key"]] = f"Expected one of the {len(check['options'])} options."
            continue
        answers[check["key"]] = index
    if errors:
        raise ValidationError(errors)
    wrong = [c["key"] for c in checks if answers[c["key"]] != c["answer"]]
    return Graded(answers=answers, wrong=wrong)
