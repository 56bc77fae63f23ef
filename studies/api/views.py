"""Study endpoints: CRUD for the owner, launch/close, preview, progress, exclusions, data."""

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.template.loader import render_to_string
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from studies import privacy_selectors, selectors
from studies.models import Exclusion, Study
from studies.services.design import study_create, study_delete, study_update
from studies.services.exclusions import (
    ExclusionRules,
    exclusion_create,
    exclusion_revoke,
    exclusions_apply,
)
from studies.services.invitations import invitations_create
from studies.services.lifecycle import study_close, study_launch
from studies.types.base import get_type

from . import serializers


def service_error(exc: DjangoValidationError) -> Response:
    """Return a 400 naming each field a service refused (or a ``detail`` message)."""
    if hasattr(exc, "error_dict"):
        return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
    return Response({"detail": " ".join(exc.messages)}, status=status.HTTP_400_BAD_REQUEST)


class StudyViewSet(viewsets.ModelViewSet):
    """Your studies. Creating one samples its items; only a draft's design can change."""

    serializer_class = serializers.StudySerializer
    pagination_class = None

    def get_queryset(self) -> QuerySet[Study]:
        return (
            selectors.studies_visible_to(self.request.user)
            .select_related("dataset", "model")
            .prefetch_related("questionnaire", "methods", "lists")
        )

    def get_object(self) -> Study:
        pk = selectors.as_int(self.kwargs["pk"])
        if pk is None:
            raise Http404(f"No study {self.kwargs['pk']!r}: study ids are whole numbers.")
        study = selectors.study_access(self.request.user, pk)
        self.check_object_permissions(self.request, study)
        return study

    @extend_schema(
        request=serializers.StudyDesignSerializer, responses={201: serializers.StudySerializer}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = serializers.StudyDesignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            study = study_create(owner=request.user, design=payload.to_design(request.user))  # type: ignore[arg-type]  # authenticated
        except DjangoValidationError as exc:
            return service_error(exc)
        body = serializers.StudySerializer(study, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=serializers.StudyDesignSerializer, responses=serializers.StudySerializer)
    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        study = self.get_object()
        data = request.data
        if kwargs.get("partial"):
            if not isinstance(data, Mapping):
                got = type(data).__name__
                detail = f"expected a JSON object of design fields; got a {got}"
                return Response({"detail": detail}, status=status.HTTP_400_BAD_REQUEST)
            data = {**serializers.design_payload(study), **data}
        payload = serializers.StudyDesignSerializer(data=data)
        payload.is_valid(raise_exception=True)
        try:
            study = study_update(study=study, design=payload.to_design(request.user))
        except DjangoValidationError as exc:
            return service_error(exc)
        return Response(serializers.StudySerializer(study, context={"request": request}).data)

    @extend_schema(request=serializers.StudyDesignSerializer, responses=serializers.StudySerializer)
    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            study_delete(study=self.get_object())
        except DjangoValidationError as exc:
            return service_error(exc)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=serializers.StudySerializer)
    @action(detail=True, methods=["post"])
    def launch(self, request: Request, pk: str) -> Response:
        """Go live: freeze every item's text, prediction, explanations and their scores."""
        try:
            study = study_launch(study=self.get_object())
        except DjangoValidationError as exc:
            return service_error(exc)
        return Response(serializers.StudySerializer(study, context={"request": request}).data)

    @extend_schema(request=None, responses=serializers.StudySerializer)
    @action(detail=True, methods=["post"])
    def close(self, request: Request, pk: str) -> Response:
        """Close a live study; every answer is kept."""
        try:
            study = study_close(study=self.get_object())
        except DjangoValidationError as exc:
            return service_error(exc)
        return Response(serializers.StudySerializer(study, context={"request": request}).data)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def progress(self, request: Request, pk: str) -> Response:
        """Participants by status, per-list fill, median times, attention-check failures."""
        return Response(selectors.study_progress(self.get_object()))

    @extend_schema(
        responses={
            200: serializers.PreviewTrialSerializer(many=True),
            400: OpenApiResponse(description="The study's items cannot be shown; detail says why."),
        }
    )
    @action(detail=True, methods=["get"])
    def preview(self, request: Request, pk: str) -> Response:
        """Return the first list's trials as a participant sees them (HTML per trial)."""
        study = self.get_object()
        try:
            trials = selectors.preview_trials(study)
        except DjangoValidationError as exc:
            return service_error(exc)
        kind = get_type(study.study_type)
        rows = []
        for row in trials:
            context = kind.trial_context(row["view"])
            rows.append(
                {
                    "position": row["position"] + 1,
                    "role": row["role"],
                    "phase": row["phase"],
                    "instance": row["item"].instance.external_id,
                    "methods": list(row["item"].methods),
                    "payload": row["view"].payload,
                    "instruction": context.get("instruction"),
                    "html": render_to_string(kind.template_name, {"t": context, "posted": {}}),
                }
            )
        return Response(serializers.PreviewTrialSerializer(rows, many=True).data)

    @extend_schema(request=serializers.PreviewAnswerSerializer, responses=OpenApiTypes.OBJECT)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"preview/(?P<position>[0-9]+)/answer",
        url_name="preview-answer",
    )
    def preview_answer(self, request: Request, pk: str, position: str) -> Response:
        """Check an answer to preview trial ``position`` (1-based); nothing is stored."""
        study = self.get_object()
        try:
            trials = selectors.preview_trials(study)
        except DjangoValidationError as exc:
            return service_error(exc)
        index = int(position)
        if not 1 <= index <= len(trials):
            return Response(
                {"detail": f"no preview trial {index}; there are {len(trials)}"}, status=404
            )
        body = serializers.PreviewAnswerSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            value, passed = selectors.preview_answer(
                study, trials[index - 1]["view"], body.validated_data["answer"]
            )
        except DjangoValidationError as exc:
            return Response({"detail": " ".join(exc.messages), "stored": False}, status=400)
        return Response({"value": value, "passed": passed, "stored": False})

    @extend_schema(responses=serializers.ParticipantSerializer(many=True))
    @action(detail=True, methods=["get"])
    def participants(self, request: Request, pk: str) -> Response:
        """Everyone who entered, with status, list and number of answers (read-only)."""
        study = self.get_object()
        rows = selectors.participants_of(study)
        return Response(serializers.ParticipantSerializer(rows, many=True).data)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def responses(self, request: Request, pk: str) -> Response:
        """Every answer as a tidy row joined with the frozen scores of what was shown."""
        study = self.get_object()
        return Response(
            {
                # Exported data: participants by pseudonym, no platform ids (issue #16).
                "responses": privacy_selectors.rows_pseudonymised(
                    study, selectors.response_rows_flat(study)
                ),
                "questionnaire": privacy_selectors.rows_pseudonymised(
                    study, selectors.questionnaire_rows(study)
                ),
            }
        )

    @extend_schema(
        methods=["GET"], responses=serializers.ExclusionSerializer(many=True), request=None
    )
    @extend_schema(
        methods=["POST"],
        request=serializers.ExclusionRulesSerializer,
        responses={201: serializers.ExclusionSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"])
    def exclusions(self, request: Request, pk: str) -> Response:
        """List the exclusion log, or apply the rules (POST) and return the new exclusions."""
        study = self.get_object()
        if request.method == "GET":
            return Response(
                serializers.ExclusionSerializer(selectors.exclusions_of(study), many=True).data
            )
        rules = serializers.ExclusionRulesSerializer(data=request.data)
        rules.is_valid(raise_exception=True)
        created = exclusions_apply(
            study=study,
            rules=ExclusionRules(**rules.validated_data),
            by=request.user,  # type: ignore[arg-type]  # authenticated
        )
        return Response(
            serializers.ExclusionSerializer(created, many=True).data, status=status.HTTP_201_CREATED
        )

    @extend_schema(
        request=serializers.ManualExclusionSerializer,
        responses={201: serializers.ExclusionSerializer},
    )
    @action(detail=True, methods=["post"])
    def exclude(self, request: Request, pk: str) -> Response:
        """Exclude one participant by hand, with a reason."""
        study = self.get_object()
        body = serializers.ManualExclusionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        participant = study.participants.filter(pk=body.validated_data["participant"]).first()
        if participant is None:
            raise drf_serializers.ValidationError(
                {"participant": "no such participant in this study"}
            )
        try:
            exclusion = exclusion_create(
                participant=participant,
                reason=body.validated_data["reason"],
                by=request.user,  # type: ignore[arg-type]  # authenticated
            )
        except DjangoValidationError as exc:
            return service_error(exc)
        return Response(serializers.ExclusionSerializer(exclusion).data, status=201)

    @extend_schema(request=None, responses=serializers.ExclusionSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path=r"exclusions/(?P<exclusion_id>[0-9]+)/revoke",
        url_name="exclusion-revoke",
    )
    def revoke_exclusion(self, request: Request, pk: str, exclusion_id: str) -> Response:
        """Revoke an exclusion; the log keeps it, stamped."""
        study = self.get_object()
        exclusion = Exclusion.objects.filter(study=study, pk=int(exclusion_id)).first()
        if exclusion is None:
            return Response({"detail": "no such exclusion in this study"}, status=404)
        try:
            exclusion = exclusion_revoke(exclusion=exclusion, by=request.user)  # type: ignore[arg-type]  # authenticated
        except DjangoValidationError as exc:
            return service_error(exc)
        return Response(serializers.ExclusionSerializer(exclusion).data)

    @extend_schema(methods=["GET"], responses=serializers.InvitationSerializer(many=True))
    @extend_schema(
        methods=["POST"],
        request=serializers.InvitationCreateSerializer,
        responses={201: serializers.InvitationSerializer(many=True)},
    )
    @action(detail=True, methods=["get", "post"])
    def invitations(self, request: Request, pk: str) -> Response:
        """List the study's single-use invitation links, or create some (POST labels)."""
        study = self.get_object()
        context = {"request": request}
        if request.method == "GET":
            rows = study.invitations.all()
            return Response(serializers.InvitationSerializer(rows, many=True, context=context).data)
        body = serializers.InvitationCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            created = invitations_create(study=study, labels=body.validated_data["labels"])
        except DjangoValidationError as exc:
            return service_error(exc)
        return Response(
            serializers.InvitationSerializer(created, many=True, context=context).data, status=201
        )
