from django.urls import path

from . import views

app_name = "explanations"
urlpatterns = [
    path("datasets/", views.dataset_list, name="dataset-list"),
    # Before the detail route, which would take "upload" for a dataset name.
    path("datasets/upload/", views.dataset_upload, name="dataset-upload"),
    path("datasets/<slug:name>/", views.dataset_detail, name="dataset-detail"),
    path(
        "datasets/<slug:name>/instances/<str:external_id>/",
        views.instance_detail,
        name="instance-detail",
    ),
    path("models/", views.model_list, name="model-list"),
    path("models/<slug:name>/scores/", views.model_scores, name="model-scores"),
    path(
        "models/<slug:name>/scores/agreement.svg",
        views.model_agreement_plot,
        name="model-agreement-plot",
    ),
    path("models/<slug:name>/attention/", views.model_attention, name="model-attention"),
    path(
        "models/<slug:name>/attention/run/",
        views.model_attention_run,
        name="model-attention-run",
    ),
    path(
        "models/<slug:name>/attention/<slug:experiment>.svg",
        views.model_attention_plot,
        name="model-attention-plot",
    ),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
]
