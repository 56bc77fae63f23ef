import dataclasses
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework import serializers

from explanations import selectors as explanation_selectors
from studies.design_fields import DESIGN_FIELDS
from studies.models import Exclusion, Invitation, Participant, QuestionnaireItem, Study
from studies.services.design import ALL_SOURCES, StudyDesign, design_of
from studies.services.preregistration import Preregistration, plan_of
from studies.types.base import Option, type_names


def design_field(declared: Option) -> serializers.Field:
    """Return the API field of a declared design field, checked by its declaration.

    Optional with the declared default; the range and choices are checked by
    ``Option.clean``, so the message is the form's and the service's.
    """
    common: dict[str, Any] = {
        "required": False,
        "default": declared.default,
        "allow_null": declared.nullable,
        "validators": [declared.clean],
        "help_text": declared.help_text or declared.label,
    }
    if declared.kind is bool:
        return serializers.BooleanField(**common)
    if declared.kind is int and not declared.choices:
        return serializers.IntegerField(**common)
    return serializers.CharField(allow_blank=declared.default == "", **common)


class QuestionSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuestionnaireItem
        fields = ["key", "kind", "prompt", "points", "low_label", "high_label", "required"]
        extra_kwargs = {"key": {"required": False, "validators": []}}


class StudySerializer(serializers.ModelSerializer):
    """A study as its owner sees it (read)."""

    dataset = serializers.CharField(source="dataset.name", read_only=True)
    model = serializers.CharField(source="model.name", read_only=True)
    methods = serializers.SerializerMethodField()
    questionnaire = QuestionSerializer(many=True, read_only=True)
    lists = serializers.SerializerMethodField()
    places = serializers.SerializerMethodField()
    entry_url = serializers.SerializerMethodField()
    preregistration = serializers.SerializerMethodField()

    class Meta:
        model = Study
        fields = [
            "id", "uid", "name", "description", "study_type", "status", "dataset", "model",
            "methods", "seed", "n_items", "items_per_participant", "ratings_per_item",
            "condition_design", "balance_outcomes", "practice_count",
            "attention_check_positions", "gold_positions", "type_options", "display_mode",
            "top_k", "consent_text", "instructions", "questionnaire", "sources",
            "completion_code", "pay", "estimated_minutes", "time_limit_minutes", "lists",
            "failed_checks_code", "failed_checks_threshold", "screened_out_code",
            "comprehension_checks", "places", "entry_url", "created_at", "launched_at", "closed_at", "preregistration",
        ]  # fmt: skip
        read_only_fields = fields

    def get_preregistration(self, study: Study) -> dict[str, Any]:
        """Return the plan (editable through the design while a draft) and, once live, its hash."""
        return {
            **dataclasses.asdict(plan_of(study)),
            "json": study.preregistration_json or None,
            "sha256": study.preregistration_sha256 or None,
            "frozen_at": study.preregistered_at,
        }

    # .all() rather than values_list/count: the list endpoint prefetches methods and lists.
    def get_methods(self, study: Study) -> list[str]:
        return sorted(method.name for method in study.methods.all())

    def get_lists(self, study: Study) -> int:
        return len(study.lists.all())

    def get_places(self, study: Study) -> int:
        return sum(study_list.target for study_list in study.lists.all())

    def get_entry_url(self, study: Study) -> str:
        request = self.context.get("request")
        path = f"/s/{study.uid}/"
        return request.build_absolute_uri(path) if request else path


class PreregistrationSerializer(serializers.Serializer):
    """A draft's plan (studies.services.preregistration.Preregistration); ranges checked there."""

    hypotheses = serializers.CharField(required=False, allow_blank=True, default="")
    plausibility_measure = serializers.CharField(required=False, allow_blank=True, default="")
    faithfulness_metrics = serializers.ListField(
        child=serializers.CharField(), required=False, default=list
    )
    statistics = serializers.CharField(required=False, allow_blank=True, default="")
    n_resamples = serializers.IntegerField(required=False, allow_null=True, default=None)
    level = serializers.FloatField(required=False, allow_null=True, default=None)
    resampling = serializers.CharField(required=False, allow_blank=True, default="")
    interval = serializers.CharField(required=False, allow_blank=True, default="")
    max_failed_checks = serializers.IntegerField(required=False, allow_null=True, default=0)
    min_median_seconds = serializers.FloatField(required=False, allow_null=True, default=None)
    straight_lining = serializers.BooleanField(required=False, default=True)
    straight_lining_min = serializers.IntegerField(required=False, default=4)
    exclusion_notes = serializers.CharField(required=False, allow_blank=True, default="")
    explanation_goal = serializers.CharField(required=False, allow_blank=True, default="")
    intended_user = serializers.CharField(required=False, allow_blank=True, default="")
    intended_user_other = serializers.CharField(required=False, allow_blank=True, default="")


class StudyDesignSerializer(serializers.Serializer):
    """The design of a study (create, or replace a draft's design)."""

    name = serializers.CharField(max_length=200)
    study_type = serializers.ChoiceField(choices=[])
    dataset = serializers.CharField(help_text="Dataset name.")
    model = serializers.CharField(help_text="Model name.")
    methods = serializers.ListField(child=serializers.CharField(), min_length=1)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    attention_check_positions = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list
    )
    gold_positions = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list
    )
    type_options = serializers.DictField(required=False, default=dict)
    consent_text = serializers.CharField(required=False)
    instructions = serializers.CharField(required=False)
    questionnaire = QuestionSerializer(many=True, required=False, default=list)
    questionnaire_preset = serializers.ChoiceField(
        choices=["explanation_satisfaction"], required=False, allow_null=True, default=None
    )
    sources = serializers.ListField(
        child=serializers.ChoiceField(choices=ALL_SOURCES), required=False, default=ALL_SOURCES
    )
    completion_code = serializers.CharField(
        required=False, allow_null=True, default=None, max_length=50
    )
    # Checked by the design service (studies.comprehension.parse_checks), naming the line.
    comprehension_checks = serializers.ListField(
        child=serializers.DictField(), required=False, default=list
    )
    preregistration = PreregistrationSerializer(required=False, default=dict)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["study_type"].choices = type_names()  # type: ignore[attr-defined]

    def get_fields(self) -> dict[str, serializers.Field]:
        """Return the written-out fields and the declared design fields."""
        fields = super().get_fields()
        fields.update({declared.name: design_field(declared) for declared in DESIGN_FIELDS})
        return fields

    def to_design(self, user: AbstractBaseUser | AnonymousUser) -> StudyDesign:
        """Return the design, resolving names to rows ``user`` may see."""
        data = dict(self.validated_data)
        dataset = (
            explanation_selectors.datasets_visible_to(user).filter(name=data["dataset"]).first()
        )
        if dataset is None:
            raise serializers.ValidationError(
                {"dataset": f"no dataset named {data['dataset']!r} is visible to you"}
            )
        model = explanation_selectors.models_visible_to(user).filter(name=data["model"]).first()
        if model is None:
            raise serializers.ValidationError(
                {"model": f"no model named {data['model']!r} is visible to you"}
            )
        data["dataset"], data["model"] = dataset, model
        data["questionnaire"] = [dict(q) for q in data.get("questionnaire", [])]
        plan = PreregistrationSerializer(data=dict(data.get("preregistration") or {}))
        plan.is_valid(raise_exception=True)
        data["preregistration"] = Preregistration(**plan.validated_data)
        return StudyDesign(**data)


def design_payload(study: Study) -> dict[str, Any]:
    """Return a study's current design in the API's input layout (for partial updates)."""
    design = design_of(study)
    return {
        **{k: v for k, v in design.__dict__.items() if k not in {"dataset", "model"}},
        "preregistration": dataclasses.asdict(design.preregistration),
        "dataset": study.dataset.name,
        "model": study.model.name,
    }


class ParticipantSerializer(serializers.ModelSerializer):
    # Null until the participant consents and is given a list.
    list_index = serializers.IntegerField(
        source="assignment.study_list.index", default=None, allow_null=True
    )
    assignment_status = serializers.CharField(
        source="assignment.status", default=None, allow_null=True
    )
    responses = serializers.IntegerField(source="n_responses", read_only=True)
    excluded = serializers.BooleanField(read_only=True)
    # The id every export uses; platform ids are kept for payments only (issue #16). No
    # uid either: it is the participant's own link to their session.
    pseudonym = serializers.CharField(read_only=True)

    class Meta:
        model = Participant
        fields = [
            "id", "pseudonym", "source", "status", "list_index",
            "assignment_status", "responses", "excluded", "entered_at", "consented_at",
            "completed_at", "ended_at",
        ]  # fmt: skip
        read_only_fields = fields


class ExclusionSerializer(serializers.ModelSerializer):
    # Null for an exclusion a rule made with nobody as author, and until it is revoked.
    created_by = serializers.CharField(
        source="created_by.username", read_only=True, default=None, allow_null=True
    )
    revoked_by = serializers.CharField(
        source="revoked_by.username", read_only=True, default=None, allow_null=True
    )
    active = serializers.BooleanField(read_only=True)

    class Meta:
        model = Exclusion
        fields = [
            "id", "participant", "rule", "reason", "active", "created_by", "created_at",
            "revoked_by", "revoked_at",
        ]  # fmt: skip
        read_only_fields = fields


class ExclusionRulesSerializer(serializers.Serializer):
    max_failed_checks = serializers.IntegerField(
        required=False, allow_null=True, default=0, min_value=0
    )
    min_median_seconds = serializers.FloatField(
        required=False, allow_null=True, default=None, min_value=0
    )
    straight_lining = serializers.BooleanField(required=False, default=True)
    straight_lining_min = serializers.IntegerField(required=False, default=4, min_value=2)


class ManualExclusionSerializer(serializers.Serializer):
    participant = serializers.IntegerField()
    reason = serializers.CharField(max_length=500)


class InvitationSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    used = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = ["id", "label", "token", "url", "created_at", "used_at", "used"]
        read_only_fields = fields

    def get_url(self, invitation: Invitation) -> str:
        request = self.context.get("request")
        path = f"/s/invite/{invitation.token}/"
        return request.build_absolute_uri(path) if request else path

    def get_used(self, invitation: Invitation) -> bool:
        return invitation.used_at is not None


class InvitationCreateSerializer(serializers.Serializer):
    labels = serializers.ListField(child=serializers.CharField(max_length=200), min_length=1)


class PreviewTrialSerializer(serializers.Serializer):
    position = serializers.IntegerField()
    role = serializers.CharField()
    phase = serializers.CharField()
    instance = serializers.CharField()
    methods = serializers.ListField(child=serializers.CharField())
    payload = serializers.DictField()
    instruction = serializers.CharField(allow_null=True)
    html = serializers.CharField(help_text="The trial as the participant's page draws it.")


class PreviewAnswerSerializer(serializers.Serializer):
    answer = serializers.DictField(help_text="The fields a participant's form would post.")
