"""Load models from the model store, once per process and weights hash.

The store (``settings.MODEL_STORE``) holds one folder per model, named by the model's
``weights_path``. Names are checked before any path is built from them, and every path
must resolve to a direct child of the store: a name can never reach another folder.
"""

import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from django.conf import settings
from torch import nn

from explanations.compute.serialization import load_model, sha256_of
from explanations.compute.vocab import Vocabulary
from explanations.models import ClassifierModel

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerFast

_cache: dict[tuple[int, str, str], tuple[nn.Module, Vocabulary]] = {}
_hf_cache: dict[
    tuple[int, str, str, tuple[tuple[str, str], ...]],
    tuple["PreTrainedModel", "PreTrainedTokenizerFast"],
] = {}
_lock = threading.Lock()

_NAME = re.compile(r"[A-Za-z0-9_-]{1,100}")


class ModelUnavailable(Exception):  # noqa: N818
    """The model cannot run here.

    It has no weights (e.g. explanations were imported from elsewhere), or
    ``ELEPHANT_DEVICE`` names a device this machine does not have.
    """


def model_name_check(name: str) -> str:
    """Return ``name`` if it can name a model and its store folder, else raise ValueError.

    1 to 100 letters, digits, ``-`` or ``_`` (a model's slug): no dot, slash or
    separator, so ``..``, ``./x`` and ``../x`` are refused before any file is touched.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            f"model name {name!r} is not allowed; expected 1 to 100 letters, digits, '-' or '_'"
        )
    return name


def model_store_path(name: str) -> Path:
    """Return the model store folder named ``name`` (``ClassifierModel.weights_path``).

    Raises ValueError for a name :func:`model_name_check` refuses, or one that resolves
    (through a symbolic link) anywhere but directly inside ``settings.MODEL_STORE``.
    """
    model_name_check(name)
    store = Path(settings.MODEL_STORE).resolve()
    path = (store / name).resolve()
    if path.parent != store:
        raise ValueError(f"model store folder {name!r} resolves outside the model store; refused")
    return store / name


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
    if model.architecture == ClassifierModel.Architecture.HUGGINGFACE:
        raise ModelUnavailable(
            f"model {model.name!r} is an imported Hugging Face classifier; "
            "load it with hf_model_load, not model_load"
        )
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


def hf_model_load(model: ClassifierModel) -> tuple["PreTrainedModel", "PreTrainedTokenizerFast"]:
    """Return an imported Hugging Face classifier (eval mode, on the device) and its tokenizer.

    Every stored file is checked against the sha256 recorded at import (the weights file
    against ``weights_sha256``) before loading; a changed file raises ModelUnavailable.
    Cached per model, store folder, device and the hashes of every file (tokenizer
    files included: two imports can share their weights and differ in their tokenizer).
    """
    if model.architecture != ClassifierModel.Architecture.HUGGINGFACE or not model.weights_path:
        raise ModelUnavailable(
            f"model {model.name!r} is not an imported Hugging Face classifier "
            f"({model.get_architecture_display()}); load it with model_load"
        )
    device = configured_device()
    files = tuple(sorted((model.config.get("files") or {}).items()))
    key = (model.pk, model.weights_path, str(device), files)
    with _lock:
        if key not in _hf_cache:
            folder = model_store_path(model.weights_path)
            _verify_files(model, folder)
            # transformers takes seconds to import and is only needed where a model runs:
            # imported here so that importing this module (the web tier does) stays light.
            from explanations.compute.hf.loading import load_classifier

            _hf_cache[key] = load_classifier(folder, device=device)
        return _hf_cache[key]


def _verify_files(model: ClassifierModel, folder: Path) -> None:
    files: dict[str, str] = dict(model.config.get("files") or {})
    weights_file = next((n for n in ("model.safetensors", "pytorch_model.bin") if n in files), None)
    if weights_file is None or files[weights_file] != model.weights_sha256:
        raise ModelUnavailable(
            f"model {model.name!r}: its card names no weights file with sha256 {model.weights_sha256}"
        )
    for filename, expected in files.items():
        if Path(filename).name != filename or filename.startswith("."):
            raise ModelUnavailable(f"model {model.name!r}: its card names a bad file {filename!r}")
        path = folder / filename
        if not path.is_file():
            raise ModelUnavailable(
                f"model {model.name!r}: {filename} is missing from its store folder"
            )
        if sha256_of(path) != expected:
            raise ModelUnavailable(
                f"model {model.name!r}: {filename} has changed since import (sha256 differs); "
                "import the model again under a new name"
            )
