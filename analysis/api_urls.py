from django.urls import path

from . import api

app_name = "analysis-api"
urlpatterns = [
    path("studies/<int:pk>/", api.StudyResultsView.as_view(), name="study-results"),
    path("studies/<int:pk>/bundle/", api.StudyBundleView.as_view(), name="study-bundle"),
]
