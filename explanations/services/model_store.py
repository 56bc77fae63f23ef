"""Load trained models from the model store, once per process and weights hash."""

import threading
from pathlib import Path

import torch
from django.conf import settings
from torch import nn

from explanations.compute.serialization import load_model
from explanations.compute.vocab import Vocabulary
from explanations.models import ClassifierModel

_cache: dict[tuple[int, str], tuple[nn.Module, Vocabulary]] = {}
_lock = threading.Lock()


class ModelUnavailable(Exception):  # noqa: N818
    """The model has no weights here (e.g. explanations were imported from elsewhere)."""


def model_store_path(name: str) -> Path:
    """Return the model store folder named ``name`` (``ClassifierModel.weights_path``)."""
    return Path(settings.MODEL_STORE) / name


def model_load(model: ClassifierModel) -> tuple[nn.Module, Vocabulary]:
    """Return the torch module (eval mode, on the configured device) and its vocabulary."""
    if not model.weights_path:
        raise ModelUnavailable(
            f"model {model.name!r} has no weights here ({model.get_architecture_display()}); "
            "train it with train_model or import its explanations"
        )
    key = (model.pk, model.weights_sha256)
    with _lock:
        if key not in _cache:
            module, _config, vocab, _labels = load_model(model_store_path(model.weights_path))
            module.to(torch.device(settings.ELEPHANT_DEVICE))
            module.eval()
            _cache[key] = (module, vocab)
        return _cache[key]
