from django.contrib import admin

from .models import (
    ClassifierModel,
    Dataset,
    Explanation,
    ExplanationMethod,
    HumanRationale,
    Instance,
    Job,
    Prediction,
    Score,
)


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = ["name", "task", "source_format", "is_pair", "owner", "is_public", "created_at"]
    search_fields = ["name", "description"]
    filter_horizontal = ["shared_with"]


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ["external_id", "dataset", "split", "gold_label"]
    list_filter = ["dataset", "split"]
    search_fields = ["external_id", "text"]
    list_select_related = ["dataset"]


@admin.register(HumanRationale)
class HumanRationaleAdmin(admin.ModelAdmin):
    list_display = ["instance", "annotator", "source", "created_at"]
    list_filter = ["source"]
    raw_id_fields = ["instance"]


@admin.register(ClassifierModel)
class ClassifierModelAdmin(admin.ModelAdmin):
    list_display = ["name", "dataset", "architecture", "weights_sha256", "created_at"]
    list_filter = ["architecture"]


@admin.register(Prediction)
class PredictionAdmin(admin.ModelAdmin):
    list_display = ["model", "instance", "label"]
    list_filter = ["model"]
    raw_id_fields = ["instance"]


@admin.register(ExplanationMethod)
class ExplanationMethodAdmin(admin.ModelAdmin):
    list_display = ["name", "family"]


@admin.register(Explanation)
class ExplanationAdmin(admin.ModelAdmin):
    list_display = ["model", "instance", "method", "compute_seconds", "updated_at"]
    list_filter = ["model", "method"]
    raw_id_fields = ["instance"]


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ["explanation", "metric", "kind", "value"]
    list_filter = ["kind", "metric"]
    raw_id_fields = ["explanation"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["kind", "status", "model", "dataset", "done_items", "total_items", "created_at"]
    list_filter = ["kind", "status"]
