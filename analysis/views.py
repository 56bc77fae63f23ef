"""Researcher pages of a study's analysis: the results page, its plots and the bundle.

Every URL takes the bootstrap settings as optional query parameters (``n_resamples``,
``level``, ``seed``, ``resampling``, ``interval``); the page passes its own on to its
plot and bundle links, so what is downloaded is what is shown.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import reverse

from analysis.bundle import bundle_filename, bundle_zip
from analysis.plots import FORMATS, plot_render
from analysis.presentation import analysis_context
from analysis.selectors import study_for_analysis
from analysis.services.options import AnalysisOptions, options_from_query
from analysis.services.preregistration import preregistration_report
from analysis.services.results import study_analysis_get

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}


def _bad_options(error: ValidationError) -> HttpResponse:
    return HttpResponseBadRequest(
        "; ".join(f"{k}: {', '.join(v)}" for k, v in error.message_dict.items()),
        content_type="text/plain",
    )


def _with_query(url: str, options: AnalysisOptions) -> str:
    query = options.to_query()
    return f"{url}?{urlencode(query)}" if query else url


@login_required
def study_analysis(request: HttpRequest, pk: int) -> HttpResponse:
    """Show every result of the study, with its plots inline and downloadable."""
    study = study_for_analysis(request.user, pk)
    try:
        options = options_from_query(request.GET)
    except ValidationError as error:
        return _bad_options(error)
    analysis = study_analysis_get(study=study, options=options)
    context = analysis_context(
        analysis.results,
        analysis.svgs,
        lambda name, fmt: _with_query(
            reverse("analysis:study-plot", args=[pk, name, fmt]), options
        ),
    )
    context.update(
        {
            "study": study,
            "preregistration": preregistration_report(study, analysis),
            "bundle_url": _with_query(reverse("analysis:study-bundle", args=[pk]), options),
            "results_url": _with_query(reverse("analysis-api:study-results", args=[pk]), options),
        }
    )
    return render(request, "analysis/study_analysis.html", context)


@login_required
def study_plot(request: HttpRequest, pk: int, name: str, fmt: str) -> HttpResponse:
    """Return one plot of the study's analysis as an SVG or PNG download."""
    study = study_for_analysis(request.user, pk)
    if fmt not in FORMATS:
        raise Http404(f"No plot format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    try:
        options = options_from_query(request.GET)
    except ValidationError as error:
        return _bad_options(error)
    spec = study_analysis_get(study=study, options=options).results["plots"].get(name)
    if spec is None:
        raise Http404(f"Study {pk} has no plot {name!r}.")
    response = HttpResponse(plot_render(spec, name=name, fmt=fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="study-{pk}-{name}.{fmt}"'
    return response


@login_required
def study_bundle(request: HttpRequest, pk: int) -> HttpResponse:
    """Return the study's analysis bundle (tables, codebook, results, plots, report) as a zip."""
    study = study_for_analysis(request.user, pk)
    try:
        options = options_from_query(request.GET)
    except ValidationError as error:
        return _bad_options(error)
    response = HttpResponse(
        bundle_zip(study=study, options=options), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="{bundle_filename(study)}.zip"'
    return response
