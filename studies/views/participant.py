"""The participant flow: entry -> consent -> instructions -> practice -> trials ->
questionnaire -> completion.

Entry links set the participant in the session and redirect to ``/s/p/<participant uid>/``
pages. The uid in those URLs identifies the participant, so the flow also works inside
MTurk's cross-site iframe where cookies are not sent (these views are therefore exempt
from X-Frame-Options and CSRF cookies; knowing the random uid is the credential). Every
page works without JavaScript; ``flow.js`` adds keyboard shortcuts and client timing.
Nothing here depends on the study type: the type draws the trial and reads the answer.
"""

import uuid
from typing import Any
from urllib.parse import urlencode, urlparse

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from studies import selectors
from studies.models import Invitation, Participant, Study, Trial
from studies.services.assignment import (
    MTURK_PREVIEW,
    EntryIds,
    assignment_check_deadline,
    participant_enter,
    participant_withdraw,
)
from studies.services.errors import Rejected, TimeLimitPassed
from studies.services.participants import (
    participant_complete,
    participant_consent,
    participant_instructions_read,
    questionnaire_submit,
)
from studies.services.responses import response_submit, trial_mark_shown
from studies.services.snapshots import trial_view
from studies.types.base import TrialView, get_type

PROLIFIC_COMPLETE = "https://app.prolific.com/submissions/complete"
MTURK_HOSTS = {"www.mturk.com", "workersandbox.mturk.com"}
STEP_URLS = {
    "consent": "participate:consent",
    "instructions": "participate:instructions",
    "trial": "participate:trial",
    "questionnaire": "participate:questionnaire",
    "complete": "participate:done",
    "done": "participate:done",
    "ended": "participate:ended",
}


def message(request: HttpRequest, title: str, text: str, status: int) -> HttpResponse:
    """Render a plain page telling the participant what happened."""
    return render(
        request, "studies/participant/message.html", {"title": title, "text": text}, status=status
    )


def _rejected(request: HttpRequest, exc: Rejected) -> HttpResponse:
    return message(request, "We could not accept that", exc.message, exc.status)


def _step_redirect(participant: Participant) -> HttpResponseRedirect:
    participant.refresh_from_db()
    step = selectors.participant_step(participant)
    return redirect(STEP_URLS[step], participant.uid)


def _participant(uid: uuid.UUID) -> Participant:
    participant = Participant.objects.select_related("study").filter(uid=uid).first()
    if participant is None:
        raise Http404("No such participant.")
    return participant


def _bind(request: HttpRequest, participant: Participant) -> None:
    request.session[selectors.session_key(participant.study)] = participant.pk


def _valid_submit_to(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme == "https" and parsed.hostname in MTURK_HOSTS


@xframe_options_exempt
@require_GET
def entry(request: HttpRequest, study_uid: uuid.UUID) -> HttpResponse:
    """Enter from Prolific, MTurk or the anonymous link; resume whoever this is."""
    study = selectors.study_for_participants(str(study_uid))
    params = request.GET
    current = selectors.participant_from_session(request.session, study)
    if params.get("PROLIFIC_PID"):
        ids = EntryIds(
            source=Participant.Source.PROLIFIC,
            prolific_pid=params["PROLIFIC_PID"][:100],
            prolific_study_id=params.get("STUDY_ID", "")[:100],
            prolific_session_id=params.get("SESSION_ID", "")[:100],
        )
    elif params.get("assignmentId"):
        if params["assignmentId"] == MTURK_PREVIEW:
            return mturk_preview(request, study)
        submit_to = params.get("turkSubmitTo", "")
        if not _valid_submit_to(submit_to):
            return message(
                request,
                "This link is incomplete",
                "The MTurk link must carry turkSubmitTo pointing to MTurk (https).",
                400,
            )
        ids = EntryIds(
            source=Participant.Source.MTURK,
            mturk_worker_id=params.get("workerId", "")[:100],
            mturk_assignment_id=params["assignmentId"][:100],
            mturk_hit_id=params.get("hitId", "")[:100],
            mturk_submit_to=submit_to,
        )
    elif current is not None:
        return _step_redirect(current)
    else:
        ids = EntryIds(source=Participant.Source.ANONYMOUS)
    try:
        participant = participant_enter(study=study, ids=ids, current=current)
    except Rejected as exc:
        return _rejected(request, exc)
    _bind(request, participant)
    return _step_redirect(participant)


@xframe_options_exempt
@require_GET
def invitation_entry(request: HttpRequest, token: str) -> HttpResponse:
    """Enter by a single-use invitation; a used one resumes its participant."""
    invitation = (
        Invitation.objects.select_related("study")
        .filter(token=token)
        .exclude(study__status=Study.Status.DRAFT)
        .first()
    )
    if invitation is None:
        raise Http404("No such invitation.")
    try:
        participant = participant_enter(
            study=invitation.study,
            ids=EntryIds(source=Participant.Source.INVITED),
            invitation=invitation,
        )
    except Rejected as exc:
        return _rejected(request, exc)
    _bind(request, participant)
    return _step_redirect(participant)


def mturk_preview(request: HttpRequest, study: Study) -> HttpResponse:
    """Show MTurk workers the task before they accept the HIT; accept nothing."""
    if study.status != Study.Status.LIVE:
        return message(request, "This study is closed", "This HIT no longer accepts work.", 410)
    trials = selectors.preview_trials(study)
    example = next((t for t in trials if t["role"] == "test"), trials[0] if trials else None)
    context: dict[str, Any] = {"study": study, "preview": True}
    if example is not None:
        kind = get_type(study.study_type)
        context |= {
            "type_template": kind.template_name,
            "t": kind.trial_context(example["view"]),
            "disabled": True,
        }
    return render(request, "studies/participant/mturk_preview.html", context)


@xframe_options_exempt
@require_GET
def resume(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    return _step_redirect(_participant(uid))


def _wrong_step(participant: Participant, step: str) -> HttpResponseRedirect | None:
    if selectors.participant_step(participant) != step:
        return _step_redirect(participant)
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
            return _rejected(request, exc)
        return _step_redirect(participant)
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
            return _rejected(request, exc)
        return _step_redirect(participant)
    assignment = participant.assignment
    counts = selectors.trial_counts(assignment)
    return render(
        request,
        "studies/participant/instructions.html",
        {
            "study": participant.study,
            "participant": participant,
            "counts": counts,
            "main_count": counts["total"] - counts["practice"],
            "keyboard_help": get_type(participant.study.study_type).keyboard_help,
            "deadline": assignment.deadline,
        },
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
) -> HttpResponse:
    """Render one trial inside the flow's form (shared with the researcher's preview)."""
    kind = get_type(study.study_type)
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
            "is_practice": view.role == "practice",
            "first_real": bool(practice_total) and index == practice_total + 1,
            "action": action,
            "idempotency_key": uuid.uuid4().hex,
            "error": error,
            "posted": request.POST if error else {},
            **(extra or {}),
        },
        status=status,
    )


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def trial(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    participant = _participant(uid)
    try:
        assignment_check_deadline(participant=participant)
    except TimeLimitPassed:
        return redirect("participate:ended", participant.uid)
    if request.method == "POST":
        try:
            response_submit(
                participant=participant,
                trial_id=selectors.as_int(request.POST.get("trial")),
                data=selectors.mapping_of(request.POST),
                idempotency_key=request.POST.get("idempotency_key", ""),
                client_duration_ms=request.POST.get("client_duration_ms"),
            )
        except Rejected as exc:
            if exc.status == 400 and (current := _current(participant)) is not None:
                return _render_current(request, participant, current, error=exc.message, status=400)
            return _rejected(request, exc)
        return _step_redirect(participant)
    if (other := _wrong_step(participant, "trial")) is not None:
        return other
    current = _current(participant)
    if current is None:
        return _step_redirect(participant)
    trial_mark_shown(trial=current)
    return _render_current(request, participant, current)


def _current(participant: Participant) -> Trial | None:
    return selectors.trial_current(participant.assignment)


def _render_current(
    request: HttpRequest,
    participant: Participant,
    current: Trial,
    *,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    counts = selectors.trial_counts(participant.assignment)
    view = trial_view(
        study=participant.study,
        snapshot=current.item.frozen,
        role=current.role,
        phase=current.phase,
        payload=current.payload,
        expected=current.item.expected,
    )
    return trial_page(
        request,
        study=participant.study,
        view=view,
        trial_id=current.pk,
        index=current.position + 1,
        total=counts["total"],
        practice_total=counts["practice"],
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
            return _rejected(request, exc)
        else:
            return _step_redirect(participant)
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
            return _rejected(request, exc)
    elif step != "done":
        return _step_redirect(participant)
    study = participant.study
    if participant.source == Participant.Source.PROLIFIC:
        return redirect(f"{PROLIFIC_COMPLETE}?{urlencode({'cc': study.completion_code})}")
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


@xframe_options_exempt
@require_GET
def ended(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    participant = _participant(uid)
    if selectors.participant_step(participant) != "ended":
        return _step_redirect(participant)
    return render(
        request,
        "studies/participant/ended.html",
        {"study": participant.study, "participant": participant},
    )


@csrf_exempt
@xframe_options_exempt
@require_POST
def withdraw(request: HttpRequest, uid: uuid.UUID) -> HttpResponse:
    """Stop taking part; the place goes to someone else and the answers so far stay."""
    participant = _participant(uid)
    try:
        participant_withdraw(participant=participant)
    except Rejected as exc:
        return _rejected(request, exc)
    return redirect("participate:ended", participant.uid)
