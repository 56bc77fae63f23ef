"""The researcher's study design form and the small forms of the study pages.

The declared design fields come from :data:`studies.design_fields.DESIGN_FIELDS`; type
options from each registered type's ``option_fields()``, prefixed with the type name
(``plausibility_rating__points``); only the chosen type's fields are read.
"""

from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError

from explanations import selectors as explanation_selectors
from explanations.models import ClassifierModel, Dataset, ExplanationMethod

from . import questionnaires
from .design_fields import DESIGN_FIELDS
from .models import Participant
from .services.design import (
    ALL_SOURCES,
    DEFAULT_CONSENT,
    DEFAULT_INSTRUCTIONS,
    StudyDesign,
)
from .types.base import get_type, type_choices, type_names

QUESTION_HELP = (
    'One question per line: "likert5: prompt", "likert7: prompt" or "text: prompt"; add '
    '"optional " in front of the kind to make it optional ("optional text: Any comments?").'
)


def parse_positions(raw: str, field: str) -> list[int]:
    """Return the 1-based positions in a comma-separated string."""
    positions = []
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdecimal() or int(part) < 1:
            raise ValidationError(f"{field}: {part!r} is not a position (1, 2, 3...)")
        positions.append(int(part))
    return positions


def parse_questions(raw: str) -> list[dict[str, Any]]:
    """Return questionnaire specs from the one-per-line syntax of :data:`QUESTION_HELP`."""
    questions = []
    for number, line in enumerate(raw.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        kind, sep, prompt = line.partition(":")
        kind = kind.strip().lower()
        required = True
        if kind.startswith("optional "):
            required, kind = False, kind.removeprefix("optional ").strip()
        if not sep or not prompt.strip():
            raise ValidationError(f"line {number}: expected 'kind: prompt'")
        if kind in {"likert5", "likert7"}:
            questions.append(
                {
                    "key": f"q{number}",
                    "kind": "likert",
                    "points": int(kind[-1]),
                    "prompt": prompt.strip(),
                    "low_label": "Strongly disagree",
                    "high_label": "Strongly agree",
                    "required": required,
                }
            )
        elif kind == "text":
            questions.append(
                {
                    "key": f"q{number}",
                    "kind": "text",
                    "prompt": prompt.strip(),
                    "required": required,
                }
            )
        else:
            raise ValidationError(
                f"line {number}: kind {kind!r}; expected likert5, likert7 or text"
            )
    return questions


def format_questions(questions: list[dict[str, Any]]) -> str:
    """Return the custom questions in the one-per-line syntax (preset items left out)."""
    lines = []
    for q in questions:
        if str(q["key"]).startswith("ess_"):
            continue
        kind = f"likert{q['points']}" if q["kind"] == "likert" else "text"
        lines.append(f"{'' if q['required'] else 'optional '}{kind}: {q['prompt']}")
    return "\n".join(lines)


class StudyDesignForm(forms.Form):
    name = forms.CharField(max_length=200)
    description = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Shown to participants on the MTurk preview.",
    )
    study_type = forms.ChoiceField(choices=type_choices)
    # The querysets are narrowed to what the user may see in __init__.
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.none(), to_field_name="name")
    model = forms.ModelChoiceField(queryset=ClassifierModel.objects.none(), to_field_name="name")
    methods = forms.ModelMultipleChoiceField(
        queryset=ExplanationMethod.objects.order_by("name"),
        to_field_name="name",
        widget=forms.CheckboxSelectMultiple,
        help_text="Never named to participants.",
    )
    attention_check_positions = forms.CharField(
        required=False, help_text="Comma-separated 1-based positions among the test trials."
    )
    gold_positions = forms.CharField(
        required=False,
        help_text="Gold items (a human rationale as explanation); needs rationales.",
    )
    consent_text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), initial=DEFAULT_CONSENT
    )
    instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}), initial=DEFAULT_INSTRUCTIONS
    )
    explanation_satisfaction = forms.BooleanField(
        required=False, label=questionnaires.PRESETS["explanation_satisfaction"]
    )
    extra_questions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, help_text=QUESTION_HELP
    )
    sources = forms.MultipleChoiceField(
        choices=Participant.Source.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=ALL_SOURCES,
        label="Entry links",
    )
    completion_code = forms.CharField(
        max_length=50, required=False, help_text="Empty keeps (or generates) a random code."
    )
    # Where the declared design fields (added in __init__) sit among the others.
    field_order = [
        "name", "description", "study_type", "dataset", "model", "methods", "seed",
        "n_items", "items_per_participant", "ratings_per_item", "condition_design",
        "balance_outcomes", "practice_count", "attention_check_positions", "gold_positions",
        "display_mode", "top_k", "consent_text", "instructions", "explanation_satisfaction",
        "extra_questions", "sources", "completion_code", "pay", "estimated_minutes",
        "time_limit_minutes",
    ]  # fmt: skip

    def __init__(self, *args: Any, user: AbstractBaseUser | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for declared in DESIGN_FIELDS:
            self.fields[declared.name] = declared.form_field()
        self.order_fields(self.field_order)
        self.fields["dataset"].queryset = explanation_selectors.datasets_visible_to(user)  # type: ignore[attr-defined]  # a ModelChoiceField
        self.fields["model"].queryset = explanation_selectors.models_visible_to(user)  # type: ignore[attr-defined]  # a ModelChoiceField
        for name in type_names():
            for option, field in get_type(name).option_fields().items():
                field.required = False
                field.label = f"{get_type(name).label}: {field.label or option.replace('_', ' ')}"
                self.fields[f"{name}__{option}"] = field

    def type_option_groups(self) -> list[tuple[str, str, list[forms.BoundField]]]:
        """Return (type name, label, bound fields) per type, for the template."""
        return [
            (
                name,
                get_type(name).label,
                [self[f] for f in self.fields if f.startswith(f"{name}__")],
            )
            for name in type_names()
        ]

    def main_fields(self) -> list[forms.BoundField]:
        return [self[f] for f in self.fields if "__" not in f]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("attention_check_positions", "gold_positions"):
            try:
                data[name] = parse_positions(data.get(name) or "", name)
            except ValidationError as exc:
                self.add_error(name, exc)
        try:
            data["extra_questions"] = parse_questions(data.get("extra_questions") or "")
        except ValidationError as exc:
            self.add_error("extra_questions", exc)
        chosen = data.get("study_type")
        if chosen:
            kind = get_type(chosen)
            options = {}
            for option, field in kind.option_fields().items():
                value = data.get(f"{chosen}__{option}")
                if value in (None, "") and not isinstance(field, forms.BooleanField):
                    continue
                options[option] = value
            data["type_options"] = options
        return data

    def to_design(self) -> StudyDesign:
        """Return the design this valid form describes."""
        d = self.cleaned_data
        return StudyDesign(
            name=d["name"],
            study_type=d["study_type"],
            dataset=d["dataset"],
            model=d["model"],
            methods=[m.name for m in d["methods"]],
            description=d["description"],
            attention_check_positions=d["attention_check_positions"],
            gold_positions=d["gold_positions"],
            type_options=d.get("type_options", {}),
            consent_text=d["consent_text"],
            instructions=d["instructions"],
            questionnaire=d["extra_questions"],
            questionnaire_preset="explanation_satisfaction"
            if d["explanation_satisfaction"]
            else None,
            sources=d["sources"],
            completion_code=d["completion_code"] or None,
            **{declared.name: d[declared.name] for declared in DESIGN_FIELDS},
        )

    def add_service_errors(self, exc: ValidationError) -> None:
        """Attach a service's ValidationError to the fields it names."""
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        else:
            self.add_error(None, exc.messages)


def initial_from(design: StudyDesign) -> dict[str, Any]:
    """Return the form's initial data for an existing design."""
    initial: dict[str, Any] = {
        "name": design.name,
        "description": design.description,
        "study_type": design.study_type,
        "dataset": design.dataset.name,
        "model": design.model.name,
        "methods": design.methods,
        **{declared.name: getattr(design, declared.name) for declared in DESIGN_FIELDS},
        "attention_check_positions": ", ".join(map(str, design.attention_check_positions)),
        "gold_positions": ", ".join(map(str, design.gold_positions)),
        "consent_text": design.consent_text,
        "instructions": design.instructions,
        "explanation_satisfaction": any(
            str(q["key"]).startswith("ess_") for q in design.questionnaire
        ),
        "extra_questions": format_questions(design.questionnaire),
        "sources": design.sources,
        "completion_code": design.completion_code,
    }
    for option, value in design.type_options.items():
        initial[f"{design.study_type}__{option}"] = value
    return initial


class ExclusionRulesForm(forms.Form):
    max_failed_checks = forms.IntegerField(
        min_value=0,
        required=False,
        initial=0,
        help_text="Exclude when more checks failed than this; empty to skip the rule.",
    )
    min_median_seconds = forms.FloatField(
        min_value=0,
        required=False,
        help_text="Exclude when the median time per trial is below this; empty to skip.",
    )
    straight_lining = forms.BooleanField(
        required=False, initial=True, label="Exclude straight-lining (same answer throughout)"
    )
    straight_lining_min = forms.IntegerField(
        min_value=2, initial=4, label="…over at least N trials"
    )


class ManualExclusionForm(forms.Form):
    participant = forms.IntegerField(min_value=1, label="Participant id")
    reason = forms.CharField(max_length=500)


class InvitationForm(forms.Form):
    labels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Invite",
        help_text="One invitee per line (a name or e-mail, for your records).",
    )
