"""Researcher pages of a study's analysis: the results page, its status, plots and bundle.

Every URL takes the bootstrap settings as optional query parameters (``n_resamples``,
``level``, ``seed``, ``resampling``, ``interval``); the page passes its own on to its
plot, status and bundle links, so what is downloaded is what is shown.

No page computes the analysis (issue #15: 34.6 s at first view of a demo study): they show
the result kept for the study and queue a build when it is not current
(:mod:`analysis.services.jobs`). The page shows the last result at once, marked
"updating" while a newer one is computed, or a progress panel that refreshes itself until
the first one is ready. The bundle, an export for papers, is only ever of current data.
"""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from analysis.bundle import bundle_filename, bundle_zip
from analysis.plots import FORMATS, plot_render
from analysis.presentation import analysis_context
from analysis.selectors import study_for_analysis
from analysis.services.jobs import AnalysisState, analysis_state_get
from analysis.services.options import AnalysisOptions, options_from_query
from analysis.services.preregistration import preregistration_report
from analysis.services.results import analysis_from_result
from studies.models import Study

CONTENT_TYPES = {"svg": "image/svg+xml", "png": "image/png"}
# How often the progress panel asks again, without JavaScript (the meta refresh), in seconds.
REFRESH_SECONDS = 5


def _bad_options(error: ValidationError) -> HttpResponse:
    return HttpResponseBadRequest(
        "; ".join(f"{k}: {', '.join(v)}" for k, v in error.message_dict.items()),
        content_type="text/plain",
    )


def _with_query(url: str, options: AnalysisOptions) -> str:
    query = options.to_query()
    return f"{url}?{urlencode(query)}" if query else url


def _links(pk: int, options: AnalysisOptions) -> dict[str, str]:
    """Return the page's own links, each carrying its options."""
    return {
        name: _with_query(reverse(route, args=[pk]), options)
        for name, route in (
            ("page_url", "analysis:study-analysis"),
            ("status_url", "analysis:study-analysis-status"),
            ("bundle_url", "analysis:study-bundle"),
            ("results_url", "analysis-api:study-results"),
        )
    }


def _status_context(study: Study, state: AnalysisState, options: AnalysisOptions) -> dict:
    """Return what the page and the bundle's waiting page say of the build."""
    return {
        "study": study,
        "state": state,
        "job": state.result,
        "refresh_seconds": REFRESH_SECONDS,
        **_links(study.pk, options),
    }


@login_required
@require_http_methods(["GET", "POST"])
def study_analysis(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the study's last result with its plots, or the progress of the first one.

    A POST (the "Try again" button of a failed build) queues the build again.
    """
    study = study_for_analysis(request.user, pk)
    try:
        options = options_from_query(request.GET)
    except ValidationError as error:
        return _bad_options(error)
    if request.method == "POST":
        analysis_state_get(study=study, options=options, retry=True)
        return HttpResponseRedirect(_links(pk, options)["page_url"])
    state = analysis_state_get(study=study, options=options)
    context = _status_context(study, state, options)
    if state.shown:
        analysis = analysis_from_result(state.result)
        context.update(
            analysis_context(
                analysis.results,
                analysis.svgs,
                lambda name, fmt: _with_query(
                    reverse("analysis:study-plot", args=[pk, name, fmt]), options
                ),
            )
        )
        context["preregistration"] = preregistration_report(study, analysis)
    return render(request, "analysis/study_analysis.html", context)


@login_required
@require_GET
def study_analysis_status(request: HttpRequest, pk: int) -> HttpResponse:
    """Return the state of the study's analysis as JSON (what the progress panel polls)."""
    study = study_for_analysis(request.user, pk)
    try:
        options = options_from_query(request.GET)
    except ValidationError as error:
        return _bad_options(error)
    state = analysis_state_get(study=study, options=options)
    response = JsonResponse(state.as_status())
    response["Cache-Control"] = "no-store"
    return response


@login_required
def study_plot(request: HttpRequest, pk: int, name: str, fmt: str) -> HttpResponse:
    """Return one plot of the study's analysis shown on its page, as an SVG or PNG download."""
    study = study_for_analysis(request.user, pk)
    if fmt not in FORMATS:
        raise Http404(f"No plot format {fmt!r}; expected one of {', '.join(FORMATS)}.")
    try:
        options = options_from_query(request.GET)
    except ValidationError as error:
        return _bad_options(error)
    state = analysis_state_get(study=study, options=options)
    if not state.shown:
        raise Http404(f"Study {pk} has no analysis yet: it is being computed.")
    analysis = analysis_from_result(state.result)
    spec = analysis.results["plots"].get(name)
    if spec is None:
        raise Http404(f"Study {pk} has no plot {name!r}.")
    content = analysis.svg_files[name] if fmt == "svg" else plot_render(spec, name=name, fmt=fmt)
    response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="study-{pk}-{name}.{fmt}"'
    return response


@login_required
@require_GET
def study_bundle(request: HttpRequest, pk: int) -> HttpResponse:
    """Return the study's analysis bundle as a zip, once its analysis is current.

    Until then (202) a page says the analysis is updating and reloads itself, so the
    download starts when it is ready; a bundle is never of an outdated analysis.
    """
    study = study_for_analysis(request.user, pk)
    try:
        options = options_from_query(request.GET)
    except ValidationError as error:
        return _bad_options(error)
    state = analysis_state_get(study=study, options=options)
    if not state.current:
        context = _status_context(study, state, options)
        response = render(request, "analysis/bundle_waiting.html", context, status=202)
        response["Retry-After"] = str(REFRESH_SECONDS)
        return response
    content = bundle_zip(study=study, analysis=analysis_from_result(state.result))
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{bundle_filename(study)}.zip"'
    return response
