"""REST API of a study's analysis: every number of the page as JSON, and the bundle."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analysis.bundle import bundle_filename, bundle_zip
from analysis.selectors import study_for_analysis
from analysis.services.options import AnalysisOptions, options_from_query
from analysis.services.results import study_analysis_get

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


def _options(request: Request) -> AnalysisOptions:
    try:
        return options_from_query(request.query_params)
    except DjangoValidationError as error:
        raise ValidationError(error.message_dict) from error


class StudyResultsView(APIView):
    """Every number of the study's analysis page (``results.json``): exclusions, counts,
    agreement, ratings or strengths, correlations with faithfulness, mixed models, and
    the data each plot is drawn from. Undefined numbers are null with a reason."""

    @extend_schema(parameters=OPTION_PARAMETERS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, pk: int) -> Response:
        study = study_for_analysis(request.user, pk)
        return Response(study_analysis_get(study=study, options=_options(request)).results)


class StudyBundleView(APIView):
    """The study's analysis bundle as a zip (the same files as ``export_analysis``)."""

    @extend_schema(
        parameters=OPTION_PARAMETERS, responses={(200, "application/zip"): OpenApiTypes.BINARY}
    )
    def get(self, request: Request, pk: int) -> HttpResponse:
        study = study_for_analysis(request.user, pk)
        response = HttpResponse(
            bundle_zip(study=study, options=_options(request)), content_type="application/zip"
        )
        response["Content-Disposition"] = f'attachment; filename="{bundle_filename(study)}.zip"'
        return response
