"""Expert review: invited experts judge every method's explanation of one prediction.

Each trial shows one instance, the model's prediction (and the gold label, by default) and
the explanations of every chosen method side by side, in a random order per trial
(``payload["order"]``) and never named ("Explanation A", "B", ...). For each explanation
the expert rates the study's ``criteria`` (each a 1..``points`` agreement scale), raises
one of the study's ``flags`` (default correct / misleading / unsure) and may comment; an
overall comment closes the item. Every item is reviewed by ``ratings_per_item`` experts,
which must be at least ``min_reviewers`` (2 by default; checked before launch).

The answer is ``{"reviews": [{"method", "explanation_id", "letter", "ratings": {criterion:
int}, "flag", "comment"}, ...], "comment": str}``, one review per explanation in the
snapshot's order. Who said what when is the response's participant (their invitation
label) and time. Items whose reviewers disagree (a different flag on some explanation, or
ratings on a criterion further apart than ``rating_gap``) go to the adjudication page
(:mod:`studies.views.adjudication`), where the lead reviewer (the invitation labelled
``lead_reviewer``) or the researcher records the final flag as an
:class:`~studies.models.Adjudication`.
"""

from collections.abc import Hashable, Mapping, Sequence
from random import Random
from string import ascii_uppercase
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from studies.models import Participant, Study

from .answers import clean_scale, scale_points
from .base import (
    ItemRef,
    Option,
    Snapshot,
    StudyType,
    TrialView,
    commented,
    explanation_view,
    register,
)
from .plausibility_rating import MAX_COMMENT, clean_comment

DEFAULT_CRITERIA: list[dict[str, str]] = [
    {"key": "justifies", "prompt": "The highlighted words justify the model's prediction."},
    {"key": "complete", "prompt": "No word that matters for the prediction is left out."},
]
DEFAULT_FLAGS = ["correct", "misleading", "unsure"]
KEY_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_")


class CriteriaField(forms.CharField):
    """One criterion per line, ``key: statement``; a list of dicts in Python."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(f"{c['key']}: {c['prompt']}" for c in value)
        return value

    def to_python(self, value: Any) -> Any:
        if isinstance(value, list) or value in (None, ""):
            return value
        return parse_criteria(str(value))


class FlagsField(forms.CharField):
    """Comma-separated flag names; a list in Python."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> Any:
        if isinstance(value, list) or value in (None, ""):
            return value
        return [f.strip() for f in str(value).split(",") if f.strip()]


def parse_flags(raw: str | Sequence[Any]) -> list[str]:
    """Return the flag names from a comma-separated text or a list; raise naming the option."""
    flags = [f.strip() for f in raw.split(",") if f.strip()] if isinstance(raw, str) else raw
    if (
        not isinstance(flags, list)
        or len(flags) < 2
        or not all(isinstance(f, str) and 0 < len(f) <= 50 for f in flags)
        or len(set(flags)) != len(flags)
    ):
        raise ValidationError(
            f"option flags={flags!r}: expected at least two different names of up to 50 characters"
        )
    return list(flags)


def parse_criteria(raw: str | Sequence[Any], *, required: bool = False) -> list[dict[str, str]]:
    """Return criteria as ``[{"key", "prompt"}]`` from ``key: statement`` lines or a list.

    With ``required``, refuse an empty list.
    """
    rows: list[tuple[int, Any]] = []
    if isinstance(raw, str):
        for number, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                key, sep, prompt = line.partition(":")
                rows.append(
                    (number, {"key": key.strip(), "prompt": prompt.strip()} if sep else line)
                )
    elif isinstance(raw, list | tuple):
        rows = list(enumerate(raw, start=1))
    else:
        raise ValidationError(
            f"option criteria: expected text or a list of criteria, got {type(raw).__name__}"
        )
    criteria: list[dict[str, str]] = []
    for number, row in rows:
        if not (
            isinstance(row, Mapping)
            and isinstance(row.get("key"), str)
            and isinstance(row.get("prompt"), str)
            and row["key"]
            and row["prompt"].strip()
            and set(row["key"]) <= KEY_CHARS
        ):
            raise ValidationError(
                f"option criteria, line {number}: expected 'key: statement' with a key of "
                "lower-case letters, digits and _"
            )
        criteria.append({"key": row["key"], "prompt": row["prompt"].strip()})
    keys = [c["key"] for c in criteria]
    if len(set(keys)) != len(keys):
        raise ValidationError("option criteria: each key may appear once")
    if required and not criteria:
        raise ValidationError("option criteria: name at least one criterion")
    return criteria


def _letter(position: int) -> str:
    return ascii_uppercase[position] if position < len(ascii_uppercase) else f"E{position + 1}"


@register
class ExpertReview(StudyType):
    name = "expert_review"
    label = "Expert review"
    description = (
        "Invited experts see every method's explanation of one prediction side by side, rate "
        "each on the study's criteria, flag and comment; a lead reviewer adjudicates."
    )
    template_name = "studies/trials/expert_review.html"
    has_adjudication = True
    keyboard_help = (
        "Tab moves between questions, arrow keys choose within one; Enter continues when "
        "every explanation is rated and flagged."
    )

    options = (
        Option(
            "criteria",
            "criteria",
            list,
            DEFAULT_CRITERIA,
            parse=lambda raw: parse_criteria(raw, required=True),
            form_class=CriteriaField,
            describe="one 'key: statement' per line (keys: lower-case letters, digits and _)",
            help_text="One per line, 'key: statement' (rated from disagree to agree).",
        ),
        Option("points", "points", int, 5, choices=((5, "5 points"), (7, "7 points"))),
        Option(
            "flags",
            "flags",
            list,
            DEFAULT_FLAGS,
            parse=parse_flags,
            form_class=FlagsField,
            describe="at least two different names of up to 50 characters, comma-separated",
            help_text="Comma-separated.",
        ),
        Option("min_reviewers", "min reviewers", int, 2, low=2),
        Option(
            "rating_gap",
            "rating gap",
            int,
            2,
            low=0,
            help_text="Ratings of one criterion further apart than this count as a disagreement.",
        ),
        Option(
            "lead_reviewer",
            "lead reviewer",
            str,
            "",
            max_length=200,
            help_text="The invitation label of the lead reviewer, who adjudicates.",
        ),
        Option("show_gold", "Show the gold label to the experts", bool, True),
    )

    # Design -----------------------------------------------------------------------------
    def clean_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        cleaned = super().clean_options(options)
        return cleaned | {"lead_reviewer": cleaned["lead_reviewer"].strip()}

    def variants(self, methods: Sequence[str]) -> list[tuple[str, ...]]:
        return [tuple(methods)]

    def attention_check(self, *, options: Mapping[str, Any], rng: Random) -> dict[str, Any]:
        flag = options["flags"][-1]
        return {
            "instruction": (
                f"To show you are reading carefully, flag every explanation of this item as “{flag}”."
            ),
            "flag": flag,
        }

    def gold_expected(self, *, options: Mapping[str, Any]) -> dict[str, Any]:
        raise ValidationError(
            {"gold_positions": "Expert review has no gold items; use attention checks if needed"}
        )

    def extend_snapshots(
        self, *, study: Any, snapshots: dict[int, Snapshot], preview: bool
    ) -> None:
        """Refuse designs where an item would get fewer than ``min_reviewers`` experts."""
        assert isinstance(study, Study)
        needed = int(study.type_options["min_reviewers"])
        if study.ratings_per_item < needed:
            raise ValidationError(
                f"Expert review needs every item reviewed by at least {needed} experts: set k "
                f"(judgements per item) to {needed} or more (it is {study.ratings_per_item})"
            )
        if Participant.Source.INVITED not in study.sources:
            raise ValidationError("Expert review is for invited experts: accept invitation links")

    def trial_payload(
        self, *, item: ItemRef, options: Mapping[str, Any], rng: Random
    ) -> dict[str, Any]:
        order = list(range(len(item.methods)))
        rng.shuffle(order)
        return {"order": order}

    # Trial ------------------------------------------------------------------------------
    def _shown(self, view: TrialView) -> list[tuple[str, int]]:
        """Return (letter, snapshot index) in the order shown."""
        order = view.payload.get("order") or list(range(len(view.snapshot["explanations"])))
        return [(_letter(position), int(index)) for position, index in enumerate(order)]

    def trial_context(self, view: TrialView) -> dict[str, Any]:
        snap = view.snapshot
        criteria = view.options["criteria"]
        return {
            "context_text": snap["instance"]["context"],
            "prediction": snap["prediction"]["label_name"],
            "confidence": max(snap["prediction"]["probabilities"]),
            "gold": snap.get("gold_label_name") if view.options["show_gold"] else None,
            "points": scale_points(int(view.options["points"])),
            "flags": view.options["flags"],
            "explanations": [
                explanation_view(
                    tokens=snap["instance"]["tokens"],
                    scores=snap["explanations"][index]["scores"],
                    label=f"Explanation {letter}",
                    uid=f"expl-{letter.lower()}",
                    display=view.display,
                )
                | {
                    "letter": letter,
                    "criteria": [{**c, "field": f"{letter}_{c['key']}"} for c in criteria],
                    "flag_field": f"{letter}_flag",
                    "comment_field": f"{letter}_comment",
                }
                for letter, index in self._shown(view)
            ],
            "instruction": (view.expected or {}).get("instruction"),
        }

    def clean_answer(self, view: TrialView, data: Mapping[str, Any]) -> Any:
        points = int(view.options["points"])
        flags = view.options["flags"]
        explanations = view.snapshot["explanations"]
        reviews = []
        for letter, index in self._shown(view):
            where = f"Explanation {letter}"
            ratings = {}
            for criterion in view.options["criteria"]:
                try:
                    ratings[criterion["key"]] = clean_scale(
                        data,
                        f"{letter}_{criterion['key']}",
                        points,
                        f"a rating of “{criterion['prompt']}”",
                    )
                except ValidationError as exc:
                    raise ValidationError(f"{where}: {exc.messages[0]}") from None
            flag = str(data.get(f"{letter}_flag") or "").strip()
            if flag not in flags:
                raise ValidationError(
                    f"{where}: please choose a flag ({', '.join(flags)})."
                    if not flag
                    else f"{where}: the flag must be one of {', '.join(flags)}; got {flag[:30]!r}."
                )
            comment = str(data.get(f"{letter}_comment") or "").strip()
            if len(comment) > MAX_COMMENT:
                raise ValidationError(
                    f"{where}: please keep the comment under {MAX_COMMENT} characters."
                )
            reviews.append(
                {
                    "index": index,
                    "method": explanations[index]["method"],
                    "explanation_id": explanations[index]["id"],
                    "letter": letter,
                    "ratings": ratings,
                    "flag": flag,
                    "comment": comment,
                }
            )
        reviews.sort(key=lambda r: int(r.pop("index")))  # type: ignore[call-overload]  # always an int
        return {"reviews": reviews, "comment": clean_comment(data, True)}

    def passes(self, view: TrialView, value: Any) -> bool | None:
        if not view.expected or "flag" not in view.expected:
            return None
        return all(r["flag"] == view.expected["flag"] for r in value["reviews"])

    def record(self, view: TrialView, value: Any) -> dict[str, Any]:
        columns: dict[str, Any] = {"comment": value.get("comment", "")}
        for review in value["reviews"]:
            method = review["method"]
            for key, rating in review["ratings"].items():
                columns[f"{method}__{key}"] = rating
            columns[f"{method}__flag"] = review["flag"]
            columns[f"{method}__comment"] = review["comment"]
            columns[f"{method}__shown_as"] = review["letter"]
        return columns

    def describe_answer(self, view: TrialView, value: Any) -> str:
        points = int(view.options["points"])
        parts = []
        # Reviews are stored in snapshot order; the researcher saw them by letter.
        for review in sorted(value["reviews"], key=lambda r: str(r["letter"])):
            ratings = ", ".join(f"{key} {r} of {points}" for key, r in review["ratings"].items())
            said = f"Explanation {review['letter']} ({review['method']}): {ratings}, flag “{review['flag']}”"
            parts.append(said + commented(review))
        return "reviewed " + "; ".join(parts) + commented(value)

    def straightline_key(self, view: TrialView, value: Any) -> Hashable:
        return tuple((tuple(sorted(r["ratings"].items())), r["flag"]) for r in value["reviews"])
