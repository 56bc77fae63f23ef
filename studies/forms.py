"""The researcher's study design form and the small forms of the study pages.

A new design takes two steps. :class:`StudyStartForm` (a GET form) asks for the study type,
the dataset and the model; :class:`StudyDesignForm` then shows the fields every study has
(:data:`studies.design_fields.DESIGN_FIELDS`), only the chosen type's options (from its
``option_fields()``, prefixed with the type name: ``plausibility_rating__points``) and
only the methods with explanations for that model on that dataset.
"""

from typing import Any

from django import forms
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, QuerySet
from django.forms.boundfield import BoundWidget

from analysis.services.options import INTERVALS, MAX_RESAMPLES, RESAMPLING
from explanations import selectors as explanation_selectors
from explanations.models import ClassifierModel, Dataset, ExplanationMethod

from . import comprehension, questionnaires
from .design_fields import DESIGN_FIELDS
from .models import Participant, Study
from .services.design import (
    ALL_SOURCES,
    DEFAULT_CONSENT,
    DEFAULT_INSTRUCTIONS,
    StudyDesign,
)
from .services.preregistration import (
    FAITHFULNESS_METRICS,
    GOAL_HELP,
    PLAN_FIELDS,
    Preregistration,
    measure_choices,
    preregistration_errors,
)
from .types.answers import whole_number
from .types.base import Option, StudyType, get_type, type_choices

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
        position = whole_number(part)
        if position is None or position < 1:
            raise ValidationError(f"{field}: {part[:20]!r} is not a position (1, 2, 3...)")
        positions.append(position)
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


def option_label(option: Option) -> str:
    """Return an option's label as a form shows it: capitalised ("Points", not "points")."""
    return option.label[:1].upper() + option.label[1:]


def option_display(option: Option, value: Any) -> str:
    """Return a type option's value in words, as the study page shows it (never ``False``)."""
    if option.kind is bool:
        return "yes" if value else "no"
    if option.choices:
        return dict(option.choices).get(value, str(value))
    if value in (None, "", [], ()):
        return "none"
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return str(value)


def methods_explained(
    user: AbstractBaseUser | AnonymousUser, *, dataset: Dataset, model: ClassifierModel
) -> QuerySet[ExplanationMethod]:
    """Return the methods with at least one explanation by ``model`` on ``dataset``."""
    explained = explanation_selectors.explanations_visible_to(user).filter(
        model=model, instance__dataset=dataset, method=OuterRef("pk")
    )
    return ExplanationMethod.objects.filter(Exists(explained)).order_by("name")


class ErrorSummaryMixin:
    """Give a form the links of a GOV.UK-style error summary (one per field in error)."""

    def error_summary(self) -> list[dict[str, Any]]:
        """Return {href, label, messages} per field with errors; non-field errors have no href."""
        form: forms.Form = self  # type: ignore[assignment]  # mixed into forms.Form only
        rows: list[dict[str, Any]] = [
            {"href": "", "label": "", "messages": list(form.non_field_errors())}
        ]
        for name, field in form.fields.items():
            if name not in form.errors:
                continue
            bound = form[name]
            if isinstance(field.widget, forms.HiddenInput):
                href = "setup"  # chosen on the first step; the summary of that step has the id
            elif isinstance(field.widget, forms.RadioSelect | forms.CheckboxSelectMultiple):
                href = f"{bound.auto_id}_0"
            else:
                href = str(bound.auto_id)
            rows.append({"href": href, "label": bound.label, "messages": list(form.errors[name])})
        return [row for row in rows if row["messages"]]


class StudyStartForm(ErrorSummaryMixin, forms.Form):
    """The first step of a design (sent by GET): the study type, the dataset and the model.

    No type is chosen in advance: the type decides every option that follows.
    """

    study_type = forms.ChoiceField(
        choices=type_choices,
        widget=forms.RadioSelect,
        label="Study type",
        error_messages={
            "required": "Choose a study type.",
            "invalid_choice": "study_type %(value)s is not a study type; choose one of the list.",
        },
    )
    dataset = forms.ModelChoiceField(
        queryset=Dataset.objects.none(),
        to_field_name="name",
        empty_label="Choose a dataset",
        error_messages={"required": "Choose a dataset."},
    )
    model = forms.ModelChoiceField(
        queryset=ClassifierModel.objects.none(),
        to_field_name="name",
        empty_label="Choose a model",
        error_messages={"required": "Choose a model."},
    )

    def __init__(self, *args: Any, user: AbstractBaseUser | AnonymousUser, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user
        self.fields["dataset"].queryset = explanation_selectors.datasets_visible_to(user)  # type: ignore[attr-defined]  # a ModelChoiceField
        self.fields["model"].queryset = explanation_selectors.models_visible_to(user)  # type: ignore[attr-defined]  # a ModelChoiceField

    def type_radios(self) -> list[tuple[BoundWidget, str]]:
        """Return each type's radio button with the type's one-line description."""
        return [
            (radio, get_type(str(radio.data["value"])).description) for radio in self["study_type"]
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        dataset, model = data.get("dataset"), data.get("model")
        if dataset is None or model is None:
            return data
        if model.dataset_id not in (None, dataset.pk):
            self.add_error(
                "model",
                f"model {model.name} was trained on dataset {model.dataset}, not {dataset.name}; "
                "choose a model of that dataset",
            )
        elif not methods_explained(self.user, dataset=dataset, model=model).exists():
            self.add_error(
                "model",
                f"model {model.name} has no explanations on dataset {dataset.name} yet; "
                "compute or import them first",
            )
        return data


def preregistration_form_fields() -> dict[str, forms.Field]:
    """Return the design form's "Pre-registration" fieldset, one field per plan field.

    Every field is optional; the exclusion rules start at the exclusion form's defaults.
    """
    unplanned = [("", "Not planned")]
    return {
        "hypotheses": forms.CharField(
            widget=forms.Textarea(attrs={"rows": 3}), required=False, label="Hypotheses"
        ),
        # The choices are the chosen type's measures (set in StudyDesignForm.__init__).
        "plausibility_measure": forms.ChoiceField(
            choices=unplanned, required=False, label="Plausibility measure"
        ),
        "faithfulness_metrics": forms.MultipleChoiceField(
            choices=[(m, m) for m in FAITHFULNESS_METRICS],
            widget=forms.CheckboxSelectMultiple,
            required=False,
            label="Faithfulness metrics",
            help_text="The metrics the plausibility measure will be related to.",
        ),
        "statistics": forms.CharField(
            widget=forms.Textarea(attrs={"rows": 2}),
            required=False,
            label="Statistics",
            help_text="The tests and models planned, e.g. Spearman's rho, two-way bootstrap.",
        ),
        "n_resamples": forms.IntegerField(
            min_value=0, max_value=MAX_RESAMPLES, required=False, label="Bootstrap resamples"
        ),
        "level": forms.FloatField(
            min_value=0.5, max_value=0.999, required=False, label="Confidence level"
        ),
        "resampling": forms.ChoiceField(
            choices=unplanned + [(r, r) for r in RESAMPLING], required=False, label="Resampling"
        ),
        "interval": forms.ChoiceField(
            choices=unplanned + [(i, i) for i in INTERVALS], required=False, label="Interval"
        ),
        "max_failed_checks": forms.IntegerField(
            min_value=0,
            required=False,
            initial=0,
            label="Exclude: failed checks above",
            help_text="Empty: the rule is not planned.",
        ),
        "min_median_seconds": forms.FloatField(
            min_value=0,
            required=False,
            label="Exclude: median seconds per trial below",
            help_text="Empty: the rule is not planned.",
        ),
        "straight_lining": forms.BooleanField(
            required=False, initial=True, label="Exclude straight-lining"
        ),
        "straight_lining_min": forms.IntegerField(
            min_value=2, required=False, initial=4, label="…over at least N trials"
        ),
        "exclusion_notes": forms.CharField(
            widget=forms.Textarea(attrs={"rows": 2}), required=False, label="Exclusion notes"
        ),
        "explanation_goal": forms.CharField(
            widget=forms.Textarea(attrs={"rows": 2}),
            required=False,
            label="Explanation goal",
            help_text=GOAL_HELP,
        ),
        "intended_user": forms.ChoiceField(
            choices=[("", "Not said"), *Study.IntendedUser.choices],
            required=False,
            label="Intended user",
        ),
        "intended_user_other": forms.CharField(
            max_length=200, required=False, label="Intended user (other)"
        ),
    }


def plan_from(data: dict[str, Any]) -> Preregistration:
    """Return the plan in a valid design form's cleaned data (empty numbers: unplanned)."""
    default = Preregistration()
    values: dict[str, Any] = {name: data.get(name) for name in PLAN_FIELDS}
    values["faithfulness_metrics"] = list(values["faithfulness_metrics"] or [])
    values["straight_lining"] = bool(values["straight_lining"])
    if values["straight_lining_min"] is None:
        values["straight_lining_min"] = default.straight_lining_min
    for name in PLAN_FIELDS:
        if values[name] is None and isinstance(getattr(default, name), str):
            values[name] = ""
    return Preregistration(**values)


class StudyDesignForm(ErrorSummaryMixin, forms.Form):
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
    comprehension_checks = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        label="Comprehension check",
        help_text=comprehension.HELP
        + " Asked after the instructions; a second wrong attempt screens the person out.",
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
        "display_mode", "top_k", "consent_text", "instructions", "comprehension_checks",
        "explanation_satisfaction", "extra_questions", "sources", "completion_code",
        "failed_checks_code", "failed_checks_threshold", "screened_out_code", "pay",
        "estimated_minutes", "time_limit_minutes",
    ]  # fmt: skip

    def __init__(
        self,
        *args: Any,
        user: AbstractBaseUser | AnonymousUser,
        study_type: str | None = None,
        dataset: Dataset | None = None,
        model: ClassifierModel | None = None,
        **kwargs: Any,
    ) -> None:
        """Build the form for one type; with ``dataset`` and ``model``, offer only their methods.

        The type, dataset and model come from the first step (:class:`StudyStartForm`) and
        travel as hidden fields, so a failed submission keeps them.
        """
        super().__init__(*args, **kwargs)
        for declared in DESIGN_FIELDS:
            self.fields[declared.name] = declared.form_field()
            # Left empty, a design number takes its default, as the API does: a form posted
            # by a script written before the field existed still validates.
            if declared.default is not None:
                self.fields[declared.name].required = False
        self.order_fields(self.field_order)
        self.fields.update(preregistration_form_fields())
        self.user = user
        self.fields["dataset"].queryset = explanation_selectors.datasets_visible_to(user)  # type: ignore[attr-defined]  # a ModelChoiceField
        self.fields["model"].queryset = explanation_selectors.models_visible_to(user)  # type: ignore[attr-defined]  # a ModelChoiceField
        for name in ("study_type", "dataset", "model"):
            self.fields[name].widget = forms.HiddenInput()
        if study_type is not None:
            self.initial["study_type"] = study_type
        chosen = study_type or self.data.get("study_type") or self.initial.get("study_type")
        self.kind: StudyType | None = get_type(chosen) if chosen in dict(type_choices()) else None
        if self.kind is not None:
            self.fields["plausibility_measure"].choices = [  # type: ignore[attr-defined]  # a ChoiceField
                ("", "Not planned"),
                *measure_choices(self.kind.name),
            ]
        if dataset is not None and model is not None:
            self.initial.update(dataset=dataset.name, model=model.name)
            methods = self.fields["methods"]
            methods.queryset = methods_explained(user, dataset=dataset, model=model)  # type: ignore[attr-defined]  # a ModelMultipleChoiceField
            methods.error_messages["invalid_choice"] = (
                f"method %(value)s has no explanations by model {model.name} on dataset "
                f"{dataset.name}; choose among those listed"
            )
        if self.kind is not None:
            for option in self.kind.options:
                field = option.form_field()
                # Empty means the declared default (filled by the type's clean_options).
                field.required = False
                field.label = option_label(option)
                self.fields[f"{self.kind.name}__{option.name}"] = field

    def type_fields(self) -> list[forms.BoundField]:
        """Return the chosen type's option fields, for the template."""
        return [self[f] for f in self.fields if "__" in f]

    def main_fields(self) -> list[forms.BoundField]:
        """Return the fields every study has (the hidden first-step choices left out)."""
        return [
            self[f]
            for f in self.fields
            if "__" not in f and not self[f].is_hidden and f not in PLAN_FIELDS
        ]

    def preregistration_fields(self) -> list[forms.BoundField]:
        """Return the "Pre-registration" fieldset's fields, for the template."""
        return [self[f] for f in PLAN_FIELDS]

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
        try:
            data["comprehension_checks"] = comprehension.parse_checks(
                data.get("comprehension_checks") or ""
            )
        except ValidationError as exc:
            self.add_error("comprehension_checks", exc)
        self._check_methods_explained(data)
        if self.kind is not None:
            plan = plan_from(data)
            for name, message in preregistration_errors(plan, study_type=self.kind.name).items():
                if name not in self.errors:
                    self.add_error(name, message)
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

    def _check_methods_explained(self, data: dict[str, Any]) -> None:
        """Refuse, naming it, a chosen method with no explanations for the model and dataset."""
        dataset, model, chosen = data.get("dataset"), data.get("model"), data.get("methods")
        if dataset is None or model is None or not chosen:
            return
        explained = set(
            methods_explained(self.user, dataset=dataset, model=model).values_list(
                "name", flat=True
            )
        )
        for method in chosen:
            if method.name not in explained:
                self.add_error(
                    "methods",
                    f"method {method.name} has no explanations by model {model.name} on "
                    f"dataset {dataset.name}; choose among {', '.join(sorted(explained)) or 'none'}",
                )

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
            comprehension_checks=d["comprehension_checks"],
            preregistration=plan_from(d),
            **{
                declared.name: declared.default if d[declared.name] is None else d[declared.name]
                for declared in DESIGN_FIELDS
            },
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
        "comprehension_checks": comprehension.format_checks(
            comprehension.parse_checks(design.comprehension_checks)
        ),
        **{name: getattr(design.preregistration, name) for name in PLAN_FIELDS},
    }
    for option, value in design.type_options.items():
        initial[f"{design.study_type}__{option}"] = value
    return initial


class StudyFilterForm(forms.Form):
    """The study list's filters (sent by GET): name contains, status and type."""

    q = forms.CharField(required=False, max_length=200, label="Name contains")
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any status"), *Study.Status.choices],
        error_messages={"invalid_choice": "status %(value)s is not a status; choose one listed."},
    )
    study_type = forms.ChoiceField(
        required=False,
        label="Type",
        choices=lambda: [("", "Any type"), *type_choices()],
        error_messages={"invalid_choice": "type %(value)s is not a study type; choose one listed."},
    )

    def filter(self, studies: QuerySet[Study]) -> QuerySet[Study]:
        """Return ``studies`` narrowed by the valid filters (all of them when none is)."""
        if not self.is_valid():
            return studies
        d = self.cleaned_data
        if d["q"].strip():
            studies = studies.filter(name__icontains=d["q"].strip())
        if d["status"]:
            studies = studies.filter(status=d["status"])
        if d["study_type"]:
            studies = studies.filter(study_type=d["study_type"])
        return studies


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


class ParticipantDeletionForm(forms.Form):
    """Whose data to delete at their request: a pseudonym, or a Prolific PID / MTurk worker id."""

    participant = forms.CharField(
        max_length=100,
        label="Pseudonym or platform id",
        help_text="The p_… pseudonym from the exports, or the Prolific PID or MTurk worker id.",
    )
    reason = forms.CharField(
        max_length=500, required=False, help_text="Kept in the deletion log; not exported."
    )


class InvitationForm(forms.Form):
    labels = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Invite",
        help_text="One invitee per line (a name or e-mail, for your records).",
    )
