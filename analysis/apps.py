import pkgutil
from importlib import import_module

from django.apps import AppConfig
from django.core import checks
from django.utils.module_loading import autodiscover_modules


class AnalysisConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "analysis"

    def ready(self) -> None:
        """Import each study type's analysis module, then check that every type has one.

        The built-in ones are ``analysis/types/<type>.py``; any installed app may bring more
        in an ``analysis_types`` module (as ``django.contrib.admin`` finds ``admin`` modules).
        """
        # Imported here, not at the top: they import models, which load after the apps.
        from analysis import checks as analysis_checks
        from analysis import types

        for module in pkgutil.iter_modules(types.__path__):
            import_module(f"{types.__name__}.{module.name}")
        autodiscover_modules("analysis_types")
        checks.register(analysis_checks.check_study_type_analyses)
