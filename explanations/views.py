"""Researcher pages for datasets, models, instances and their explanations."""

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.utils.http import quote_etag
from django.views.decorators.http import require_GET, require_POST

from . import selectors
from .diagnostic_report import diagnostic_figure_svg, diagnostics_summary, diagnostics_version
from .display import seen_words, token_cells
from .io.problems import ImportFailed, Problem
from .models import ClassifierModel, Dataset, Diagnostic, Explanation, Job
from .services.datasets import dataset_import
from .services.diagnostics import diagnostics_job_create
from .services.jobs import job_start
from .services.model_import import label_map_parse, model_archive_import
from .summaries import (
    agreement_plot_svg,
    attention_agreement,
    attention_agreement_version,
    coverages,
    score_summary,
    truncation_summary,
)
from .uploads import upload_size_problem, upload_spool


@login_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = selectors.datasets_visible_to(request.user).annotate(
        instance_count=Count("instances", distinct=True), model_count=Count("models", distinct=True)
    )
    return render(request, "explanations/dataset_list.html", {"datasets": datasets})


class DatasetUploadForm(forms.Form):
    file = forms.FileField(
        label="Dataset file",
        help_text="JSON lines (.jsonl) or CSV (.csv) with id, text, label and optionally "
        "text_b, split, rationales. ERASER folders: use python manage.py import_dataset.",
        widget=forms.ClearableFileInput(attrs={"accept": ".jsonl,.json,.csv,text/csv"}),
    )
    name = forms.SlugField(
        label="Dataset name", max_length=100, help_text="Letters, digits, - or _."
    )
    format = forms.ChoiceField(
        label="Format",
        required=False,
        choices=[("", "From the file name"), ("jsonl", "JSON lines"), ("csv", "CSV")],
    )
    labels = forms.CharField(
        label="Label names (optional)",
        required=False,
        help_text="Comma-separated, in class-index order, e.g. negative,positive. "
        "Without them the labels found in the file are used, sorted.",
    )
    description = forms.CharField(
        label="Description (optional)", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    append = forms.BooleanField(
        label="Add to my existing dataset of this name",
        required=False,
        help_text="Adds the file's new ids; ids already stored with the same text and label are "
        "left as they are. Without it a name in use is refused.",
    )

    def __init__(self, *args: object, owner_id: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # Form's own arguments
        self.owner_id = owner_id
        for name, field in self.fields.items():
            if field.help_text:  # the template renders it as id_<name>_help
                field.widget.attrs["aria-describedby"] = f"id_{name}_help"

    def clean_file(self) -> object:
        upload = self.cleaned_data["file"]
        problem = upload_size_problem(upload)
        if problem:
            raise forms.ValidationError(problem)
        return upload

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        # Another user's dataset cannot be appended to; the same answer as the REST upload.
        if Dataset.objects.filter(name=name).exclude(owner_id=self.owner_id).exists():
            raise forms.ValidationError(f"Dataset name {name!r} is taken; choose another name.")
        return name


@login_required
def dataset_upload(request: HttpRequest) -> HttpResponse:
    """Import a dataset file from the page, all or nothing; every bad line is listed."""
    form = DatasetUploadForm(owner_id=request.user.pk)  # type: ignore[arg-type]  # logged in
    problems: list[Problem] = []
    status = 200
    if request.method == "POST":
        form = DatasetUploadForm(request.POST, request.FILES, owner_id=request.user.pk)  # type: ignore[arg-type]  # logged in
        if form.is_valid():
            data = form.cleaned_data
            upload = data["file"]
            path = upload_spool(upload, suffix=Path(upload.name).suffix or ".jsonl")
            labels = [label.strip() for label in data["labels"].split(",") if label.strip()]
            try:
                result = dataset_import(
                    path=path,
                    name=data["name"],
                    fmt=data["format"] or None,
                    owner=request.user,  # type: ignore[arg-type]  # login_required
                    label_names=labels or None,
                    description=data["description"],
                    append=data["append"],
                )
            except ImportFailed as exc:
                # The service names the spooled copy; the researcher knows the file they chose.
                problems = [Problem(upload.name, p.line, p.field, p.message) for p in exc.problems]
            else:
                url = result.dataset.get_absolute_url()
                messages.success(
                    request,
                    f"Added {result.created} instance(s) to dataset {result.dataset.name}"
                    + (f"; {result.unchanged} were already there" if result.unchanged else "")
                    + (f"; {result.rationales} human rationale(s)" if result.rationales else "")
                    + ".",
                )
                if request.headers.get("X-Requested-With") == "XMLHttpRequest":
                    # The script navigates itself; a redirect followed by XHR would show the
                    # message on a page nobody sees.
                    return JsonResponse({"location": url})
                return redirect(url)
            finally:
                path.unlink(missing_ok=True)
        status = 400
    return render(
        request,
        "explanations/dataset_upload.html",
        {"form": form, "problems": problems, "max_bytes": settings.ELEPHANT_MAX_UPLOAD_BYTES},
        status=status,
    )


class ModelImportForm(forms.Form):
    archive = forms.FileField(
        label="Model folder (.zip)",
        help_text="A zip of the folder written by save_pretrained: config.json, "
        "model.safetensors or pytorch_model.bin, and tokenizer.json.",
        widget=forms.ClearableFileInput(attrs={"accept": ".zip,application/zip"}),
    )
    name = forms.CharField(label="Model name", max_length=100, help_text="Letters, digits, - or _.")
    dataset = forms.ModelChoiceField(
        label="Dataset", queryset=Dataset.objects.none(), to_field_name="name"
    )
    label_map = forms.CharField(
        label="Label map (optional)",
        required=False,
        help_text="dataset_label=model_label pairs, e.g. neg=NEGATIVE,pos=POSITIVE. "
        "Without it the model's labels are matched to the dataset's ignoring case.",
    )

    def __init__(self, *args: object, datasets: QuerySet[Dataset], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]  # Form's own arguments
        self.fields["dataset"].queryset = datasets  # type: ignore[attr-defined]  # a ModelChoiceField
        for name, field in self.fields.items():
            if field.help_text:  # the template renders it as id_<name>_help
                field.widget.attrs["aria-describedby"] = f"id_{name}_help"


@login_required
def model_list(request: HttpRequest) -> HttpResponse:
    """The models the user may see, and a form to import a Hugging Face classifier."""
    datasets = selectors.datasets_visible_to(request.user).order_by("name")
    form = ModelImportForm(datasets=datasets)
    status = 200
    if request.method == "POST":
        form = ModelImportForm(request.POST, request.FILES, datasets=datasets)
        if form.is_valid():
            archive = form.cleaned_data["archive"]
            try:
                model = model_archive_import(
                    archive=archive,
                    archive_name=Path(archive.name or "archive.zip").name,
                    name=form.cleaned_data["name"],
                    dataset=form.cleaned_data["dataset"],
                    label_map=label_map_parse(form.cleaned_data["label_map"]),
                    owner=request.user,  # type: ignore[arg-type]  # login_required
                )
            except ValueError as exc:  # every refusal of the import, ModelFolderError included
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"Model {model.name} imported.")
                return redirect("explanations:model-list")
        status = 400
    models = (
        selectors.models_visible_to(request.user)
        .select_related("dataset", "owner")
        .order_by("name")
    )
    return render(
        request, "explanations/model_list.html", {"models": models, "form": form}, status=status
    )


@login_required
def dataset_detail(request: HttpRequest, name: str) -> HttpResponse:
    dataset = selectors.dataset_access(request.user, name)
    # The list shows ids and truncated texts: the token columns (the bulk of a long
    # instance) are not read, and each row's link reuses the one dataset row.
    instances = (
        dataset.instances.order_by("position")
        .select_related("dataset")
        .defer("tokens", "token_offsets", "tokens_b", "token_offsets_b")
    )
    page = Paginator(instances, 50).get_page(request.GET.get("page"))
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
            seen = seen_words(explanation.extras or {}, explanation.scores)
            explanations.append(
                {
                    "explanation": explanation,
                    "cells": token_cells(
                        tokens, explanation.scores, unseen=seen.unseen if seen else ()
                    ),
                    "seen": seen,
                    "details": {
                        k: v
                        for k, v in (explanation.extras or {}).items()
                        if k not in ("seen_words", "words")
                    },
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
            # one model: every explanation of it saw the same words
            "seen": explanations[0]["seen"] if explanations else None,
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
    choices = coverages(model, dataset)
    wanted = request.GET.get("cover", "all")
    cover = next((c for c in choices if c.key == wanted), None)
    if cover is None:
        messages.error(request, f"cover: expected one of {', '.join(c.key for c in choices)}")
        cover = choices[0]
    plot_url = reverse("explanations:model-agreement-plot", args=[model.name])
    return render(
        request,
        "explanations/model_scores.html",
        {
            "model": model,
            "dataset": dataset,
            "coverages": choices,
            "cover": cover,
            "held_out_unknown": model.held_out_instance_ids is None,
            "summary": score_summary(model, dataset, cover),
            "truncation": truncation_summary(model, dataset),
            # The plot is a file of its own, loaded lazily by the page: inlined, its few
            # hundred KB of SVG held up the table above it.
            "agreement": attention_agreement_version(model, dataset, cover) is not None,
            # the plot covers what the table covers
            "agreement_url": f"{plot_url}?{urlencode({'cover': cover.key})}",
            "jobs": selectors.jobs_visible_to(request.user)
            .filter(model=model)
            .order_by("-created_at")[:10],
        },
    )


def _svg_revalidated(request: HttpRequest, version: str, draw: Callable[[], str]) -> HttpResponse:
    """Return the SVG ``draw()`` makes, or 304 when the browser holds ``version`` already.

    Private (a researcher's own results): revalidated on every view, drawn only when changed.
    """
    etag = quote_etag(version)
    response = get_conditional_response(request, etag=etag) or HttpResponse(
        draw(), content_type="image/svg+xml"
    )
    response["ETag"] = etag
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
@require_GET
def model_agreement_plot(request: HttpRequest, name: str) -> HttpResponse:
    """The scores page's attention-agreement plot as an SVG file, revalidated by its ETag."""
    model = selectors.model_access(request.user, name)
    dataset = model.dataset
    if dataset is None:
        raise Http404("No agreement scores with attention yet.")
    wanted = request.GET.get("cover", "all")
    cover = next((c for c in coverages(model, dataset) if c.key == wanted), None)
    if cover is None:
        raise Http404(f"No coverage {wanted!r} for model {model.name}.")
    version = attention_agreement_version(model, dataset, cover)
    if version is None:
        raise Http404("No agreement scores with attention on these instances yet.")
    return _svg_revalidated(
        request,
        version,
        lambda: agreement_plot_svg(
            attention_agreement(model, dataset, cover),
            title=f"{model.name}: agreement with attention ({cover.label})",
        ),
    )


@login_required
def model_attention(request: HttpRequest, name: str) -> HttpResponse:
    """Attention under test: each stored experiment's table, figure, definition, parameters."""
    model = selectors.model_access(request.user, name)
    dataset = model.dataset
    summary = diagnostics_summary(model, dataset) if dataset is not None else None
    return render(
        request,
        "explanations/model_attention.html",
        {
            "model": model,
            "dataset": dataset,
            "summary": summary,
            "experiments": Diagnostic.Experiment.choices,
            "jobs": selectors.jobs_visible_to(request.user)
            .filter(model=model, kind=Job.Kind.DIAGNOSE)
            .order_by("-created_at")[:10],
            "can_run": dataset is not None and selectors.model_owned_by(request.user, model),
        },
    )


@login_required
@require_POST
def model_attention_run(request: HttpRequest, name: str) -> HttpResponse:
    """Start the chosen attention diagnostics as a job (owner only); show the job's page.

    The job runs on Celery or in a child process (``job_start``), never in this request.
    """
    model = selectors.model_access_for_write(request.user, name)
    back = redirect("explanations:model-attention", name=model.name)
    if model.dataset is None:
        messages.error(request, f"Model {model.name} has no dataset: no diagnostics can run.")
        return back
    chosen = request.POST.getlist("experiments")
    if not chosen:
        messages.error(request, "Choose at least one experiment to run.")
        return back
    try:
        job = diagnostics_job_create(
            model=model,
            dataset=model.dataset,
            experiments=chosen,
            created_by=request.user,  # type: ignore[arg-type]  # login_required
        )
    except ValueError as exc:
        messages.error(request, str(exc))
        return back
    if job.pk is None:
        messages.info(request, f"Dataset {model.dataset.name} has no instances: nothing to run.")
        return back
    job_start(job)
    messages.success(
        request,
        f"Job {job.pk} started: {', '.join(job.parameters['experiments'])}. "
        "This page shows its progress; the results appear on the attention page when it is done.",
    )
    return redirect("explanations:job-detail", pk=job.pk)


@login_required
@require_GET
def model_attention_plot(request: HttpRequest, name: str, experiment: str) -> HttpResponse:
    """One experiment's figure as an SVG file, loaded lazily, revalidated by its ETag."""
    model = selectors.model_access(request.user, name)
    dataset = model.dataset
    if experiment not in Diagnostic.Experiment.values:
        raise Http404(f"No attention experiment named {experiment!r}.")
    version = diagnostics_version(model, dataset, experiment) if dataset is not None else None
    if dataset is None or version is None:
        raise Http404(f"No {experiment} diagnostics stored yet.")
    return _svg_revalidated(
        request, version, lambda: diagnostic_figure_svg(model, dataset, experiment)
    )


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A job's status and progress; the page refreshes itself while the job runs."""
    job = selectors.job_access(request.user, pk)
    return render(request, "explanations/job_detail.html", {"job": job, "shards": job.shards.all()})
