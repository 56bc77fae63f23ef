"""Project-wide views: the API's documentation pages, and a JSON 404 for API paths.

The docs pages are Swagger UI and ReDoc from drf-spectacular-sidecar, served by the app.
Their Content-Security-Policy lets the browser load nothing from another host: ReDoc's
side menu draws a logo from its vendor's CDN, which the policy refuses (ReDoc then shows
no logo), and our ReDoc template links no web fonts.
"""

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerView
from rest_framework.request import Request
from rest_framework.response import Response

# 'unsafe-inline': both pages start their viewer with an inline script and style it
# inline; blob: is where ReDoc runs its search worker and Swagger UI builds downloads.
DOCS_CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    ]
)


class SelfContainedDocsMixin:
    """Send the policy that keeps a docs page from loading anything from another host."""

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)  # type: ignore[misc]  # mixed into an APIView
        response["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
        return response


class SwaggerDocsView(SelfContainedDocsMixin, SpectacularSwaggerView):
    """Swagger UI over ``/api/schema/``, from the app's own static files."""


class RedocDocsView(SelfContainedDocsMixin, SpectacularRedocView):
    """ReDoc over ``/api/schema/``, from the app's own static files and with no web fonts."""

    template_name = "api/redoc.html"


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Answer a path no route matches: JSON under ``/api/``, the HTML page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"detail": f"No API endpoint at {request.path}; see /api/docs/."}, status=404
        )
    return defaults.page_not_found(request, exception)
