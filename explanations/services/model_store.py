"""Load trained models from the model store, once per process and weights hash."""

import threading
from pathlib import Path

import torch
from django.conf import settings
from torch import nn

from explanations.compute.serialization import load_model
from explanations.compute.vocab import Vocabulary
from explanations.models import ClassifierModel

_cache: dict[tuple[int, str, str], tuple[nn.Module, Vocabulary]] = {}
_lock = threading.Lock()


class ModelUnavailable(Exception):  # noqa: N818
    """The model cannot run here.

    It has no weights (e.g. explanations were imported from elsewhere), or
    ``ELEPHANT_DEVICE`` names a device this machine does not have.
    """


def model_store_path(name: str) -> Path:
    """Return the model store folder named ``name`` (``ClassifierModel.weights_path``)."""
    return Path(settings.MODEL_STORE) / name


def configured_device() -> torch.device:
    """Return ``settings.ELEPHANT_DEVICE`` as a device, or raise ModelUnavailable if unusable here."""
    name = settings.ELEPHANT_DEVICE
    try:
        device = torch.device(name)
        torch.empty(0, device=device)
    # torch raises RuntimeError for an unknown name, AssertionError for a backend it was
    # built without (CUDA, XPU), NotImplementedError for one whose kernels are missing.
    except (RuntimeError, AssertionError, NotImplementedError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ModelUnavailable(
            f"ELEPHANT_DEVICE={name!r} is not usable on this machine ({reason}); "
            "set it to 'cpu' or to a device this machine has"
        ) from exc
    return device


def model_load(model: ClassifierModel) -> tuple[nn.Module, Vocabulary]:
    """Return the torch module (eval mode, on the configured device) and its vocabulary.

    Raises ModelUnavailable when the model has no weights here or ``ELEPHANT_DEVICE``
    is not usable on this machine (:func:`configured_device`).
    """
    if not model.weights_path:
        raise ModelUnavailable(
            f"model {model.name!r} has no weights here ({model.get_architecture_display()}); "
            "train it with train_model or import its explanations"
        )
    device = configured_device()
    key = (model.pk, model.weights_sha256, str(device))
    with _lock:
        if key not in _cache:
            module, _config, vocab, _labels = load_model(model_store_path(model.weights_path))
            module.to(device)
            module.eval()
            _cache[key] = (module, vocab)
        return _cache[key]
