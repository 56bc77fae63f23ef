"""Entry links and a newcomer's consent: nothing is stored until the person agrees.

An entry link (the anonymous link, Prolific's, MTurk's, an invitation) resumes whoever it
names, or shows a newcomer the consent page without writing a row. A newcomer's platform
ids travel to that page in a signed token in its URL: the page works inside MTurk's
cross-site iframe, where no cookie is sent, and nobody can hand it ids the entry did not
check (such as the ``turkSubmitTo`` host). "I agree" creates the participant, their consent
and their list place in one transaction; declining stores nothing.

One browser holds one place per study: the session remembers whom it took part as, and a
link naming someone else (another ``PROLIFIC_PID`` or ``workerId``) is refused with a page
that shows the other participant's id only in part.
"""

import uuid
from dataclasses import asdict
from typing import Any
from urllib.parse import urlparse

from django.core import signing
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from explanations.io.limits import nul_at
from studies import selectors
from studies.models import Invitation, Participant, Study
from studies.services.assignment import MTURK_PREVIEW, EntryIds, participant_arrive
from studies.services.errors import AlreadyTakingPart, Rejected
from studies.services.participants import participant_join
from studies.types.base import get_type

from .participant import message, rejected, step_redirect

MTURK_HOSTS = {"www.mturk.com", "workersandbox.mturk.com"}
ENTRY_SALT = "studies.entry"
SUBMIT_TO_LENGTH = Participant._meta.get_field("mturk_submit_to").max_length or 200


def entry_token(study: Study, ids: EntryIds) -> str:
    """Return the signed token that carries a newcomer's ``ids`` to the consent page."""
    return signing.dumps({"study": str(study.uid), **asdict(ids)}, salt=ENTRY_SALT, compress=True)


def _entry_ids(study: Study, token: str) -> EntryIds | None:
    try:
        data = signing.loads(token, salt=ENTRY_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.pop("study", None) != str(study.uid):
        return None
    try:
        return EntryIds(**data)
    except TypeError:  # a token from a version with other fields
        return None


def _valid_submit_to(url: str) -> bool:
    """Return whether ``url`` is MTurk's https post-back address, short enough to store."""
    if len(url) > SUBMIT_TO_LENGTH:  # never cut: a cut address would post back elsewhere
        return False
    parsed = urlparse(url)
    return parsed.scheme == "https" and parsed.hostname in MTURK_HOSTS


def _bind(request: HttpRequest, participant: Participant) -> None:
    request.session[selectors.session_key(participant.study)] = participant.pk


def _taken(request: HttpRequest, exc: AlreadyTakingPart) -> HttpResponse:
    return message(
        request,
        "This browser already takes part in this study",
        exc.message,
        exc.status,
        link=(reverse("participate:resume", args=[exc.participant.uid]), "Continue there"),
    )


def _arrive(
    request: HttpRequest,
    study: Study,
    ids: EntryIds,
    *,
    invitation: Invitation | None = None,
    current: Participant | None = None,
) -> HttpResponse | None:
    """Resume the participant ``ids`` name, or refuse; return None for a newcomer."""
    try:
        participant = participant_arrive(
            study=study, ids=ids, invitation=invitation, current=current
        )
    except AlreadyTakingPart as exc:
        return _taken(request, exc)
    except Rejected as exc:
        return rejected(request, exc)
    if participant is None:
        return None
    _bind(request, participant)
    return step_redirect(participant)


def _consent(
    request: HttpRequest, study: Study, ids: EntryIds, *, invitation: Invitation | None = None
) -> HttpResponse:
    """Ask a newcomer's consent; agreeing creates them with their place, declining nothing."""
    current = selectors.participant_from_session(request.session, study)
    if request.method == "POST":
        if request.POST.get("agree") != "yes":
            context = {"study": study, "status": Participant.Status.DECLINED, "source": ids.source}
            return render(request, "studies/participant/ended.html", context)
        try:
            participant = participant_join(
                study=study, ids=ids, invitation=invitation, current=current
            )
        except AlreadyTakingPart as exc:
            return _taken(request, exc)
        except Rejected as exc:
            return rejected(request, exc)
        _bind(request, participant)
        return step_redirect(participant)
    known = _arrive(request, study, ids, invitation=invitation, current=current)
    if known is not None:  # e.g. agreed in another tab meanwhile
        return known
    return render(request, "studies/participant/consent.html", {"study": study})


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
                "The MTurk link must carry turkSubmitTo pointing to MTurk (https, at most "
                f"{SUBMIT_TO_LENGTH} characters).",
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
        return step_redirect(current)
    else:
        ids = EntryIds(source=Participant.Source.ANONYMOUS)
    if nul_at(asdict(ids)):
        # No platform issues such ids, and PostgreSQL text cannot hold them.
        return message(request, "This link is not valid", "Its ids contain a NUL character.", 400)
    known = _arrive(request, study, ids, current=current)
    if known is not None:
        return known
    return redirect("participate:join", study.uid, entry_token(study, ids))


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, study_uid: uuid.UUID, token: str) -> HttpResponse:
    """The consent page of a newcomer who came through a study link."""
    study = selectors.study_for_participants(str(study_uid))
    ids = _entry_ids(study, token)
    if ids is None:
        return message(
            request,
            "This link is incomplete",
            "This page's address is damaged or out of date: please open the study link again.",
            400,
        )
    return _consent(request, study, ids)


@csrf_exempt
@xframe_options_exempt
@require_http_methods(["GET", "POST"])
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
    ids = EntryIds(source=Participant.Source.INVITED)
    return _consent(request, invitation.study, ids, invitation=invitation)


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
