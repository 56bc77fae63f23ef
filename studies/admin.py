"""Read-mostly admin for studies; designs change through the study pages and services."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import QuerySet
from django.http import HttpRequest

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
from .services.researchers import researcher_make

User = get_user_model()


# django.contrib.auth registers User first (it precedes studies in INSTALLED_APPS); the
# same admin comes back with one more action.
admin.site.unregister(User)


@admin.register(User)
class ResearcherUserAdmin(UserAdmin):
    """Django's user admin, plus "Make researcher" (active, not staff, not superuser)."""

    actions = ["make_researcher"]

    # Only for those who may change users (it can demote a superuser), not those who may view.
    @admin.action(description="Make researcher (not staff, not superuser)", permissions=["change"])
    def make_researcher(self, request: HttpRequest, queryset: QuerySet) -> None:
        # Demoting oneself would lock the acting admin out of this very page.
        skipped = queryset.filter(pk=request.user.pk).exists()
        made = [
            researcher_make(user=user).get_username()
            for user in queryset.exclude(pk=request.user.pk)
        ]
        if made:
            self.message_user(
                request,
                f"Made researcher(s): {', '.join(made)}. They keep their own studies "
                "and no longer reach the admin.",
                messages.SUCCESS,
            )
        if skipped:
            self.message_user(
                request,
                f"Left unchanged: {request.user.get_username()} (you); an admin cannot demote "
                "themselves here.",
                messages.WARNING,
            )


@admin.register(Study)
class StudyAdmin(admin.ModelAdmin):
    list_display = ["name", "study_type", "status", "owner", "dataset", "model", "created_at"]
    list_filter = ["status", "study_type"]
    search_fields = ["name"]
    readonly_fields = ["uid", "status", "launched_at", "closed_at"]

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]  # admin hook
        # Participants agreed to the consent text shown: once live it is the study's only
        # version (exported with its sha256), so it cannot change any more.
        fixed = ["consent_text"] if obj is not None and not obj.is_draft else []
        return [*self.readonly_fields, *fixed]


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
