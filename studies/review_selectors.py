"""Reads for expert review: who said what when about each item, and where they disagree.

An item's reviews are the answers to its test trials (every assignment status: answers are
never dropped). Two reviews disagree on an explanation when their flags differ or when the
ratings of one criterion span more than the study's ``rating_gap``. Adjudications are
append-only; the latest per item and method is the decision, the others its history.
"""

from collections import defaultdict
from typing import Any

from django.http import Http404

from .models import Adjudication, Invitation, Response, Study, StudyItem
from .services.snapshots import study_display
from .types.base import explanation_view, type_names_where


def _letter(index: int) -> str:
    return chr(ord("A") + index) if index < 26 else f"E{index + 1}"


def lead_invitation(token: str) -> Invitation:
    """Return the lead reviewer's invitation behind ``token``, else raise Http404.

    The lead is the invitation of a live or closed expert-review study whose label is the
    study's ``lead_reviewer`` option.
    """
    invitation = (
        Invitation.objects.select_related("study__model", "study__dataset")
        .filter(token=token, study__study_type__in=type_names_where("has_adjudication"))
        .exclude(study__status=Study.Status.DRAFT)
        .first()
    )
    if invitation is None:
        raise Http404("No such invitation.")
    lead = str(invitation.study.type_options.get("lead_reviewer") or "")
    if not lead or invitation.label != lead:
        raise Http404("This invitation is not the lead reviewer's.")
    return invitation


def review_items(study: Study) -> list[dict[str, Any]]:
    """Return every test item with its reviews, disagreements and adjudications.

    Per item: ``item``, ``instance`` (external id), ``text``, ``prediction``, ``gold``,
    ``n_reviews``, ``disagreement`` and its ``reasons``, ``comments`` (overall comments by
    reviewer) and ``explanations``: per explanation in the snapshot's order, its
    ``method``, ``letter``, drawing (``view``), ``reviews`` (reviewer, participant id,
    answered_at, ratings, flag, comment), ``decision`` (the latest adjudication or None)
    and ``history`` (all adjudications, oldest first). Disagreements come first.
    """
    options = study.type_options
    gap = int(options.get("rating_gap", 2))
    items = list(
        StudyItem.objects.filter(study=study, role=StudyItem.Role.TEST).order_by("position")
    )
    reviews: dict[int, list[Response]] = defaultdict(list)
    for response in (
        Response.objects.filter(participant__study=study, trial__role=StudyItem.Role.TEST)
        .select_related("participant__invitation", "trial")
        .order_by("answered_at", "pk")
    ):
        reviews[response.trial.item_id].append(response)
    adjudications: dict[tuple[int, str], list[Adjudication]] = defaultdict(list)
    for adjudication in Adjudication.objects.filter(study=study).select_related(
        "invitation", "user"
    ):
        adjudications[(adjudication.item_id, adjudication.method)].append(adjudication)
    display = study_display(study)
    rows = []
    for item in items:
        snap = item.frozen
        if not snap:
            continue
        answers = reviews.get(item.pk, [])
        explanations = []
        reasons: list[str] = []
        for index, shown in enumerate(snap["explanations"]):
            letter = _letter(index)
            per_reviewer = []
            for response in answers:
                review = next(
                    (r for r in response.value["reviews"] if r["method"] == shown["method"]), None
                )
                if review is not None:
                    per_reviewer.append(
                        {
                            "reviewer": response.participant.external_id
                            or f"participant {response.participant_id}",
                            "participant_id": response.participant_id,
                            "answered_at": response.answered_at,
                            "ratings": review["ratings"],
                            "flag": review["flag"],
                            "comment": review["comment"],
                        }
                    )
            if len(per_reviewer) >= 2:
                flags = sorted({r["flag"] for r in per_reviewer})
                if len(flags) > 1:
                    reasons.append(f"Explanation {letter}: flags differ ({', '.join(flags)})")
                for criterion in options.get("criteria", []):
                    values = [r["ratings"].get(criterion["key"]) for r in per_reviewer]
                    values = [v for v in values if v is not None]
                    if values and max(values) - min(values) > gap:
                        reasons.append(
                            f"Explanation {letter}: ratings of “{criterion['prompt']}” "
                            f"range from {min(values)} to {max(values)}"
                        )
            history = adjudications.get((item.pk, shown["method"]), [])
            explanations.append(
                {
                    "method": shown["method"],
                    "letter": letter,
                    "view": explanation_view(
                        tokens=snap["instance"]["tokens"],
                        scores=shown["scores"],
                        label=f"Explanation {letter}",
                        uid=f"item{item.pk}-{letter.lower()}",
                        display=display,
                    ),
                    "reviews": per_reviewer,
                    "decision": history[-1] if history else None,
                    "history": history,
                }
            )
        rows.append(
            {
                "item": item,
                "instance": snap["instance"]["external_id"],
                "context_text": snap["instance"]["context"],
                "prediction": snap["prediction"]["label_name"],
                "gold": snap.get("gold_label_name"),
                "n_reviews": len(answers),
                "disagreement": bool(reasons),
                "reasons": reasons,
                "comments": [
                    {
                        "reviewer": r.participant.external_id or f"participant {r.participant_id}",
                        "comment": r.value.get("comment", ""),
                    }
                    for r in answers
                    if r.value.get("comment")
                ],
                "explanations": explanations,
            }
        )
    rows.sort(key=lambda row: (not row["disagreement"], row["item"].position))
    return rows
