"""Datasets, classifier models, their predictions, explanations and scores.

Tokens are fixed at import by :func:`explanations.compute.tokenize.tokenize`; every
explanation and rationale indexes into them. For pair tasks the explained sequence is
``tokens_b`` (the hypothesis) and the first text is the attention query (Jain & Wallace's
NLI set-up); :attr:`Instance.explained_tokens` names the sequence scores align to.
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import TextChoices
from django.urls import reverse


class Dataset(models.Model):
    # TextChoices is imported by name: inside this class "models" is also the reverse
    # accessor of ClassifierModel.dataset (related_name="models"), which type checkers see.
    class Format(TextChoices):
        JSONL = "jsonl", "JSON lines"
        CSV = "csv", "CSV"
        ERASER = "eraser", "ERASER benchmark folder"

    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    task = models.CharField(max_length=100, default="classification")
    label_names = models.JSONField(help_text="Label names in index order.")
    source_format = models.CharField(max_length=10, choices=Format.choices)
    is_pair = models.BooleanField(default=False, help_text="Instances carry a second text.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="datasets",
    )
    shared_with = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="shared_datasets"
    )
    is_public = models.BooleanField(default=False, help_text="Visible to every researcher.")
    created_at = models.DateTimeField(auto_now_add=True)

    # Names that are pages of their own under /datasets/ (the web upload).
    RESERVED_NAMES = frozenset({"upload"})

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("explanations:dataset-detail", args=[self.name])

    def clean(self) -> None:
        """Refuse a name that a page under /datasets/ uses."""
        if self.name in self.RESERVED_NAMES:
            raise ValidationError(
                {"name": f"{self.name!r} is reserved (/datasets/{self.name}/ is a page)"}
            )


class Instance(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="instances")
    external_id = models.CharField(max_length=200, help_text="The id in the imported file.")
    position = models.PositiveIntegerField(help_text="Order in the imported file.")
    split = models.CharField(max_length=20, blank=True)
    text = models.TextField()
    text_b = models.TextField(blank=True)
    tokens = models.JSONField()
    token_offsets = models.JSONField(help_text="[start, end) character offsets of each token.")
    tokens_b = models.JSONField(default=list, blank=True)
    token_offsets_b = models.JSONField(default=list, blank=True)
    gold_label = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["dataset", "position"]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "external_id"], name="instance_unique_id"),
        ]

    def __str__(self) -> str:
        return f"{self.dataset.name}/{self.external_id}"

    def get_absolute_url(self) -> str:
        return reverse("explanations:instance-detail", args=[self.dataset.name, self.external_id])

    @property
    def explained_tokens(self) -> list[str]:
        """Return the tokens explanations align to: ``tokens_b`` for pairs, else ``tokens``."""
        return self.tokens_b if self.text_b else self.tokens

    @property
    def context_tokens(self) -> list[str] | None:
        """Return the tokens of the attention query (the first text) for pairs, else None."""
        return self.tokens if self.text_b else None

    @property
    def explained_offsets(self) -> list[list[int]]:
        """Return the character offsets of :attr:`explained_tokens`."""
        return self.token_offsets_b if self.text_b else self.token_offsets

    @property
    def explained_text(self) -> str:
        """Return the text the explained tokens come from."""
        return self.text_b if self.text_b else self.text


class HumanRationale(models.Model):
    """Tokens a person marked as justifying the label (ERASER evidence, or a study answer)."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="rationales")
    annotator = models.CharField(max_length=200)
    token_indices = models.JSONField(default=list, help_text="Indices into explained tokens.")
    soft_scores = models.JSONField(
        null=True, blank=True, help_text="Optional score in [0, 1] per explained token."
    )
    source = models.CharField(max_length=50, default="import")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instance", "annotator"]
        constraints = [
            models.UniqueConstraint(
                fields=["instance", "annotator"], name="rationale_unique_annotator"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.instance} by {self.annotator}"


class ClassifierModel(models.Model):
    class Architecture(models.TextChoices):
        BILSTM_ATTENTION = "bilstm_attention", "BiLSTM with additive attention"
        TRANSFORMER = "transformer", "Transformer encoder"
        HUGGINGFACE = "huggingface", "Hugging Face sequence classifier (imported)"
        EXTERNAL = "external", "Trained elsewhere (explanations imported)"

    name = models.SlugField(max_length=100, unique=True)
    dataset = models.ForeignKey(
        Dataset, on_delete=models.PROTECT, related_name="models", null=True, blank=True
    )
    architecture = models.CharField(max_length=30, choices=Architecture.choices)
    config = models.JSONField(default=dict, blank=True)
    weights_path = models.CharField(max_length=500, blank=True)
    weights_sha256 = models.CharField(max_length=64, blank=True)
    vocabulary = models.JSONField(default=dict, blank=True)
    label_names = models.JSONField(default=list)
    training_metrics = models.JSONField(default=dict, blank=True)
    seed = models.IntegerField(null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="classifier_models",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # training_metrics key of the instances (pks) trained models held out from training
    HELD_OUT_KEY = "held_out_instances"

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def reported_metrics(self) -> dict[str, Any]:
        """Return the training metrics as the API and exports report them (no database ids)."""
        return {k: v for k, v in (self.training_metrics or {}).items() if k != self.HELD_OUT_KEY}

    @property
    def held_out_instance_ids(self) -> list[int] | None:
        """Return the instances held out from training, or None when the model does not say."""
        ids = (self.training_metrics or {}).get(self.HELD_OUT_KEY)
        return [int(i) for i in ids] if isinstance(ids, list) else None


class Prediction(models.Model):
    model = models.ForeignKey(ClassifierModel, on_delete=models.CASCADE, related_name="predictions")
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="predictions")
    label = models.PositiveSmallIntegerField()
    probabilities = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "instance"], name="prediction_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.model.name} on {self.instance}: {self.label}"

    @property
    def outcome(self) -> str | None:
        """Return TP/FP/TN/FN for binary tasks (label 1 positive), "correct"/"wrong" else."""
        gold = self.instance.gold_label
        if gold is None:
            return None
        if len(self.probabilities) == 2:
            return {(1, 1): "TP", (1, 0): "FP", (0, 0): "TN", (0, 1): "FN"}[(self.label, gold)]
        return "correct" if self.label == gold else "wrong"


class ExplanationMethod(models.Model):
    class Family(models.TextChoices):
        ATTENTION = "attention", "Attention"
        GRADIENT = "gradient", "Gradient"
        PROPAGATION = "propagation", "Propagation"
        OCCLUSION = "occlusion", "Occlusion / erasure"
        RANDOM = "random", "Random control"
        OTHER = "other", "Other"

    name = models.SlugField(max_length=100, unique=True)
    family = models.CharField(max_length=20, choices=Family.choices)
    parameters = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Explanation(models.Model):
    # No single-column indexes on model and method: the unique (model, instance, method)
    # and the (model, method) index already serve those look-ups, and every index costs
    # time on bulk imports of hundreds of thousands of rows.
    model = models.ForeignKey(
        ClassifierModel, on_delete=models.CASCADE, related_name="explanations", db_index=False
    )
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="explanations")
    method = models.ForeignKey(
        ExplanationMethod, on_delete=models.PROTECT, related_name="explanations", db_index=False
    )
    scores = models.JSONField(help_text="One float per explained token, in token order.")
    target_label = models.PositiveSmallIntegerField(null=True, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    extras = models.JSONField(default=dict, blank=True, help_text="E.g. IG completeness gap.")
    compute_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["model", "instance", "method"], name="explanation_unique"
            ),
        ]
        indexes = [models.Index(fields=["model", "method"])]

    def __str__(self) -> str:
        return f"{self.method.name} of {self.model.name} on {self.instance}"


class Score(models.Model):
    class Kind(models.TextChoices):
        FAITHFULNESS = "faithfulness", "Faithfulness (computed on the model)"
        PLAUSIBILITY = "plausibility", "Plausibility (measured against people)"

    explanation = models.ForeignKey(
        Explanation, on_delete=models.CASCADE, related_name="metric_scores"
    )
    metric = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    value = models.FloatField(null=True, blank=True, help_text="Null when undefined.")
    parameters = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["explanation", "metric"], name="score_unique_metric"),
        ]

    def __str__(self) -> str:
        return f"{self.metric}={self.value}"


class Job(models.Model):
    """A long computation (training, prediction, explanations, scores), split into shards."""

    class Kind(models.TextChoices):
        TRAIN = "train", "Train a model"
        PREDICT = "predict", "Predict"
        EXPLAIN = "explain", "Compute explanations"
        SCORE = "score", "Compute scores"
        DIAGNOSE = "diagnose", "Attention diagnostics"  # issue #13: attention under test

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    model = models.ForeignKey(
        ClassifierModel, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    dataset = models.ForeignKey(
        Dataset, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    parameters = models.JSONField(default=dict, blank=True)
    total_shards = models.PositiveIntegerField(default=0)
    done_shards = models.PositiveIntegerField(default=0)
    total_items = models.PositiveIntegerField(default=0)
    done_items = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    backend = models.CharField(max_length=20, default="in-process")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.status})"

    @property
    def progress(self) -> float:
        """Return the fraction of items done, in [0, 1]."""
        return self.done_items / self.total_items if self.total_items else 0.0


class JobShard(models.Model):
    """A slice of a job's instances; the unit a worker (in-process or Celery) computes."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="shards")
    index = models.PositiveIntegerField()
    instance_ids = models.JSONField()
    # What a shard of a training job trains, e.g. "seed_variance:3" (its instances are the
    # ones that model is measured on); empty for a shard that is a slice of instances.
    unit = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    worker = models.CharField(max_length=200, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="shard_unique_index")]

    def __str__(self) -> str:
        return f"shard {self.index} of {self.job}"


# --- Attention under test (issue #13): the attention diagnostics' per-instance results ---
class Diagnostic(models.Model):
    """One attention experiment's figures for one instance of one model (faithfulness).

    ``values`` holds the experiment's per-instance numbers (NaN stored as null with the
    reason in ``values["undefined_because"]``); ``parameters`` every parameter the
    figures were computed with, so a table or export states them beside the numbers.
    Unique on (model, instance, experiment): a re-run or a retried shard replaces.
    """

    class Experiment(TextChoices):
        CORRELATION = "correlation", "Correlation with gradient and leave-one-out (J&W)"
        PERMUTATION = "permutation", "Permuted attention (J&W)"
        ADVERSARIAL = "adversarial", "Adversarial attention (J&W)"
        ZEROING = "zeroing", "Zeroing attention weights (S&S)"
        # Wiegreffe & Pinter's tests train models: per-instance figures where they have them
        # (seed variance, the adversary), the tables in ModelDiagnostic.
        UNIFORM = "uniform", "Uniform attention baseline (W&P)"
        SEED_VARIANCE = "seed_variance", "Variance across seeds (W&P)"
        DIAGNOSTIC_MLP = "diagnostic_mlp", "Diagnostic MLP (W&P)"
        MODEL_ADVERSARY = "model_adversary", "Model-consistent adversary (W&P)"

    model = models.ForeignKey(ClassifierModel, on_delete=models.CASCADE, related_name="diagnostics")
    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="diagnostics")
    experiment = models.CharField(max_length=20, choices=Experiment.choices)
    predicted_label = models.PositiveSmallIntegerField(null=True, blank=True)
    max_attention = models.FloatField(null=True, blank=True)
    values = models.JSONField(default=dict, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="diagnostics"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model", "experiment", "instance"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "instance", "experiment"], name="diagnostic_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.experiment} of {self.model.name} on {self.instance}"


class ModelDiagnostic(models.Model):
    """One attention experiment's model-level figures on one dataset (faithfulness).

    Wiegreffe & Pinter's tests train further models (uniform attention, other seeds, a
    diagnostic MLP, adversaries) and compare held-out F1: a table per model and dataset,
    not a number per instance. ``values`` holds it, keyed by training unit (a seed, a
    lambda, a variant) so that each unit of a job adds its part; ``job`` is the job that
    wrote it (a unit of another job replaces the row instead of adding to it).
    """

    model = models.ForeignKey(
        ClassifierModel, on_delete=models.CASCADE, related_name="model_diagnostics"
    )
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="model_diagnostics")
    experiment = models.CharField(max_length=20, choices=Diagnostic.Experiment.choices)
    values = models.JSONField(default=dict, blank=True)
    parameters = models.JSONField(default=dict, blank=True)
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="model_diagnostics"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["model", "dataset", "experiment"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "dataset", "experiment"], name="model_diagnostic_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.experiment} of {self.model.name} on {self.dataset.name}"
