from pathlib import Path
from typing import Any

from django.db.models import Count, QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from explanations import selectors
from explanations.diagnostic_report import diagnostics_summary
from explanations.io.problems import ImportFailed, Problem
from explanations.models import ClassifierModel, Dataset, Explanation, Instance, Job, Score
from explanations.services.datasets import dataset_import
from explanations.services.diagnostics import diagnostics_job_create
from explanations.services.explanations import explanations_import
from explanations.services.jobs import job_start
from explanations.services.model_import import label_map_parse, model_archive_import
from explanations.summaries import attention_agreement, score_summary
from explanations.uploads import upload_spool

from . import filters, serializers
from .pagination import LongRowPagination

# A name in a URL: DRF's default (no slash, no dot), and no NUL, which the database
# cannot compare against text (PostgreSQL raises instead of finding nothing).
NAME_IN_URL = "[^/.\\x00]+"


def import_failed_response(exc: ImportFailed, filename: str) -> Response:
    """Return a 400 listing every problem with the uploaded file's name, line and field."""
    problems = [Problem(filename, p.line, p.field, p.message) for p in exc.problems]
    return Response(
        {
            "detail": "Nothing was imported.",
            "problems": [
                {
                    "file": p.path,
                    "line": p.line,
                    "field": p.field,
                    "message": p.message,
                    "text": str(p),
                }
                for p in problems
            ],
        },
        status=status.HTTP_400_BAD_REQUEST,
    )


class DatasetViewSet(viewsets.ReadOnlyModelViewSet):
    """Datasets you own, that are shared with you, or that are public."""

    serializer_class = serializers.DatasetSerializer
    lookup_field = "name"
    lookup_value_regex = NAME_IN_URL

    def get_queryset(self) -> QuerySet[Dataset]:
        return (
            selectors.datasets_visible_to(self.request.user)
            .annotate(instance_count=Count("instances"))
            .order_by("name")
        )

    @extend_schema(
        request=serializers.DatasetUploadSerializer,
        responses={201: serializers.DatasetImportResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request: Request) -> Response:
        """Import a dataset file (all or nothing); 400 lists every bad line and field."""
        upload = serializers.DatasetUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data: dict[str, Any] = upload.validated_data
        existing = Dataset.objects.filter(name=data["name"]).first()
        if existing and existing.owner_id != request.user.pk:
            return Response(
                {"detail": f"Dataset name {data['name']!r} is taken; choose another name."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        suffix = Path(data["file"].name).suffix or ".jsonl"
        path = upload_spool(data["file"], suffix=suffix)
        try:
            result = dataset_import(
                path=path,
                name=data["name"],
                fmt=data.get("format"),
                owner=request.user,  # type: ignore[arg-type]  # authenticated
                label_names=data.get("labels"),
                description=data["description"],
                append=data["append"],
            )
        except ImportFailed as exc:
            return import_failed_response(exc, data["file"].name)
        finally:
            path.unlink(missing_ok=True)
        dataset = self.get_queryset().get(pk=result.dataset.pk)
        body = serializers.DatasetSerializer(dataset).data
        body.update(
            {
                "created": result.created,
                "unchanged": result.unchanged,
                "rationales": result.rationales,
            }
        )
        return Response(body, status=status.HTTP_201_CREATED)


class InstanceViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.InstanceSerializer
    filterset_class = filters.InstanceFilter
    pagination_class = LongRowPagination

    def get_queryset(self) -> QuerySet[Instance]:
        return (
            selectors.instances_visible_to(self.request.user)
            .select_related("dataset")
            .order_by("dataset", "position")
        )


class ClassifierModelViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.ClassifierModelSerializer
    filterset_class = filters.ClassifierModelFilter
    lookup_field = "name"
    lookup_value_regex = NAME_IN_URL

    def get_queryset(self) -> QuerySet[ClassifierModel]:
        return selectors.models_visible_to(self.request.user).select_related("dataset")

    @extend_schema(
        request=serializers.ModelImportSerializer,
        responses={201: serializers.ClassifierModelSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_archive(self, request: Request) -> Response:
        """Import a zip of a Hugging Face save_pretrained folder; 400 says what is wrong."""
        upload = serializers.ModelImportSerializer(data=request.data)
        if not upload.is_valid():
            problems = "; ".join(
                f"{field}: {' '.join(str(m) for m in messages)}"
                for field, messages in upload.errors.items()
            )
            return Response(
                {"detail": problems, "errors": upload.errors}, status=status.HTTP_400_BAD_REQUEST
            )
        data: dict[str, Any] = upload.validated_data
        dataset = selectors.datasets_visible_to(request.user).filter(name=data["dataset"]).first()
        if dataset is None:
            # The same answer whether the dataset exists or not: nothing is disclosed.
            return Response(
                {"detail": f"No dataset named {data['dataset']!r} is visible to you."},
                status=status.HTTP_404_NOT_FOUND,
            )
        archive = data["archive"]
        try:
            model = model_archive_import(
                archive=archive,
                archive_name=Path(archive.name or "archive.zip").name,
                name=data["name"],
                dataset=dataset,
                label_map=label_map_parse(data["label_map"]),
                owner=request.user,  # type: ignore[arg-type]  # authenticated
            )
        except ValueError as exc:  # every refusal of the import, ModelFolderError included
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        body = serializers.ClassifierModelSerializer(model).data
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses=serializers.ScoreSummarySerializer)
    @action(detail=True, methods=["get"], url_path="score-summary")
    def score_summary(self, request: Request, name: str | None = None) -> Response:
        """Methods by metrics: mean and 95% bootstrap CI over instances, each labelled by kind."""
        model = self.get_object()
        if model.dataset is None:
            return Response({"detail": "This model has no dataset."}, status=404)
        summary = score_summary(model, model.dataset)
        return Response(
            {
                "model": model.name,
                "dataset": model.dataset.name,
                "floor_method": summary["floor_method"],
                "columns": summary["columns"],
                "rows": [
                    {
                        "method": r["method"],
                        "computed": r["computed"],
                        "cells": [c.to_dict() for c in r["cells"]],
                    }
                    for r in summary["rows"]
                ],
                "attention_agreement_tau": attention_agreement(model, model.dataset),
            }
        )

    @extend_schema(
        request=serializers.DiagnosticsRequestSerializer,
        responses={200: dict, 202: serializers.JobSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="diagnostics")
    def diagnostics(self, request: Request, name: str | None = None) -> Response:
        """GET: the stored attention diagnostics. POST: run them as a job (owner only).

        Answered at once (202): the job runs on Celery workers when a broker is configured,
        else in a child process (``manage.py run_job``); follow ``/api/jobs/<id>/``.
        """
        model = self.get_object()
        if request.method == "GET":
            dataset = model.dataset
            name_given = request.query_params.get("dataset")
            if name_given:
                dataset = (
                    selectors.datasets_visible_to(request.user).filter(name=name_given).first()
                )
            if dataset is None:
                return Response({"detail": "No dataset: name one with ?dataset=."}, status=404)
            summary = diagnostics_summary(model, dataset)
            for entry in summary["experiments"].values():
                entry["table"].pop("display", None)
                entry.get("instance_table", {}).pop("display", None)
            jobs = (
                selectors.jobs_visible_to(request.user)
                .filter(model=model, kind=Job.Kind.DIAGNOSE)
                .order_by("-created_at")
            )
            return Response(
                {
                    "model": model.name,
                    "dataset": dataset.name,
                    **summary,
                    "jobs": serializers.JobSerializer(jobs[:10], many=True).data,
                }
            )
        if not selectors.model_owned_by(request.user, model):  # type: ignore[arg-type]  # authenticated
            raise PermissionDenied(
                f"Only the owner of model {model.name} may run diagnostics on it."
            )
        body = serializers.DiagnosticsRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data: dict[str, Any] = body.validated_data
        dataset = model.dataset
        if "dataset" in data:
            dataset = (
                selectors.datasets_visible_to(request.user).filter(name=data["dataset"]).first()
            )
            if dataset is None:
                return Response(
                    {"dataset": [f"No dataset named {data['dataset']!r} is visible to you."]},
                    status=status.HTTP_400_BAD_REQUEST,
                )
        if dataset is None:
            return Response(
                {"dataset": [f"Model {model.name} has no dataset; name one."]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:
            job = diagnostics_job_create(
                model=model,
                dataset=dataset,
                experiments=data.get("experiments"),
                parameters=data.get("parameters"),
                created_by=request.user,  # type: ignore[arg-type]  # authenticated
            )
        except ValueError as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        job = job_start(job)
        return Response(serializers.JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)


class ExplanationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.ExplanationSerializer
    filterset_class = filters.ExplanationFilter
    pagination_class = LongRowPagination

    def get_queryset(self) -> QuerySet[Explanation]:
        return (
            selectors.explanations_visible_to(self.request.user)
            .select_related("model", "method", "instance__dataset")
            .order_by("pk")
        )

    @extend_schema(
        request=serializers.ExplanationUploadSerializer,
        responses={201: serializers.ExplanationImportResultSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        parser_classes=[MultiPartParser, FormParser],
    )
    def import_file(self, request: Request) -> Response:
        """Import explanations computed elsewhere (all or nothing); 400 lists every problem.

        Only into a model the caller owns (or a new one): see ``model_for_import``.
        """
        upload = serializers.ExplanationUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        data: dict[str, Any] = upload.validated_data
        dataset = selectors.datasets_visible_to(request.user).filter(name=data["dataset"]).first()
        if dataset is None:
            return Response(
                {"detail": f"No dataset named {data['dataset']!r} is visible to you."}, status=404
            )
        path = upload_spool(data["file"], suffix=".jsonl")
        try:
            result = explanations_import(
                path=path,
                model_name=data["model"],
                dataset=dataset,
                owner=request.user,  # type: ignore[arg-type]  # authenticated
                fmt=data["format"],
                method=data["method"] or None,
                id_field=data["id_field"] or None,
                pooling=data["pooling"] or None,
            )
        except ImportFailed as exc:
            return import_failed_response(exc, data["file"].name)
        finally:
            path.unlink(missing_ok=True)
        body = serializers.ClassifierModelSerializer(result.model).data
        body["written"] = result.written
        return Response(body, status=status.HTTP_201_CREATED)


class ScoreViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = serializers.ScoreSerializer
    filterset_class = filters.ScoreFilter

    def get_queryset(self) -> QuerySet[Score]:
        return (
            selectors.scores_visible_to(self.request.user)
            .select_related("explanation__method", "explanation__model", "explanation__instance")
            .order_by("pk")
        )


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = serializers.JobSerializer

    def get_queryset(self) -> QuerySet[Job]:
        return selectors.jobs_visible_to(self.request.user)
