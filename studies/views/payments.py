"""The payments page and its CSV: platform ids, outcomes, suggested decisions, bonuses.

Researcher only, through :func:`studies.selectors.study_access` (404 for anyone else). The
Prolific actions show when ``PROLIFIC_API_TOKEN`` is set, the MTurk ones when
``MTURK_ACCESS_KEY_ID`` is; each is a POST that needs its confirmation box ticked.
"""

import csv
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from studies import selectors
from studies.models import PaymentAction
from studies.payment_selectors import DECISIONS, payment_csv_rows, payment_rows
from studies.platforms.mturk import MTurkClient, mturk_boto_client
from studies.platforms.prolific import ProlificClient, ProlificError
from studies.services.payments import (
    SentReport,
    bonuses_pay,
    decisions_send,
    prolific_sync,
    study_bonus_set,
)


def prolific_client() -> ProlificClient | None:
    """Return the Prolific client when a token is configured, else None (actions hidden)."""
    token = settings.PROLIFIC_API_TOKEN
    return ProlificClient(token) if token else None


def mturk_client() -> MTurkClient | None:
    """Return the MTurk client when an access key is configured, else None (actions hidden)."""
    if not settings.MTURK_ACCESS_KEY_ID:
        return None
    return MTurkClient(
        mturk_boto_client(
            sandbox=settings.MTURK_SANDBOX,
            access_key_id=settings.MTURK_ACCESS_KEY_ID,
            secret_access_key=settings.MTURK_SECRET_ACCESS_KEY,
        )
    )


@login_required
@require_GET
def study_payments(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    decision = request.GET.get("decision") or None
    if decision not in (None, *DECISIONS):
        messages.error(request, f"decision: expected one of {', '.join(DECISIONS)}")
        decision = None
    rows = payment_rows(study, decision=decision)
    return render(
        request,
        "studies/researcher/payments.html",
        {
            "study": study,
            "rows": rows,
            "decision": decision or "",
            "decisions": DECISIONS,
            "prolific_on": bool(settings.PROLIFIC_API_TOKEN),
            "mturk_on": bool(settings.MTURK_ACCESS_KEY_ID),
            "mturk_sandbox": settings.MTURK_SANDBOX,
            "actions": PaymentAction.objects.filter(study=study).order_by("-created_at", "-pk")[
                :50
            ],
        },
    )


@login_required
@require_GET
def study_payments_csv(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="payments-study-{study.pk}.csv"'
    csv.writer(response).writerows(payment_csv_rows(payment_rows(study)))
    return response


@login_required
@require_POST
def study_payments_bonus(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    text = request.POST.get("bonus_amount", "").strip()
    try:
        amount = Decimal(text) if text else None
        study_bonus_set(study=study, amount=amount)
    except InvalidOperation:
        messages.error(request, f"bonus_amount: {text!r} is not an amount; expected e.g. 0.50")
    except ValidationError as exc:
        messages.error(request, "bonus_amount: " + " ".join(exc.messages))
    else:
        messages.success(request, f"Bonus set to {amount:.2f}." if amount else "No bonus.")
    return redirect("studies:study-payments", study.pk)


def _confirmed(request: HttpRequest) -> bool:
    if request.POST.get("confirm") == "yes":
        return True
    messages.error(request, "confirm: tick the box to confirm; nothing was sent.")
    return False


def _say(request: HttpRequest, what: str, report: SentReport) -> None:
    text = f"{what}: {report.ok} accepted, {report.failed} refused."
    if report.failed:
        messages.error(request, text + " " + " | ".join(report.errors[:3]))
    else:
        messages.success(request, text)


@login_required
@require_POST
def study_payments_sync(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    client = prolific_client()
    if client is None:
        messages.error(request, "Prolific is not configured: set PROLIFIC_API_TOKEN.")
        return redirect("studies:study-payments", study.pk)
    try:
        report = prolific_sync(study=study, client=client, by=request.user)  # type: ignore[arg-type]  # logged in
    except ProlificError as exc:
        messages.error(request, str(exc))
    else:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(report.statuses.items())) or "none"
        messages.success(
            request,
            f"Prolific submissions: {counts}. Places freed: {report.freed}. "
            f"Not matched here: {report.unknown}.",
        )
    return redirect("studies:study-payments", study.pk)


@login_required
@require_POST
def study_payments_decide(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    if _confirmed(request):
        report = decisions_send(
            study=study,
            by=request.user,  # type: ignore[arg-type]  # logged in
            prolific_client=prolific_client(),
            mturk_client=mturk_client(),
        )
        _say(request, "Approvals and rejections", report)
    return redirect("studies:study-payments", study.pk)


@login_required
@require_POST
def study_payments_bonuses(request: HttpRequest, pk: int) -> HttpResponse:
    study = selectors.study_access(request.user, pk)
    if _confirmed(request):
        try:
            report = bonuses_pay(
                study=study,
                by=request.user,  # type: ignore[arg-type]  # logged in
                prolific_client=prolific_client(),
                mturk_client=mturk_client(),
            )
        except ValidationError as exc:
            messages.error(request, "bonus_amount: " + " ".join(exc.messages))
        else:
            _say(request, "Bonuses", report)
    return redirect("studies:study-payments", study.pk)
