"""Reads, and the one place that decides who may see which study or assignment.

A researcher sees only the studies they own (superusers see all); ``study_access`` raises
Http404 for anything else, so the existence of someone else's study is not disclosed.
A participant is known only through this browser's session (one key per study) after
entering by a link; :func:`participant_from_session` returns None for anyone else, so an
invited expert reaches only the study they were invited to.
"""

import uuid
from collections.abc import Mapping
from datetime import timedelta
from statistics import median
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404

from . import comprehension
from .compiled import CompiledQuery
from .contracts import ResponseRow, ShownRow
from .models import (
    Assignment,
    Exclusion,
    Participant,
    QuestionnaireAnswer,
    Response,
    Study,
    StudyItem,
    Trial,
)
from .services.assignment import trial_specs
from .services.responses import unanswered_trials
from .services.snapshots import preview_rng, snapshots_build, trial_view
from .types.base import TrialView, get_type

User = AbstractBaseUser | AnonymousUser
ENDED = {
    Participant.Status.RETURNED,
    Participant.Status.TIMED_OUT,
    Participant.Status.DECLINED,
    Participant.Status.FULL,
    Participant.Status.SCREENED_OUT,
}


def studies_visible_to(user: User) -> QuerySet[Study]:
    """Return the studies ``user`` owns (all of them for a superuser)."""
    if not user.is_authenticated:
        return Study.objects.none()
    if getattr(user, "is_superuser", False):
        return Study.objects.all()
    return Study.objects.filter(Q(owner=user))


def study_access(user: User, pk: int) -> Study:
    """Return study ``pk`` if ``user`` owns it, else raise Http404."""
    study = (
        studies_visible_to(user).select_related("dataset", "model", "owner").filter(pk=pk).first()
    )
    if study is None:
        raise Http404(f"No study {pk} is visible to you.")
    return study


def study_for_participants(uid: str) -> Study:
    """Return the study behind a participant link, else raise Http404 (drafts are not public)."""
    study = Study.objects.filter(uid=uid).exclude(status=Study.Status.DRAFT).first()
    if study is None:
        raise Http404("No such study.")
    return study


def session_key(study: Study) -> str:
    return f"studies:participant:{study.uid}"


def participant_from_session(session: SessionBase, study: Study) -> Participant | None:
    """Return the participant this session entered ``study`` as, or None."""
    pk = session.get(session_key(study))
    if not isinstance(pk, int):
        return None
    return Participant.objects.filter(pk=pk, study=study).select_related("study").first()


PARTICIPANT_BY_UID = CompiledQuery(
    lambda uid: Participant.objects.select_related("study", "assignment").filter(uid=uid)[:1],
    uid=uuid.UUID,
)


def participant_by_uid(uid: uuid.UUID) -> Participant | None:
    """Return the participant a flow URL names, with their study and assignment, in one query
    (compiled once: every page of the flow starts with it)."""
    return PARTICIPANT_BY_UID.first(uid=uid)


def assignment_of(participant: Participant) -> Assignment | None:
    """Return the participant's assignment, or None (no query when it was read with them)."""
    try:
        return participant.assignment
    except Assignment.DoesNotExist:
        return None


def _trial_current_queryset(assignment: int, participant: int) -> QuerySet[Trial]:
    siblings = (
        Trial.objects.filter(assignment=OuterRef("assignment")).order_by().values("assignment")
    )
    return (
        unanswered_trials(assignment=assignment, participant=participant)
        .select_related("item")
        .annotate(
            n_total=Subquery(siblings.annotate(n=Count("pk")).values("n")),
            n_practice=Subquery(
                siblings.filter(role=StudyItem.Role.PRACTICE).annotate(n=Count("pk")).values("n")
            ),
        )
        .order_by("position")[:1]
    )


TRIAL_CURRENT = CompiledQuery(_trial_current_queryset, assignment=int, participant=int)


def trial_current(assignment: Assignment) -> Trial | None:
    """Return the first unanswered trial, or None when every trial is answered.

    The trial carries the assignment's ``n_total`` and ``n_practice`` trial counts, read in
    the same query (compiled once: every trial page reads it).
    """
    current = TRIAL_CURRENT.first(assignment=assignment.pk, participant=assignment.participant_id)
    if current is not None:
        current.assignment = assignment
    return current


def participant_step(participant: Participant) -> str:
    """Return where the participant is: consent, instructions, comprehension, trial,
    questionnaire, complete, done or ended."""
    if participant.status == Participant.Status.COMPLETED:
        return "done"
    if participant.status in ENDED:
        return "ended"
    if participant.consented_at is None:
        return "consent"
    if participant.instructions_read_at is None:
        return "instructions"
    if not comprehension.cleared(
        participant.study.comprehension_checks, participant.comprehension_attempts
    ):
        return "comprehension"
    assignment = assignment_of(participant)
    if assignment is None:
        return "consent"
    if assignment.status == Assignment.Status.ACTIVE:
        return "trial"
    if participant.study.questionnaire.exists() and participant.questionnaire_at is None:
        return "questionnaire"
    return "complete"


def trial_counts(assignment: Assignment) -> dict[str, int]:
    """Return how many trials there are, answered, and practice ones."""
    return assignment.trials.aggregate(
        total=Count("pk"),
        answered=Count("pk", filter=Q(response__isnull=False)),
        practice=Count("pk", filter=Q(role=StudyItem.Role.PRACTICE)),
    )


def preview_trials(study: Study) -> list[dict[str, Any]]:
    """Return the trials of the study's first list as a participant would get them.

    Drafts show current data; live and closed studies show their frozen items.
    """
    study_list = study.lists.order_by("index").first()
    if study_list is None:
        return []
    items = {i.pk: i for i in study_list.items.all()}
    if study.is_draft:
        snapshots = snapshots_build(study=study, items=list(items.values()), preview=True)
    else:
        snapshots = {pk: item.frozen for pk, item in items.items()}
    specs = trial_specs(study=study, items=list(items.values()), rng=preview_rng(study))
    rows = []
    for position, spec in enumerate(specs):
        item = items[spec.item_id]
        view = trial_view(
            study=study,
            snapshot=snapshots[item.pk],
            role=spec.role,
            phase=spec.phase,
            payload=spec.payload,
            expected=item.expected,
        )
        rows.append(
            {
                "position": position,
                "item": item,
                "role": spec.role,
                "phase": spec.phase,
                "view": view,
            }
        )
    return rows


def _median_minutes(spans: list[timedelta]) -> float | None:
    return round(median(s.total_seconds() for s in spans) / 60, 2) if spans else None


def participants_consented(study: Study) -> QuerySet[Participant]:
    """Return the study's participants who agreed to take part.

    Someone who only saw the consent page (or declined) never took a place: they are not
    counted and not listed (participants entered by a service before consenting included).
    """
    return Participant.objects.filter(study=study, consented_at__isnull=False)


def study_progress(study: Study) -> dict[str, Any]:
    """Return live progress: consented participants by status, list fill, median times,
    check failures."""
    by_status = dict(
        participants_consented(study)
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    lists = [
        {
            "index": lst.index,
            "condition": lst.condition.name,
            "target": lst.target,
            "filled": lst.filled,
            "completed": lst.completed,
            "active": lst.active,
        }
        for lst in study.lists.select_related("condition")
        .annotate(
            completed=Count(
                "assignments", filter=Q(assignments__status=Assignment.Status.COMPLETED)
            ),
            active=Count("assignments", filter=Q(assignments__status=Assignment.Status.ACTIVE)),
        )
        .order_by("index")
    ]
    completed = (
        participants_consented(study)
        .filter(status=Participant.Status.COMPLETED)
        .values_list("consented_at", "completed_at")
    )
    spans = [done - start for start, done in completed if done is not None and start is not None]
    trial_ms = [
        r.server_duration_ms
        for r in Response.objects.filter(participant__study=study).only("shown_at", "answered_at")
        if r.server_duration_ms is not None
    ]
    failures = (
        Response.objects.filter(participant__study=study, passed=False)
        .values("participant_id")
        .distinct()
        .count()
    )
    return {
        "status": study.status,
        "participants": {
            "started": sum(by_status.values()),
            "in_progress": by_status.get(Participant.Status.IN_PROGRESS, 0)
            + by_status.get(Participant.Status.CONSENTED, 0),
            "completed": by_status.get(Participant.Status.COMPLETED, 0),
            "returned": by_status.get(Participant.Status.RETURNED, 0),
            "timed_out": by_status.get(Participant.Status.TIMED_OUT, 0),
            "turned_away_full": by_status.get(Participant.Status.FULL, 0),
        },
        "places": {
            "total": sum(lst["target"] for lst in lists),
            "filled": sum(lst["filled"] for lst in lists),
        },
        "lists": lists,
        "median_minutes_to_complete": _median_minutes(spans),
        "median_seconds_per_trial": round(median(trial_ms) / 1000, 2) if trial_ms else None,
        "responses": Response.objects.filter(participant__study=study).count(),
        "participants_failing_checks": failures,
        "failed_checks": Response.objects.filter(participant__study=study, passed=False).count(),
        "excluded": Exclusion.objects.filter(study=study, revoked_at__isnull=True)
        .values("participant_id")
        .distinct()
        .count(),
    }


def preview_answer(
    study: Study, view: TrialView, data: Mapping[str, Any]
) -> tuple[Any, bool | None]:
    """Return a preview trial's answer as the study type reads it, and whether it passes its
    check (None without one); nothing is stored. Raise ValidationError for a refused answer."""
    kind = get_type(study.study_type)
    value = kind.clean_answer(view, data)
    return value, kind.passes(view, value)


def participants_of(study: Study) -> QuerySet[Participant]:
    """Return the study's consented participants with ``n_responses``, ``n_failed`` (failed
    checks) and ``excluded`` (True when they have an active exclusion), in order of arrival.
    Read with their study, which their pseudonym needs."""
    return (
        participants_consented(study)
        .select_related("study", "assignment__study_list", "invitation")
        .annotate(
            n_responses=Count("responses", distinct=True),
            n_failed=Count("responses", filter=Q(responses__passed=False), distinct=True),
            excluded=Exists(
                Exclusion.objects.filter(participant=OuterRef("pk"), revoked_at__isnull=True)
            ),
        )
        .order_by("entered_at", "pk")
    )


def responses_for_analysis(study: Study) -> list[ResponseRow]:
    """Return one tidy row per response, joined with what the trial showed when it was frozen.

    Columns: ids (participant, source, external id, list, condition, trial, item, instance),
    role and phase, the raw ``value``, ``record`` (the columns the type's
    :meth:`~studies.types.base.StudyType.record` returns, under their own key), ``passed``,
    timings (server ms, client ms), ``assignment_status``, ``excluded`` (active exclusion
    rules, empty when included), and ``shown``: one entry per explanation shown, in order,
    with ``method``, ``explanation_id`` and ``scores`` (``{metric: {"kind", "value"}}``,
    frozen when the study went live). Practice trials are included with role "practice".
    """
    kind = get_type(study.study_type)
    excluded: dict[int, list[str]] = {}
    for pid, rule in Exclusion.objects.filter(study=study, revoked_at__isnull=True).values_list(
        "participant_id", "rule"
    ):
        excluded.setdefault(pid, []).append(rule)
    rows: list[ResponseRow] = []
    for r in (
        Response.objects.filter(participant__study=study)
        .select_related(
            "participant__invitation",
            "trial__item__instance",
            "trial__assignment__study_list__condition",
        )
        .order_by("participant_id", "trial__position")
    ):
        trial = r.trial
        item = trial.item
        view = trial_view(
            study=study,
            snapshot=item.frozen,
            role=trial.role,
            phase=trial.phase,
            payload=trial.payload,
            expected=item.expected,
        )
        shown: list[ShownRow] = [
            {
                "method": e["method"],
                "explanation_id": e["id"],
                "scores": {
                    s["metric"]: {"kind": s["kind"], "value": s["value"]}
                    for s in e.get("metric_scores", [])
                },
            }
            for e in item.frozen.get("explanations", [])
        ]
        rows.append(
            {
                "study_id": study.pk,
                "study_type": study.study_type,
                "participant_id": r.participant_id,
                "source": r.participant.source,
                "external_id": r.participant.external_id,
                "assignment_status": trial.assignment.status,
                "excluded": sorted(excluded.get(r.participant_id, [])),
                "list_index": trial.assignment.study_list.index,
                "condition": trial.assignment.study_list.condition.name,
                "trial_id": trial.pk,
                "trial_position": trial.position,
                "role": trial.role,
                "phase": trial.phase,
                "item_id": item.pk,
                "instance_id": item.instance_id,
                "instance_external_id": item.instance.external_id,
                "outcome": item.outcome,
                "methods": list(item.methods),
                "payload": trial.payload,
                "value": r.value,
                "record": kind.record(view, r.value),
                "passed": r.passed,
                "shown_at": r.shown_at,
                "answered_at": r.answered_at,
                "server_duration_ms": r.server_duration_ms,
                "client_duration_ms": r.client_duration_ms,
                "shown": shown,
            }
        )
    return rows


def response_rows_flat(study: Study) -> list[dict[str, Any]]:
    """Return :func:`responses_for_analysis` rows with the type's recorded columns inlined
    after ``value`` (the API's shape); a recorded column never replaces a fixed one."""
    rows = []
    for row in responses_for_analysis(study):
        flat: dict[str, Any] = {}
        for key, value in row.items():
            if key == "record":
                flat.update({k: v for k, v in row["record"].items() if k not in row})
            else:
                flat[key] = value
        rows.append(flat)
    return rows


def questionnaire_rows(study: Study) -> list[dict[str, Any]]:
    """Return one row per questionnaire answer: participant, key, kind, value."""
    return [
        {"participant_id": pid, "key": key, "kind": kind, "value": value}
        for pid, key, kind, value in QuestionnaireAnswer.objects.filter(
            participant__study=study
        ).values_list("participant_id", "item__key", "item__kind", "value")
    ]


def exclusions_of(study: Study) -> QuerySet[Exclusion]:
    """Return the study's exclusion log, with who was excluded (and their external id)."""
    return Exclusion.objects.filter(study=study).select_related(
        "participant__invitation", "created_by", "revoked_by"
    )


def as_int(value: Any) -> int | None:
    """Return ``value`` as an int, or None when it is not one (ids from forms and URLs)."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def mapping_of(data: Any) -> Mapping[str, Any]:
    """Return posted data as a plain mapping of single values."""
    if hasattr(data, "dict"):
        return data.dict()  # type: ignore[no-any-return]  # a QueryDict
    return dict(data)
