"""Researcher pages for datasets, instances and their explanations."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from . import selectors
from .display import token_cells
from .models import ClassifierModel, Explanation, Job
from .summaries import agreement_plot_svg, attention_agreement, score_summary


@login_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = selectors.datasets_visible_to(request.user).annotate(
        instance_count=Count("instances", distinct=True), model_count=Count("models", distinct=True)
    )
    return render(request, "explanations/dataset_list.html", {"datasets": datasets})


@login_required
def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    dataset = selectors.dataset_access(request.user, name)
    page = Paginator(dataset.instances.order_by("position"), 50).get_page(request.GET.get("page"))
    models = (
        selectors.models_visible_to(request.user)
        .filter(dataset=dataset)
        .annotate(explanation_count=Count("explanations"))
    )
    return render(
        request,
        "explanations/dataset_detail.html",
        {
            "dataset": dataset,
            "page": page,
            "models": models,
            "rationale_count": dataset.instances.filter(rationales__isnull=False)
            .distinct()
            .count(),
        },
    )


@login_required
def instance_detail(request: HttpRequest, name: str, external_id: str) -> HttpResponse:
    instance = selectors.instance_access(request.user, name, external_id)
    models = list(
        selectors.models_visible_to(request.user)
        .filter(explanations__instance=instance)
        .distinct()
        .order_by("name")
    )
    chosen: ClassifierModel | None = None
    wanted = request.GET.get("model")
    for model in models:
        if model.name == wanted or chosen is None:
            chosen = model
    tokens = instance.explained_tokens
    labels = instance.dataset.label_names
    explanations = []
    prediction = None
    if chosen is not None:
        prediction = chosen.predictions.filter(instance=instance).first()
        rows = (
            Explanation.objects.filter(model=chosen, instance=instance)
            .select_related("method")
            .prefetch_related("metric_scores")
            .order_by("method__name")
        )
        for explanation in rows:
            explanations.append(
                {
                    "explanation": explanation,
                    "cells": token_cells(tokens, explanation.scores),
                    "scores": sorted(
                        explanation.metric_scores.all(), key=lambda s: (s.kind, s.metric)
                    ),
                }
            )
    return render(
        request,
        "explanations/instance_detail.html",
        {
            "instance": instance,
            "dataset": instance.dataset,
            "models": models,
            "model": chosen,
            "explanations": explanations,
            "prediction": prediction,
            "gold": labels[instance.gold_label] if instance.gold_label is not None else None,
            "predicted": labels[prediction.label] if prediction else None,
            "rationales": instance.rationales.all(),
        },
    )


@login_required
def model_scores(request: HttpRequest, name: str) -> HttpResponse:
    """Methods by metrics for one model, with the attention-agreement plot and its jobs."""
    model = selectors.model_access(request.user, name)
    dataset = model.dataset
    if dataset is None:
        return render(request, "explanations/model_scores.html", {"model": model, "summary": None})
    taus = attention_agreement(model, dataset)
    return render(
        request,
        "explanations/model_scores.html",
        {
            "model": model,
            "dataset": dataset,
            "summary": score_summary(model, dataset),
            "agreement_svg": agreement_plot_svg(
                taus, title=f"{model.name}: agreement with attention"
            ),
            "jobs": Job.objects.filter(model=model).order_by("-created_at")[:10],
        },
    )


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A job's status and progress; the page refreshes itself while the job runs."""
    job = selectors.job_access(request.user, pk)
    return render(request, "explanations/job_detail.html", {"job": job, "shards": job.shards.all()})
