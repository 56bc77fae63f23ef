"""URL configuration."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView

from config.views import RedocDocsView, SwaggerDocsView

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="explanations:dataset-list"), name="home"),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # The schema answers 403 to anonymous clients (SERVE_PERMISSIONS); the docs pages send
    # a browser to the login page first.
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path(
        "api/docs/",
        login_required(SwaggerDocsView.as_view(url_name="schema")),
        name="api-docs",
    ),
    path("api/redoc/", login_required(RedocDocsView.as_view(url_name="schema")), name="api-redoc"),
    path("api/", include("explanations.api.urls")),
    path("api/analysis/", include("analysis.api_urls")),
    path("api/", include("studies.api.urls")),
    path("", include("studies.urls")),
    path("", include("explanations.urls")),
    path("", include("analysis.urls")),
]

handler404 = "config.views.not_found"
