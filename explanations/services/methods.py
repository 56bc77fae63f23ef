"""The explanation methods the platform knows, kept present in the database."""

from django.db import transaction

from explanations.methods import KNOWN_METHODS
from explanations.models import ExplanationMethod


def known_methods_ensure() -> dict[str, int]:
    """Create any missing known method row; return every method's name -> pk.

    The data migration creates them too, but a database flushed by a test, or restored
    without that table's rows, must not make imports and jobs fail on a missing method.
    """
    existing = dict(ExplanationMethod.objects.values_list("name", "pk"))
    missing = [name for name in KNOWN_METHODS if name not in existing]
    if missing:
        with transaction.atomic():
            for name in missing:
                family, description, parameters = KNOWN_METHODS[name]
                ExplanationMethod.objects.get_or_create(
                    name=name,
                    defaults={
                        "family": family,
                        "description": description,
                        "parameters": parameters,
                    },
                )
        existing = dict(ExplanationMethod.objects.values_list("name", "pk"))
    return existing
