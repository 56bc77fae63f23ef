"""Researcher pages: list, design, preview, launch, progress, exclusions, deletion, close.

Every page fetches the study through :func:`studies.selectors.study_access` (404 for
anyone but the owner). Views validate input, call one service and redirect.
"""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from studies import privacy_selectors, selectors
from studies.forms import (
    ExclusionRulesForm,
    InvitationForm,
    ManualExclusionForm,
    ParticipantDeletionForm,
    StudyDesignForm,
    StudyFilterForm,
    StudyStartForm,
    initial_from,
    option_display,
    option_label,
)
from studies.models import Exclusion, Participant, Study
from studies.pseudonyms import looks_like_pseudonym
from studies.services.design import (
    design_of,
    study_create,
    study_delete,
    study_duplicate,
    study_update,
)
from studies.services.exclusions import (
    ExclusionRules,
    exclusion_create,
    exclusion_revoke,
    exclusions_apply,
)
from studies.services.invitations import invitations_create
from studies.services.lifecycle import study_close, study_launch
from studies.services.privacy import participant_data_delete
from studies.types.base import get_type, type_choices

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


STUDIES_PER_PAGE = 25


@login_required
def study_list(request: HttpRequest) -> HttpResponse:
    filters = StudyFilterForm(request.GET)
    studies = filters.filter(
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
    page = Paginator(studies.order_by("-created_at", "-pk"), STUDIES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    labels = dict(type_choices())
    return render(
        request,
        "studies/researcher/study_list.html",
        {
            "filters": filters,
            "filtered": any(request.GET.get(name) for name in filters.fields),
            "page": page,
            "rows": [(s, labels.get(s.study_type, s.study_type)) for s in page],
        },
    )


def _design_page(request: HttpRequest, study: Study | None) -> HttpResponse:
    """Show the first step (type, dataset, model), or the design form for that choice.

    The first step is a GET form, so it works without JavaScript; its choices travel with
    the design form as hidden fields. A draft being edited keeps its choices unless
    ``?change=1`` asks to choose again.
    """
    data = request.POST if request.method == "POST" else request.GET
    chosen = any(name in data for name in ("study_type", "dataset", "model"))
    current = initial_from(design_of(study)) if study is not None else {}
    if request.method == "GET" and "change" in request.GET:
        # Back to the first step, with the current choices ticked.
        setup = StudyStartForm(user=request.user, initial={**current, **request.GET.dict()})
    elif chosen:
        setup = StudyStartForm(data, user=request.user)
    elif study is not None:
        setup = StudyStartForm(
            {k: current[k] for k in ("study_type", "dataset", "model")}, user=request.user
        )
    else:
        setup = StudyStartForm(user=request.user)
    if not setup.is_valid():
        return render(
            request,
            "studies/researcher/study_start.html",
            {"setup": setup, "study": study},
            status=400 if request.method == "POST" else 200,
        )
    choice = setup.cleaned_data
    initial = {**current, **{k: v for k, v in choice.items() if k == "study_type"}}
    form = StudyDesignForm(
        request.POST or None,
        user=request.user,
        initial=initial,
        study_type=choice["study_type"],
        dataset=choice["dataset"],
        model=choice["model"],
    )
    if request.method == "POST" and form.is_valid():
        try:
            if study is None:
                study = study_create(owner=request.user, design=form.to_design())  # type: ignore[arg-type]  # logged in
                messages.success(request, f"Study {study.name!r} created as a draft.")
            else:
                study = study_update(study=study, design=form.to_design())
                messages.success(request, "Design saved; items were sampled again.")
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return redirect(study)
    return render(
        request,
        "studies/researcher/study_form.html",
        {"form": form, "study": study, "kind": get_type(choice["study_type"]), **choice},
        status=400 if request.method == "POST" else 200,  # a POST here was refused
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_new(request: HttpRequest) -> HttpResponse:
    return _design_page(request, None)


@login_required
@require_http_methods(["GET", "POST"])
def study_edit(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    if not study.is_draft:
        messages.error(request, f"This study is {study.status}: its design cannot change.")
        return redirect(study)
    return _design_page(request, study)


@login_required
def study_detail(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    kind = get_type(study.study_type)
    items = study.items.select_related("instance", "condition").order_by(
        "condition__position", "role", "position"
    )
    lists = study.lists.select_related("condition").annotate(n_items=Count("items"))
    return render(
        request,
        "studies/researcher/study_detail.html",
        {
            "study": study,
            "kind": kind,
            "type_options": [
                (
                    option_label(option),
                    option_display(option, study.type_options.get(option.name, option.default)),
                )
                for option in kind.options
            ],
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


def _confirmed(request: HttpRequest) -> bool:
    """Return whether this is the confirmation page's POST (one click never acts alone)."""
    return request.method == "POST" and request.POST.get("confirm") == "yes"


def _confirm_page(
    request: HttpRequest,
    study: Study,
    *,
    action: str,
    question: str,
    consequences: list[str],
    button: str,
    danger: bool = False,
) -> HttpResponse:
    """Show what ``action`` will do to the study and a form that does it when confirmed."""
    return render(
        request,
        "studies/researcher/study_confirm.html",
        {
            "study": study,
            "action": reverse(f"studies:study-{action}", args=[study.pk]),
            "question": question,
            "consequences": consequences,
            "button": button,
            "danger": danger,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_launch_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Launch after a confirmation page: launching freezes the items for good."""
    study = selectors.study_access(request.user, pk)
    if _confirmed(request):
        return _lifecycle_step(
            request, study, study_launch, "The study is live; its items and scores are frozen."
        )
    n_items = study.items.count()
    return _confirm_page(
        request,
        study,
        action="launch",
        question=f"Launch {study.name}?",
        consequences=[
            f"Launching freezes its {n_items} item{pluralize(n_items)} with the explanations "
            "and scores they show: recomputing explanations or scores later never changes them.",
            "The design can no longer be edited (duplicate the study to change it).",
            "The entry links start accepting participants.",
        ],
        button="Launch: freeze the items and go live",
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Close after a confirmation page: closing cannot be undone."""
    study = selectors.study_access(request.user, pk)
    if _confirmed(request):
        return _lifecycle_step(
            request, study, study_close, "The study is closed; every answer is kept."
        )
    return _confirm_page(
        request,
        study,
        action="close",
        question=f"Close {study.name}?",
        consequences=[
            "No one can enter any more, and participants part-way through cannot answer "
            "further trials.",
            "Every answer stored so far is kept for the analysis and the exports.",
            "A closed study cannot be reopened.",
        ],
        button="Close the study",
        danger=True,
    )


@login_required
@require_http_methods(["GET", "POST"])
def study_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a draft after a confirmation page."""
    study = selectors.study_access(request.user, pk)
    if _confirmed(request):
        return _lifecycle_step(
            request,
            study,
            study_delete,
            f"Draft {study.name!r} deleted.",
            done="studies:study-list",
        )
    n_items = study.items.count()
    return _confirm_page(
        request,
        study,
        action="delete",
        question=f"Delete the draft {study.name}?",
        consequences=[
            f"The draft, its design and its {n_items} sampled item{pluralize(n_items)} are "
            "deleted. This cannot be undone.",
            "Only drafts can be deleted: nobody has taken part in it.",
        ],
        button="Delete the draft",
        danger=True,
    )


@login_required
@require_POST
def study_duplicate_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Create a new draft with this study's design, owned by the current researcher."""
    study = selectors.study_access(request.user, pk)
    try:
        copy = study_duplicate(study=study, actor=request.user)  # type: ignore[arg-type]  # logged in
    except ValidationError as exc:
        messages.error(request, "The study could not be duplicated: " + " ".join(exc.messages))
        return redirect(study)
    messages.success(
        request,
        f"Draft {copy.name!r} created with the design of {study.name!r}; its items are "
        "sampled again and not frozen, and it has a new completion code.",
    )
    return redirect(copy)


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
        "csrf": True,
    }
    if request.method == "POST":
        try:
            value, passed = selectors.preview_answer(
                study, row["view"], selectors.mapping_of(request.POST)
            )
        except ValidationError as exc:
            return trial_page(request, error=" ".join(exc.messages), status=400, **common)
        note = "" if passed is None else (" (check passed)" if passed else " (check FAILED)")
        said = get_type(study.study_type).describe_answer(row["view"], value)
        messages.info(request, f"Trial {position}: you {said} — accepted, not stored{note}.")
        if position == len(trials):
            return redirect(reverse("studies:study-preview", args=[study.pk]) + "?finished=1")
        return redirect("studies:study-preview-trial", study.pk, position + 1)
    return trial_page(request, **common)


@login_required
def study_progress_view(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    # The active exclusion, so an excluded row can offer to revoke it.
    participants = selectors.participants_of(study).annotate(
        exclusion_id=Subquery(
            Exclusion.objects.filter(participant=OuterRef("pk"), revoked_at__isnull=True)
            .order_by("pk")
            .values("pk")[:1]
        )
    )
    return render(
        request,
        "studies/researcher/progress.html",
        {
            "study": study,
            "progress": selectors.study_progress(study),
            "participants": participants,
            "deletion_form": ParticipantDeletionForm(),
            "deletions": study.deletions.select_related("deleted_by"),
        },
    )


def _deletion_target(study: Study, identifier: str) -> dict[str, str]:
    """Return the service's keyword naming the participant: pseudonym or platform id."""
    identifier = identifier.strip()
    if looks_like_pseudonym(identifier):
        return {"pseudonym": identifier}
    return {"platform_id": identifier}


@login_required
@require_POST
def participant_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a participant's data at their request, after a confirmation page.

    The first POST (from the progress page) shows who would be deleted and how many answers;
    only a second POST with ``confirm`` deletes.
    """
    study = selectors.study_access(request.user, pk)
    form = ParticipantDeletionForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Name the participant by pseudonym or platform id.")
        return redirect("studies:study-progress", study.pk)
    target = _deletion_target(study, form.cleaned_data["participant"])
    try:
        participant = privacy_selectors.participant_to_delete(study, **target)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("studies:study-progress", study.pk)
    if request.POST.get("confirm") != "yes":
        return render(
            request,
            "studies/researcher/participant_delete.html",
            {
                "study": study,
                "form": form,
                "participant": participant,
                "pseudonym": participant.pseudonym,
                "n_answers": participant.responses.count(),
            },
        )
    try:
        log = participant_data_delete(
            study=study,
            actor=request.user,  # type: ignore[arg-type]  # logged in
            reason=form.cleaned_data["reason"],
            **target,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"Participant {log.pseudonym}: {log.answers} answer(s) deleted and logged. "
            "Their place on the list stays taken.",
        )
    return redirect("studies:study-progress", study.pk)


@login_required
@require_http_methods(["GET", "POST"])
def study_exclusions(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    rules_form = ExclusionRulesForm(request.POST if "apply" in request.POST else None)
    manual_form = ManualExclusionForm(request.POST if "manual" in request.POST else None)
    if "exclude" in request.POST:
        # A progress row's "Exclude…": the hand form filled in with who, waiting for a reason.
        pseudonym = str(request.POST.get("pseudonym") or "").strip()
        participant = privacy_selectors.participant_by_pseudonym(study, pseudonym)
        if participant is None:
            messages.error(request, f"pseudonym: no participant {pseudonym[:30]!r} in this study.")
            return redirect("studies:study-progress", study.pk)
        manual_form = ManualExclusionForm(initial={"participant": participant.pk})
        manual_form.fields["reason"].widget.attrs["autofocus"] = True
    elif request.method == "POST":
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
            "exclusions": selectors.exclusions_of(study).select_related("participant__study"),
        },
        status=400 if request.method == "POST" and "exclude" not in request.POST else 200,
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
