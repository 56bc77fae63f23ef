from django.urls import path

from . import views

app_name = "analysis"
urlpatterns = [
    path("studies/<int:pk>/analysis/", views.study_analysis, name="study-analysis"),
    path(
        "studies/<int:pk>/analysis/status.json",
        views.study_analysis_status,
        name="study-analysis-status",
    ),
    path(
        "studies/<int:pk>/analysis/plots/<slug:name>.<str:fmt>",
        views.study_plot,
        name="study-plot",
    ),
    path("studies/<int:pk>/analysis/bundle.zip", views.study_bundle, name="study-bundle"),
]
