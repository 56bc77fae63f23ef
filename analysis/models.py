"""Models of this app: a study's analysis, computed by a background job and kept.

The analysis of a study can take half a minute (bootstrap intervals, mixed models), so the
pages never compute it in a request: a job builds it (:mod:`analysis.services.jobs`) and
stores it here, one row per study and set of analysis options. The row keeps the last
result (with the fingerprint of the answers it was computed from) beside the state of the
build under way, so a page shows the last result at once, marked "updating" while a newer
one is computed.
"""

from django.db import models

from studies.models import Study


class AnalysisResult(models.Model):
    """The last analysis of one study with one set of options, and its build's progress."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Computing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    study = models.ForeignKey(Study, on_delete=models.CASCADE, related_name="analysis_results")
    # sha256 of the options as canonical JSON; ``options`` is the dict itself.
    options_key = models.CharField(max_length=64)
    options = models.JSONField()
    # The last result: JSON text (results.json, the tables, the plots as SVG), kept as text
    # because PostgreSQL's jsonb reorders keys and the page shows sections in their order.
    fingerprint = models.CharField(
        max_length=64, blank=True, help_text="analysis_fingerprint of the data the result shows"
    )
    results_json = models.TextField(blank=True)
    tables_json = models.TextField(blank=True)
    svgs_json = models.TextField(blank=True)
    computed_at = models.DateTimeField(null=True, blank=True)
    deletions_seen = models.PositiveBigIntegerField(
        default=0,
        help_text="the study's last ParticipantDeletion id when the result's data were read",
    )
    # The build: queued, running, or the last one's outcome.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    build_fingerprint = models.CharField(max_length=64, blank=True)
    step = models.PositiveSmallIntegerField(default=0)
    steps = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    requested_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["study", "options_key"], name="analysis_result_one_per_options"
            )
        ]

    def __str__(self) -> str:
        return f"analysis of study {self.study_id} ({self.status})"

    @property
    def has_result(self) -> bool:
        """Return whether a result is kept (a build finished, and it was not withdrawn)."""
        return self.computed_at is not None
