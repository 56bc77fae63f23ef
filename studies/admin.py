"""Read-mostly admin for studies; designs change through the study pages and services."""

from django.contrib import admin

from .models import (
    Assignment,
    Condition,
    Exclusion,
    Invitation,
    Participant,
    QuestionnaireItem,
    Response,
    Study,
    StudyList,
)


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["name", "study_type", "status", "owner", "dataset", "model", "created_at"]
    list_filter = ["status", "study_type"]
    search_fields = ["name"]
    readonly_fields = ["uid", "status", "launched_at", "closed_at"]


@admin.register(Condition)
class ConditionAdmin(admin.ModelAdmin):
    list_display = ["study", "position", "name"]


@admin.register(StudyList)
class StudyListAdmin(admin.ModelAdmin):
    list_display = ["study", "index", "condition", "filled", "target"]
    readonly_fields = ["filled"]


@admin.register(QuestionnaireItem)
class QuestionnaireItemAdmin(admin.ModelAdmin):
    list_display = ["study", "position", "key", "kind"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["study", "label", "created_at", "used_at"]


@admin.register(Participant)
class ParticipantAdmin(admin.ModelAdmin):
    list_display = ["pk", "study", "source", "status", "prolific_pid", "mturk_worker_id"]
    list_filter = ["source", "status"]
    search_fields = ["prolific_pid", "mturk_worker_id"]


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):
    list_display = ["participant", "study_list", "status", "started_at", "deadline"]
    list_filter = ["status"]


@admin.register(Response)
class ResponseAdmin(admin.ModelAdmin):
    """Answers are evidence: viewable, never edited or deleted here."""

    list_display = ["pk", "participant", "trial", "answered_at", "passed"]

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]  # admin hook
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]  # admin hook
        return False


@admin.register(Exclusion)
class ExclusionAdmin(admin.ModelAdmin):
    list_display = ["participant", "rule", "reason", "created_at", "revoked_at"]
    list_filter = ["rule"]
