"""Expert review over the API: every item's reviews and disagreements, and final flags.

``GET /api/studies/<pk>/adjudication/`` lists the reviewed items (disagreements first)
with who said what when; ``POST`` records the researcher's decisions on one item
(``{"item", "decisions": {method: {"flag", "comment"}}, "idempotency_key"}``).
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from studies import selectors
from studies.models import Adjudication
from studies.review_selectors import review_items
from studies.services.adjudication import Decision, adjudication_record
from studies.types import get_type

from .views import service_error


class DecisionSerializer(serializers.Serializer):
    flag = serializers.CharField(max_length=50)
    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AdjudicationRequestSerializer(serializers.Serializer):
    item = serializers.IntegerField()
    decisions = serializers.DictField(child=DecisionSerializer())
    idempotency_key = serializers.CharField(max_length=64)


def _adjudication(row: Adjudication) -> dict[str, Any]:
    return {
        "method": row.method,
        "flag": row.flag,
        "comment": row.comment,
        "by": row.adjudicator,
        "by_lead_reviewer": row.invitation_id is not None,
        "at": row.created_at,
    }


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "item": row["item"].pk,
        "instance": row["instance"],
        "prediction": row["prediction"],
        "gold": row["gold"],
        "n_reviews": row["n_reviews"],
        "disagreement": row["disagreement"],
        "reasons": row["reasons"],
        "comments": row["comments"],
        "explanations": [
            {
                "method": e["method"],
                "reviews": e["reviews"],
                "decision": _adjudication(e["decision"]) if e["decision"] else None,
                "history": [_adjudication(h) for h in e["history"]],
            }
            for e in row["explanations"]
        ],
    }


@extend_schema(
    methods=["GET"],
    responses=OpenApiTypes.OBJECT,
    description="Reviewed items, disagreements first.",
)
@extend_schema(
    methods=["POST"],
    request=AdjudicationRequestSerializer,
    responses=OpenApiTypes.OBJECT,
    description="Record final flags on one item; a repeated idempotency key stores nothing.",
)
@api_view(["GET", "POST"])
def study_adjudication(request: Request, pk: int) -> Response:
    """An expert-review study's reviews per item, and the researcher's final flags."""
    study = selectors.study_access(request.user, pk)
    if request.method == "GET":
        if not get_type(study.study_type).has_adjudication:
            # Only a type with expert reviews has any to list (others' answers have none).
            raise NotFound(f"study {study} has no expert reviews to adjudicate")
        return Response({"items": [_item(row) for row in review_items(study)]})
    body = AdjudicationRequestSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        rows, created = adjudication_record(
            study=study,
            item_id=body.validated_data["item"],
            decisions={
                method: Decision(flag=d["flag"], comment=d.get("comment", ""))
                for method, d in body.validated_data["decisions"].items()
            },
            idempotency_key=body.validated_data["idempotency_key"],
            user=request.user,  # type: ignore[arg-type]  # authenticated
        )
    except DjangoValidationError as exc:
        return service_error(exc)
    return Response(
        {"created": created, "adjudications": [_adjudication(r) for r in rows]},
        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
    )
