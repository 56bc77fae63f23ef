"""REST API of a study's analysis: every number of the page as JSON, and the bundle.

Neither endpoint computes the analysis (it can take half a minute): they answer from the
result kept for the study and queue a build when it is not current
(:mod:`analysis.services.jobs`). The results endpoint returns the last result with its
``computed_at``, ``fingerprint``, ``current`` and ``status`` (200), or only the status
(202) while there is none yet; the bundle, an export for papers, is served only when the
analysis is current (200), else the status (202) with ``Retry-After``.
"""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis.bundle import bundle_filename, bundle_zip
from analysis.models import AnalysisResult
from analysis.selectors import study_for_analysis
from analysis.services.jobs import AnalysisState, analysis_state_get
from analysis.services.options import AnalysisOptions, options_from_query
from analysis.services.results import analysis_from_result

RETRY_SECONDS = 5
OPTION_PARAMETERS = [
    OpenApiParameter("n_resamples", int, description="Bootstrap resamples (default 1000)."),
    OpenApiParameter("level", float, description="Confidence level (default 0.95)."),
    OpenApiParameter("seed", int, description="Bootstrap seed (default 0)."),
    OpenApiParameter(
        "resampling",
        str,
        enum=["two_way", "participant", "item", "trial"],
        description="What the bootstrap resamples (default two_way: participants and items).",
    ),
    OpenApiParameter("interval", str, enum=["percentile", "basic"], description="Interval kind."),
]


class BuildProgressSerializer(serializers.Serializer):
    step = serializers.IntegerField(help_text="The step under way (0 before the first).")
    steps = serializers.IntegerField(help_text="How many steps a build has.")
    stage = serializers.CharField(help_text="What the step does, in words.")


class AnalysisStatusSerializer(serializers.Serializer):
    """The state of a study's analysis: its kept result and the build in the background."""

    status = serializers.ChoiceField(
        choices=AnalysisResult.Status.choices,
        help_text="The build: pending (queued), running, done, or failed (see error).",
    )
    current = serializers.BooleanField(
        help_text="Whether the kept result is of the data now stored (no answer since)."
    )
    computed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the kept result was computed; null if there is none."
    )
    fingerprint = serializers.CharField(
        allow_null=True, help_text="Fingerprint of the data the kept result was computed from."
    )
    progress = BuildProgressSerializer()
    error = serializers.CharField(allow_blank=True, help_text="Why the last build failed.")


def _options(request: Request) -> AnalysisOptions:
    try:
        return options_from_query(request.query_params)
    except DjangoValidationError as error:
        raise ValidationError(error.message_dict) from error


def _waiting(state: AnalysisState) -> Response:
    response = Response(state.as_status(), status=status.HTTP_202_ACCEPTED)
    response["Retry-After"] = str(RETRY_SECONDS)
    return response


class StudyResultsView(APIView):
    """Every number of the study's analysis page (``results.json``): exclusions, counts,
    agreement, ratings or strengths, correlations with faithfulness, mixed models, and
    the data each plot is drawn from. Undefined numbers are null with a reason.

    The last result computed is returned at once (200) with ``computed_at``,
    ``fingerprint``, ``current`` (false while a newer one is computed) and ``status``; a
    build of the latest data is queued when it is not current. While no result exists
    yet the answer is 202 with the status and its progress: ask again."""

    @extend_schema(
        parameters=OPTION_PARAMETERS,
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The last result (results.json) with computed_at, fingerprint, "
                "current, status, progress and error.",
            ),
            202: OpenApiResponse(
                AnalysisStatusSerializer,
                description="No result yet: it is being computed (or failed: see error).",
            ),
        },
    )
    def get(self, request: Request, pk: int) -> Response:
        study = study_for_analysis(request.user, pk)
        state = analysis_state_get(study=study, options=_options(request))
        if not state.shown:
            return _waiting(state)
        data: dict[str, Any] = {
            **analysis_from_result(state.result).results,
            **state.as_status(),
        }
        return Response(data)


class StudyBundleView(APIView):
    """The study's analysis bundle as a zip (the same files as ``export_analysis``).

    Served only when the analysis is of the latest data (a bundle is an export for
    papers); until then 202 with the status, ``Retry-After`` and a build queued."""

    @extend_schema(
        parameters=OPTION_PARAMETERS,
        responses={
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The bundle of the current analysis."
            ),
            (202, "application/json"): OpenApiResponse(
                AnalysisStatusSerializer,
                description="The analysis is updating: ask again after Retry-After seconds.",
            ),
        },
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        study = study_for_analysis(request.user, pk)
        state = analysis_state_get(study=study, options=_options(request))
        if not state.current:
            return _waiting(state)
        response = HttpResponse(
            bundle_zip(study=study, analysis=analysis_from_result(state.result)),
            content_type="application/zip",
        )
        response["Content-Disposition"] = f'attachment; filename="{bundle_filename(study)}.zip"'
        return response
