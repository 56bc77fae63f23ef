"""Researcher pages under ``studies/`` and the participant flow under ``s/``."""

from django.urls import include, path

from .views import adjudication, entry, participant, payments, researcher

researcher_patterns = [
    path("", researcher.study_list, name="study-list"),
    path("new/", researcher.study_new, name="study-new"),
    path("<int:pk>/", researcher.study_detail, name="study-detail"),
    path("<int:pk>/edit/", researcher.study_edit, name="study-edit"),
    path("<int:pk>/delete/", researcher.study_delete_view, name="study-delete"),
    path("<int:pk>/preview/", researcher.study_preview, name="study-preview"),
    path(
        "<int:pk>/preview/<int:position>/",
        researcher.study_preview,
        name="study-preview-trial",
    ),
    path("<int:pk>/launch/", researcher.study_launch_view, name="study-launch"),
    path("<int:pk>/close/", researcher.study_close_view, name="study-close"),
    path("<int:pk>/duplicate/", researcher.study_duplicate_view, name="study-duplicate"),
    path("<int:pk>/progress/", researcher.study_progress_view, name="study-progress"),
    path(
        "<int:pk>/participants/delete/",
        researcher.participant_delete_view,
        name="participant-delete",
    ),
    path("<int:pk>/exclusions/", researcher.study_exclusions, name="study-exclusions"),
    path(
        "<int:pk>/exclusions/<int:exclusion_id>/revoke/",
        researcher.exclusion_revoke_view,
        name="exclusion-revoke",
    ),
    path("<int:pk>/invitations/", researcher.study_invitations, name="study-invitations"),
    path(
        "<int:pk>/adjudication/",
        adjudication.adjudication_for_researcher,
        name="study-adjudication",
    ),
    # Payments (issue #16): the one page and CSV with platform ids.
    path("<int:pk>/payments/", payments.study_payments, name="study-payments"),
    path("<int:pk>/payments.csv", payments.study_payments_csv, name="study-payments-csv"),
    path("<int:pk>/payments/bonus/", payments.study_payments_bonus, name="study-payments-bonus"),
    path("<int:pk>/payments/sync/", payments.study_payments_sync, name="study-payments-sync"),
    path("<int:pk>/payments/decide/", payments.study_payments_decide, name="study-payments-decide"),
    path(
        "<int:pk>/payments/bonuses/", payments.study_payments_bonuses, name="study-payments-bonuses"
    ),
]

participant_patterns = [
    path("<uuid:study_uid>/", entry.entry, name="entry"),
    path("<uuid:study_uid>/join/<str:token>/", entry.join, name="join"),
    path("invite/<slug:token>/", entry.invitation_entry, name="invitation"),
    path("p/<uuid:uid>/", participant.resume, name="resume"),
    path("p/<uuid:uid>/consent/", participant.consent, name="consent"),
    path("p/<uuid:uid>/instructions/", participant.instructions, name="instructions"),
    path("p/<uuid:uid>/check/", participant.comprehension_check, name="comprehension"),
    path("p/<uuid:uid>/trial/", participant.trial, name="trial"),
    path("p/<uuid:uid>/questionnaire/", participant.questionnaire, name="questionnaire"),
    path("p/<uuid:uid>/done/", participant.done, name="done"),
    path("p/<uuid:uid>/ended/", participant.ended, name="ended"),
    path("p/<uuid:uid>/withdraw/", participant.withdraw, name="withdraw"),
    path("adjudicate/<slug:token>/", adjudication.adjudication_for_lead, name="adjudicate"),
]

urlpatterns = [
    path("studies/", include((researcher_patterns, "studies"))),
    path("s/", include((participant_patterns, "participate"))),
]
