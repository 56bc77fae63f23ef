from django.apps import AppConfig


class ExplanationsConfig(AppConfig):
    # No ready() importing the job bodies: they load torch, which the web tier must not.
    # The job runner imports them by dotted path (explanations.services.jobs.SHARD_BODIES).
    default_auto_field = "django.db.models.BigAutoField"
    name = "explanations"
    verbose_name = "Datasets, models and explanations"
