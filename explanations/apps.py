from django.apps import AppConfig


class ExplanationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "explanations"
    verbose_name = "Datasets, models and explanations"

    def ready(self) -> None:
        # Register the shard handlers of sharded jobs (explain, score) in every process,
        # Celery workers included.
        from explanations.services import computing  # noqa: F401, PLC0415
