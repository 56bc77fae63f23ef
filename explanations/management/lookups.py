"""The model and dataset a command names by ``--model`` and ``--dataset``, or a CommandError."""

from collections.abc import Mapping
from typing import Any

from django.core.management.base import CommandError

from explanations.models import ClassifierModel, Dataset


def model_named(name: str) -> ClassifierModel:
    """Return the model ``--model`` names; raise CommandError naming the flag otherwise."""
    model = ClassifierModel.objects.filter(name=name).first()
    if model is None:
        raise CommandError(f"--model {name!r}: no such model")
    return model


def dataset_named(name: str) -> Dataset:
    """Return the dataset ``--dataset`` names; raise CommandError naming the flag otherwise."""
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is None:
        raise CommandError(f"--dataset {name!r}: no such dataset")
    return dataset


def model_and_dataset(options: Mapping[str, Any]) -> tuple[ClassifierModel, Dataset]:
    """Return the ``--model`` and ``--dataset`` of a command's options."""
    return model_named(options["model"]), dataset_named(options["dataset"])
