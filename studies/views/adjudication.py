"""The adjudication page of an expert review: reviewers' answers side by side, final flags.

The lead reviewer reaches it through their own invitation token (``/s/adjudicate/<token>/``;
the explanations stay unnamed, "Explanation A, B"), the researcher through the study
(``/studies/<pk>/adjudication/``, with method names). Both record decisions through
:func:`studies.services.adjudication.adjudication_record`.
"""

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from studies import selectors
from studies.models import Invitation, Study
from studies.review_selectors import lead_invitation, review_items
from studies.services.adjudication import Decision, adjudication_record
from studies.types.base import get_type


def _decisions(request: HttpRequest, item: dict[str, Any]) -> dict[str, Decision]:
    """Return the decisions posted for an item: a flag per explanation letter, and comments."""
    decided = {}
    for explanation in item["explanations"]:
        flag = request.POST.get(f"{explanation['letter']}_flag", "").strip()
        if flag:
            comment = request.POST.get(f"{explanation['letter']}_comment", "")
            decided[explanation["method"]] = Decision(flag=flag, comment=comment)
    return decided


def _page(
    request: HttpRequest,
    study: Study,
    *,
    invitation: Invitation | None,
    action: str,
    lead_link: str | None = None,
) -> HttpResponse:
    items = review_items(study)
    error: tuple[int, str] | None = None
    if request.method == "POST":
        item_id = selectors.as_int(request.POST.get("item"))
        item = next((row for row in items if row["item"].pk == item_id), None)
        try:
            if item is None:
                raise ValidationError(f"item {request.POST.get('item')!r} is not in this study")
            _rows, created = adjudication_record(
                study=study,
                item_id=item["item"].pk,
                decisions=_decisions(request, item),
                idempotency_key=request.POST.get("idempotency_key", ""),
                invitation=invitation,
                user=None if invitation is not None else request.user,  # type: ignore[arg-type]  # logged in
            )
        except ValidationError as exc:
            error = (item_id or 0, " ".join(exc.messages))
        else:
            note = "recorded" if created else "already recorded"
            messages.success(request, f"Decision on {item['instance']} {note}.")
            return redirect(action + f"#item-{item['item'].pk}")
    return render(
        request,
        "studies/adjudication.html",
        {
            "study": study,
            "items": items,
            "flags": study.type_options.get("flags", []),
            "blind": invitation is not None,
            "adjudicator": invitation.label if invitation is not None else request.user,
            "action": action,
            "lead_link": lead_link,
            "error": error,
            "idempotency_key": uuid.uuid4().hex,
            "n_disagreements": sum(1 for row in items if row["disagreement"]),
        },
        status=400 if error else 200,
    )


@require_http_methods(["GET", "POST"])
def adjudication_for_lead(request: HttpRequest, token: str) -> HttpResponse:
    """The lead reviewer's page, reached by their invitation token."""
    invitation = lead_invitation(token)
    return _page(
        request,
        invitation.study,
        invitation=invitation,
        action=reverse("participate:adjudicate", args=[token]),
    )


@login_required
@require_http_methods(["GET", "POST"])
def adjudication_for_researcher(request: HttpRequest, pk: int) -> HttpResponse:
    """The researcher's page: the same decisions, with method names and the lead's link."""
    study = selectors.study_access(request.user, pk)
    if not get_type(study.study_type).has_adjudication:
        messages.error(request, "Only expert-review studies are adjudicated.")
        return redirect(study)
    lead = str(study.type_options.get("lead_reviewer") or "")
    invitation = study.invitations.filter(label=lead).first() if lead else None
    link = (
        request.build_absolute_uri(reverse("participate:adjudicate", args=[invitation.token]))
        if invitation is not None
        else None
    )
    return _page(
        request,
        study,
        invitation=None,
        action=reverse("studies:study-adjudication", args=[study.pk]),
        lead_link=link,
    )
