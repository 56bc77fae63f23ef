"""Researcher pages: list, design, preview, launch, progress, exclusions, close.

Every page fetches the study through :func:`studies.selectors.study_access` (404 for
anyone but the owner). Views validate input, call one service and redirect.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from studies import selectors
from studies.forms import (
    ExclusionRulesForm,
    InvitationForm,
    ManualExclusionForm,
    StudyDesignForm,
    initial_from,
)
from studies.models import Exclusion, Participant, Study
from studies.services.design import design_of, study_create, study_delete, study_update
from studies.services.exclusions import (
    ExclusionRules,
    exclusion_create,
    exclusion_revoke,
    exclusions_apply,
)
from studies.services.invitations import invitations_create
from studies.services.lifecycle import study_close, study_launch
from studies.types.base import get_type

from .participant import trial_page


def entry_links(request: HttpRequest, study: Study) -> dict[str, str]:
    """Return the entry link of each accepted source (platform placeholders left in)."""
    base = request.build_absolute_uri(reverse("participate:entry", args=[study.uid]))
    links = {}
    if Participant.Source.PROLIFIC in study.sources:
        links["prolific"] = (
            base + "?PROLIFIC_PID={{%PROLIFIC_PID%}}&STUDY_ID={{%STUDY_ID%}}"
            "&SESSION_ID={{%SESSION_ID%}}"
        )
    if Participant.Source.MTURK in study.sources:
        links["mturk"] = base
    if Participant.Source.ANONYMOUS in study.sources:
        links["anonymous"] = base
    return links


@login_required
def study_list(request: HttpRequest) -> HttpResponse:
    studies = (
        selectors.studies_visible_to(request.user)
        .select_related("dataset", "model")
        .annotate(
            participant_count=Count("participants", distinct=True),
            completed_count=Count(
                "participants",
                filter=Q(participants__status=Participant.Status.COMPLETED),
                distinct=True,
            ),
        )
    )
    return render(request, "studies/researcher/study_list.html", {"studies": studies})


@login_required
@require_http_methods(["GET", "POST"])
def study_new(request: HttpRequest) -> HttpResponse:
    form = StudyDesignForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            study = study_create(owner=request.user, design=form.to_design())  # type: ignore[arg-type]  # logged in
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, f"Study {study.name!r} created as a draft.")
            return redirect(study)
    return render(request, "studies/researcher/study_form.html", {"form": form, "study": None})


@login_required
@require_http_methods(["GET", "POST"])
def study_edit(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    if not study.is_draft:
        messages.error(request, f"This study is {study.status}: its design cannot change.")
        return redirect(study)
    form = StudyDesignForm(
        request.POST or None, user=request.user, initial=initial_from(design_of(study))
    )
    if request.method == "POST" and form.is_valid():
        try:
            study = study_update(study=study, design=form.to_design())
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, "Design saved; items were sampled again.")
            return redirect(study)
    return render(request, "studies/researcher/study_form.html", {"form": form, "study": study})


@login_required
def study_detail(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    items = study.items.select_related("instance", "condition").order_by(
        "condition__position", "role", "position"
    )
    lists = study.lists.select_related("condition").annotate(n_items=Count("items"))
    return render(
        request,
        "studies/researcher/study_detail.html",
        {
            "study": study,
            "kind": get_type(study.study_type),
            "methods": study.methods.order_by("name"),
            "conditions": study.conditions.all(),
            "lists": lists,
            "items": items,
            "questionnaire": study.questionnaire.all(),
            "links": entry_links(request, study),
            "invitations": study.invitations.select_related("participant"),
            "invitation_form": InvitationForm(),
            "places": sum(lst.target for lst in lists),
            "prolific_complete": prolific_complete_url(study),
        },
    )


def _lifecycle_step(
    request: HttpRequest,
    study: Study,
    step: Callable[..., Any],
    success: str,
    done: str | None = None,
) -> HttpResponse:
    """Run ``step(study=study)`` and say how it went.

    A refusal is shown as an error on the study's page; on success, show ``success`` and
    go to the ``done`` URL name (the study's page by default).
    """
    try:
        step(study=study)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(study)
    messages.success(request, success)
    return redirect(done) if done else redirect(study)


@login_required
@require_POST
def study_launch_view(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    return _lifecycle_step(
        request, study, study_launch, "The study is live; its items and scores are frozen."
    )


@login_required
@require_POST
def study_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    return _lifecycle_step(
        request, study, study_close, "The study is closed; every answer is kept."
    )


@login_required
@require_POST
def study_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    return _lifecycle_step(
        request, study, study_delete, f"Draft {study.name!r} deleted.", done="studies:study-list"
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_preview(request: HttpRequest, pk: int, position: int | None = None) -> HttpResponse:
    """Walk through the first list as a participant would; answers are checked, not stored."""
    study = selectors.study_access(request.user, pk)
    try:
        trials = selectors.preview_trials(study)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(study)
    if position is None:
        return render(
            request,
            "studies/researcher/preview_start.html",
            {
                "study": study,
                "trials": trials,
                "kind": get_type(study.study_type),
                "questions": [
                    {"q": q, "points": list(range(1, (q.points or 0) + 1))}
                    for q in study.questionnaire.all()
                ],
            },
        )
    if not 1 <= position <= len(trials):
        raise Http404("No such trial in the preview.")
    row = trials[position - 1]
    action = reverse("studies:study-preview-trial", args=[study.pk, position])
    practice_total = sum(1 for t in trials if t["role"] == "practice")
    common: dict[str, Any] = {
        "study": study,
        "view": row["view"],
        "trial_id": None,
        "index": position,
        "total": len(trials),
        "practice_total": practice_total,
        "action": action,
        "extra": {"preview_banner": True, "preview_role": row["role"]},
    }
    if request.method == "POST":
        try:
            value, passed = selectors.preview_answer(
                study, row["view"], selectors.mapping_of(request.POST)
            )
        except ValidationError as exc:
            return trial_page(request, error=" ".join(exc.messages), status=400, **common)
        note = "" if passed is None else (" (check passed)" if passed else " (check FAILED)")
        messages.info(request, f"Trial {position}: answer {value} accepted, not stored{note}.")
        if position == len(trials):
            return redirect(reverse("studies:study-preview", args=[study.pk]) + "?finished=1")
        return redirect("studies:study-preview-trial", study.pk, position + 1)
    return trial_page(request, **common)


@login_required
def study_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    participants = selectors.participants_of(study)
    return render(
        request,
        "studies/researcher/progress.html",
        {
            "study": study,
            "progress": selectors.study_progress(study),
            "participants": participants,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_exclusions(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    rules_form = ExclusionRulesForm(request.POST if "apply" in request.POST else None)
    manual_form = ManualExclusionForm(request.POST if "manual" in request.POST else None)
    if request.method == "POST":
        if "apply" in request.POST and rules_form.is_valid():
            d = rules_form.cleaned_data
            created = exclusions_apply(
                study=study,
                rules=ExclusionRules(
                    max_failed_checks=d["max_failed_checks"],
                    min_median_seconds=d["min_median_seconds"],
                    straight_lining=d["straight_lining"],
                    straight_lining_min=d["straight_lining_min"] or 4,
                ),
                by=request.user,  # type: ignore[arg-type]  # logged in
            )
            messages.success(request, f"{len(created)} new exclusion(s) logged.")
            return redirect("studies:study-exclusions", study.pk)
        if "manual" in request.POST and manual_form.is_valid():
            participant = study.participants.filter(
                pk=manual_form.cleaned_data["participant"]
            ).first()
            if participant is None:
                manual_form.add_error("participant", "no such participant in this study")
            else:
                try:
                    exclusion_create(
                        participant=participant,
                        reason=manual_form.cleaned_data["reason"],
                        by=request.user,  # type: ignore[arg-type]  # logged in
                    )
                except ValidationError as exc:
                    manual_form.add_error("reason", exc.messages)
                else:
                    messages.success(request, f"Participant {participant.pk} excluded.")
                    return redirect("studies:study-exclusions", study.pk)
    return render(
        request,
        "studies/researcher/exclusions.html",
        {
            "study": study,
            "rules_form": rules_form,
            "manual_form": manual_form,
            "exclusions": selectors.exclusions_of(study),
        },
        status=400 if request.method == "POST" else 200,
    )


@login_required
@require_POST
def exclusion_revoke_view(request: HttpRequest, pk: int, exclusion_id: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    exclusion = Exclusion.objects.filter(study=study, pk=exclusion_id).first()
    if exclusion is None:
        raise Http404("No such exclusion in this study.")
    try:
        exclusion_revoke(exclusion=exclusion, by=request.user)  # type: ignore[arg-type]  # logged in
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, f"Exclusion of participant {exclusion.participant_id} revoked.")
    return redirect("studies:study-exclusions", study.pk)


@login_required
@require_POST
def study_invitations(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            created = invitations_create(
                study=study, labels=form.cleaned_data["labels"].splitlines()
            )
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, f"{len(created)} invitation link(s) created.")
    else:
        messages.error(request, "Name at least one invitee.")
    return redirect(reverse("studies:study-detail", args=[study.pk]) + "#invitations")


def prolific_complete_url(study: Study) -> str:
    """Return the Prolific completion URL participants are sent to."""
    return "https://app.prolific.com/submissions/complete?" + urlencode(
        {"cc": study.completion_code}
    )
