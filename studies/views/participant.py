"""The participant flow after entry: instructions -> comprehension check -> practice ->
trials -> questionnaire -> completion (entry and the first consent are in
:mod:`studies.views.entry`). The end page sends each outcome back to the platform with its
own code, or asks the person to return the submission (:mod:`studies.outcomes`).

The pages live under ``/s/p/<participant uid>/``. The uid in those URLs identifies the
participant, so the flow also works inside MTurk's cross-site iframe where cookies are not
sent (these views are therefore exempt from X-Frame-Options and CSRF cookies; knowing the
random uid is the credential). A trial takes a few queries: the participant is read with
their study and assignment, the current trial with its counts. An answer's response is the
next trial's page (no redirect: one request per answer). Every page works without
JavaScript; ``flow.js`` adds keyboard shortcuts, client timing, and makes a trial page's
history entry a GET so a reload does not send the answer again. Nothing here depends on
the study type: the type draws the trial and reads the answer.
"""

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from studies import comprehension, selectors
from studies.models import Assignment, Participant, Study, Trial
from studies.outcomes import outcome_code, prolific_complete_url
from studies.services.assignment import assignment_check_deadline, participant_withdraw
from studies.services.errors import Rejected, TimeLimitPassed
from studies.services.participants import (
    comprehension_submit,
    failed_attention_checks,
    participant_complete,
    participant_consent,
    participant_instructions_read,
    questionnaire_submit,
)
from studies.services.responses import response_submit, trial_mark_shown
from studies.services.snapshots import trial_view_of
from studies.types.base import TrialView, get_type

STEP_URLS = {
    "consent": "participate:consent",
    "instructions": "participate:instructions",
    "comprehension": "participate:comprehension",
    "trial": "participate:trial",
    "questionnaire": "participate:questionnaire",
    "complete": "participate:done",
    "done": "participate:done",
    "ended": "participate:ended",
}


def message(
    request: HttpRequest, title: str, text: str, status: int, link: tuple[str, str] | None = None
) -> HttpResponse:
    """Render a plain page telling the participant what happened (``link``: url, text)."""
    context = {"title": title, "text": text, "link": link}
    return render(request, "studies/participant/message.html", context, status=status)


def rejected(request: HttpRequest, exc: Rejected) -> HttpResponse:
    """Render the page for a refused request."""
    return message(request, "We could not accept that", exc.message, exc.status)


def step_redirect(participant: Participant) -> HttpResponseRedirect:
    """Redirect to the page of the participant's current step (read afresh)."""
    participant.refresh_from_db()
    step = selectors.participant_step(participant)
    return redirect(STEP_URLS[step], participant.uid)


def _participant(uid: uuid.UUID) -> Participant:
    participant = selectors.participant_by_uid(uid)
    if participant is None:
        raise Http404("No such participant.")
    return participant


@xframe_options_exempt
@require_GET
def resume(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    return step_redirect(_participant(uid))


def _wrong_step(participant: Participant, step: str) -> HttpResponseRedirect | None:
    if selectors.participant_step(participant) != step:
        return step_redirect(participant)
    return None


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def consent(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    participant = _participant(uid)
    if (other := _wrong_step(participant, "consent")) is not None:
        return other
    if request.method == "POST":
        try:
            participant_consent(participant=participant, agree=request.POST.get("agree") == "yes")
        except Rejected as exc:
            return rejected(request, exc)
        return step_redirect(participant)
    return render(
        request,
        "studies/participant/consent.html",
        {"study": participant.study, "participant": participant},
    )


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def instructions(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    participant = _participant(uid)
    if (other := _wrong_step(participant, "instructions")) is not None:
        return other
    if request.method == "POST":
        try:
            participant_instructions_read(participant=participant)
        except Rejected as exc:
            return rejected(request, exc)
        return step_redirect(participant)
    assignment = participant.assignment
    counts = selectors.trial_counts(assignment)
    kind = get_type(participant.study.study_type)
    return render(
        request,
        "studies/participant/instructions.html",
        {
            "study": participant.study,
            "participant": participant,
            "counts": counts,
            # Attention checks and gold count here, as the trial counter counts them.
            "main_count": counts["total"] - counts["practice"],
            "keyboard_help": kind.keyboard_help,
            # A rationale study shows no explanation: the participant does the highlighting.
            "shows_highlighting": not kind.produces_rationales,
            "deadline": assignment.deadline,
        },
    )


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def comprehension_check(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    """Ask the questions on the instructions; a wrong attempt shows them again, marked."""
    participant = _participant(uid)
    if (other := _wrong_step(participant, "comprehension")) is not None:
        return other
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            comprehension_submit(
                participant=participant,
                data=selectors.mapping_of(request.POST),
                attempt=selectors.as_int(request.POST.get("attempt")),
            )
        except ValidationError as exc:
            errors, status = exc.message_dict, 400
        except Rejected as exc:
            return rejected(request, exc)
        else:
            return step_redirect(participant)
    attempts = participant.comprehension_attempts
    wrong = set(attempts[-1]["wrong"]) if attempts else set()
    checks = participant.study.comprehension_checks
    return render(
        request,
        "studies/participant/comprehension.html",
        {
            "study": participant.study,
            "participant": participant,
            "attempt": len(attempts) + 1,
            "attempts": comprehension.ATTEMPTS,
            "wrong_numbers": [k for k, c in enumerate(checks, start=1) if c["key"] in wrong],
            "questions": [
                {
                    "check": check,
                    "number": k,
                    "wrong": check["key"] in wrong,
                    "errors": errors.get(check["key"], []),
                    "value": request.POST.get(check["key"], ""),
                    "options": [(str(i), text) for i, text in enumerate(check["options"])],
                }
                for k, check in enumerate(checks, start=1)
            ],
            "has_errors": bool(errors),
        },
        status=status,
    )


def trial_page(
    request: HttpRequest,
    *,
    study: Study,
    view: TrialView,
    trial_id: int | None,
    index: int,
    total: int,
    practice_total: int,
    action: str,
    error: str | None = None,
    status: int = 200,
    extra: dict[str, Any] | None = None,
    csrf: bool = False,
) -> HttpResponse:
    """Render one trial inside the flow's form (shared with the researcher's preview).

    ``csrf``: the form posts to a view that checks a CSRF token (the preview does; the
    participant's views are exempt, the uid in their URL being the credential, so their
    pages neither carry a token nor set its cookie).
    """
    kind = get_type(study.study_type)
    is_practice = view.role == "practice"
    return render(
        request,
        "studies/participant/trial.html",
        {
            "study": study,
            "trial_id": trial_id,
            "t": kind.trial_context(view),
            "type_template": kind.template_name,
            "keyboard_help": kind.keyboard_help,
            "index": index,
            "total": total,
            "practice_total": practice_total,
            # Numbered as the instructions count: the practice, then the items that count.
            "number": index if is_practice else index - practice_total,
            "of": practice_total if is_practice else total - practice_total,
            "is_practice": is_practice,
            "first_real": bool(practice_total) and index == practice_total + 1,
            "action": action,
            "idempotency_key": uuid.uuid4().hex,
            "error": error,
            "posted": request.POST if error else {},
            "csrf": csrf,
            **(extra or {}),
        },
        status=status,
    )


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def trial(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    """Show the current trial, or take its answer (the service checks the time limit)."""
    participant = _participant(uid)
    assignment = selectors.assignment_of(participant)
    if request.method == "POST":
        if selectors.participant_step(participant) == "comprehension":
            return step_redirect(participant)  # the check comes before any trial
        try:
            submitted = response_submit(
                participant=participant,
                trial_id=selectors.as_int(request.POST.get("trial")),
                data=selectors.mapping_of(request.POST),
                idempotency_key=request.POST.get("idempotency_key", ""),
                client_duration_ms=request.POST.get("client_duration_ms"),
            )
        except TimeLimitPassed:
            return redirect("participate:ended", participant.uid)
        except Rejected as exc:
            current = selectors.trial_current(assignment) if assignment is not None else None
            if exc.status == 400 and current is not None:
                return _render_current(request, participant, current, error=exc.message, status=400)
            return rejected(request, exc)
        if submitted.finished or assignment is None:
            return step_redirect(participant)
        # The next trial comes back in this response rather than after a redirect: one
        # request per answer instead of two (the second was 40% of an answer's cost).
        # flow.js turns the page's history entry into a GET of this address, so reloading
        # or going back shows the current trial; without JavaScript a reload sends the
        # answer again, which its idempotency key acknowledges without storing it twice.
        return _current_page(request, participant, assignment)
    if assignment is None:
        return step_redirect(participant)
    try:
        assignment_check_deadline(participant=participant, assignment=assignment)
    except TimeLimitPassed:
        return redirect("participate:ended", participant.uid)
    if (other := _wrong_step(participant, "trial")) is not None:
        return other
    return _current_page(request, participant, assignment)


def _current_page(
    request: HttpRequest, participant: Participant, assignment: Assignment
) -> HttpResponse:
    """Show the assignment's current trial, recording when it was first shown."""
    current = selectors.trial_current(assignment)
    if current is None:
        return step_redirect(participant)
    trial_mark_shown(trial=current)
    return _render_current(request, participant, current)


def _render_current(
    request: HttpRequest,
    participant: Participant,
    current: Trial,
    *,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render ``current``, read by :func:`~studies.selectors.trial_current` with its counts."""
    view = trial_view_of(study=participant.study, trial=current)
    return trial_page(
        request,
        study=participant.study,
        view=view,
        trial_id=current.pk,
        index=current.position + 1,
        total=current.n_total,  # type: ignore[attr-defined]  # annotated by trial_current
        practice_total=current.n_practice or 0,  # type: ignore[attr-defined]  # likewise
        action=reverse("participate:trial", args=[participant.uid]),
        error=error,
        status=status,
        extra={"participant": participant},
    )


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def questionnaire(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    participant = _participant(uid)
    if (other := _wrong_step(participant, "questionnaire")) is not None:
        return other
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        try:
            questionnaire_submit(participant=participant, data=selectors.mapping_of(request.POST))
        except ValidationError as exc:
            errors = exc.message_dict
            status = 400
        except Rejected as exc:
            return rejected(request, exc)
        else:
            return step_redirect(participant)
    return render(
        request,
        "studies/participant/questionnaire.html",
        {
            "study": participant.study,
            "participant": participant,
            "questions": [
                {
                    "q": q,
                    "points": list(range(1, (q.points or 0) + 1)),
                    "errors": errors.get(q.key, []),
                    "value": request.POST.get(q.key, ""),
                }
                for q in participant.study.questionnaire.all()
            ],
            "has_errors": bool(errors),
        },
        status=status,
    )


@csrf_exempt
@xframe_options_exempt
@require_GET
def done(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    """Finish: redirect to Prolific, POST back to MTurk, or show the completion code."""
    participant = _participant(uid)
    step = selectors.participant_step(participant)
    if step == "complete":
        try:
            participant = participant_complete(participant=participant)
        except Rejected as exc:
            return rejected(request, exc)
    elif step != "done":
        return step_redirect(participant)
    study = participant.study
    if participant.source == Participant.Source.PROLIFIC:
        # Completed before outcomes were recorded: the outcome is "completed".
        code = outcome_code(study, participant.outcome or Participant.Outcome.COMPLETED)
        if code:
            return redirect(prolific_complete_url(code))
        return _ended_page(request, participant)
    if participant.source == Participant.Source.MTURK:
        return render(
            request,
            "studies/participant/mturk_submit.html",
            {
                "study": study,
                "participant": participant,
                "action": participant.mturk_submit_to.rstrip("/") + "/mturk/externalSubmit",
            },
        )
    return render(
        request, "studies/participant/done.html", {"study": study, "participant": participant}
    )


def _ended_page(request: HttpRequest, participant: Participant) -> HttpResponse:
    """Render the page of an outcome with no code: what happened, and to return the submission."""
    failed = (
        failed_attention_checks(participant)
        if participant.outcome == Participant.Outcome.FAILED_CHECKS
        else None
    )
    return render(
        request,
        "studies/participant/ended.html",
        {
            "study": participant.study,
            "participant": participant,
            "status": participant.outcome or participant.status,
            "source": participant.source,
            "failed_checks": failed,
        },
    )


@xframe_options_exempt
@require_GET
def ended(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    """Say how the participation ended; a screened-out Prolific participant gets their code."""
    participant = _participant(uid)
    if selectors.participant_step(participant) != "ended":
        return step_redirect(participant)
    if participant.source == Participant.Source.PROLIFIC:
        code = outcome_code(participant.study, participant.outcome)
        if code and participant.outcome == Participant.Outcome.SCREENED_OUT:
            return redirect(prolific_complete_url(code))
    return _ended_page(request, participant)


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def withdraw(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    """Stop taking part once confirmed; the place goes to someone else, the answers stay.

    GET (the "Stop taking part" link) and a POST without ``confirm=yes`` show the
    confirmation page, so one stray click or keypress withdraws nobody.
    """
    participant = _participant(uid)
    if selectors.participant_step(participant) in ("done", "ended"):
        return step_redirect(participant)
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        try:
            participant_withdraw(participant=participant)
        except Rejected as exc:
            return rejected(request, exc)
        return redirect("participate:ended", participant.uid)
    return render(
        request,
        "studies/participant/withdraw.html",
        {"study": participant.study, "participant": participant, "confirming": True},
    )
