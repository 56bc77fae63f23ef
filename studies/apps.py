from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class StudiesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "studies"

    def ready(self) -> None:
        """Register the built-in study types, then those of any installed app.

        The built-in ones are ``studies/types/<type>.py``; any installed app may add more in
        a ``study_types`` module (as ``django.contrib.admin`` finds ``admin`` modules).
        """
        # Imported here, not at the top: the types import models, which load after the apps.
        import studies.types  # noqa: F401

        autodiscover_modules("study_types")
