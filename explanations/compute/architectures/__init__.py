"""Classifier architectures: the BiLSTM with additive attention and a small transformer.

:func:`build_model` turns a JSON-serialisable config into a model; the resolved
config (defaults filled in) is kept on the model as ``model.config`` so that it
can be saved with the weights and rebuilt.
"""

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from explanations.compute.architectures.bilstm import (
    ATTENTION_KINDS,
    BiLSTMAttentionClassifier,
    reverse_within_length,
)
from explanations.compute.architectures.output import ClassifierOutput, masked_softmax
from explanations.compute.architectures.transformer import TransformerClassifier

ARCHITECTURES: tuple[str, ...] = ("bilstm_attention", "transformer")

_DEFAULTS: dict[str, dict[str, Any]] = {
    "bilstm_attention": {
        "pair": False,
        "embedding_dim": 64,
        "hidden_dim": 64,
        "attention_dim": None,
        "dropout": 0.1,
        "attention": "learned",
    },
    "transformer": {
        "pair": False,
        "embedding_dim": 64,
        "hidden_dim": 64,
        "num_layers": 2,
        "num_heads": 4,
        "max_length": 256,
        "dropout": 0.1,
    },
}
_REQUIRED = ("architecture", "vocab_size", "num_labels")
_POSITIVE = ("embedding_dim", "hidden_dim", "num_layers", "num_heads", "max_length")


def _is_integer(value: Any) -> bool:
    """Return whether ``value`` is an int (a bool is not one here)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _check_values(resolved: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first config value that cannot build a model."""
    for key in ("vocab_size", "num_labels"):
        if not _is_integer(resolved[key]) or resolved[key] < 2:
            raise ValueError(f"model config {key} must be an integer >= 2, got {resolved[key]!r}")
    positive = [key for key in _POSITIVE if key in resolved]
    if resolved.get("attention_dim") is not None:
        positive.append("attention_dim")
    for key in positive:
        if not _is_integer(resolved[key]) or resolved[key] < 1:
            raise ValueError(f"model config {key} must be an integer >= 1, got {resolved[key]!r}")
    if "attention" in resolved and resolved["attention"] not in ATTENTION_KINDS:
        raise ValueError(
            f"model config attention must be one of {', '.join(ATTENTION_KINDS)}, "
            f"got {resolved['attention']!r}"
        )
    dropout = resolved["dropout"]
    if not isinstance(dropout, int | float) or isinstance(dropout, bool) or not 0 <= dropout < 1:
        raise ValueError(f"model config dropout must be a number in [0, 1), got {dropout!r}")
    if "num_heads" in resolved and resolved["embedding_dim"] % resolved["num_heads"]:
        raise ValueError(
            f"model config embedding_dim {resolved['embedding_dim']} is not divisible by "
            f"num_heads {resolved['num_heads']} (each head takes an equal share)"
        )


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``config`` with every default filled in.

    Raises ValueError for unknown or missing keys and for values no model can have:
    sizes (``embedding_dim``, ``hidden_dim``, ``num_layers``, ``num_heads``,
    ``max_length``, ``attention_dim`` unless None) must be integers >= 1,
    ``dropout`` in [0, 1), the BiLSTM's ``attention`` ``"learned"`` (the default, also
    for configs saved before the key existed) or ``"uniform"``, and the transformer's ``embedding_dim`` a multiple of
    ``num_heads``.
    """
    missing = [key for key in _REQUIRED if key not in config]
    if missing:
        raise ValueError(f"model config is missing {', '.join(missing)}")
    architecture = config["architecture"]
    if architecture not in _DEFAULTS:
        raise ValueError(
            f"unknown architecture {architecture!r}; expected one of {', '.join(ARCHITECTURES)}"
        )
    defaults = _DEFAULTS[architecture]
    if architecture == "transformer" and "attention" in config:
        raise ValueError(
            "model config attention applies to bilstm_attention only: the transformer has no "
            "single attention vector to freeze"
        )
    unknown = sorted(set(config) - set(defaults) - set(_REQUIRED))
    if unknown:
        raise ValueError(f"unknown {architecture} config keys: {', '.join(unknown)}")
    resolved = {key: config[key] for key in _REQUIRED} | {
        key: config.get(key, value) for key, value in defaults.items()
    }
    _check_values(resolved)
    return resolved


def build_model(config: Mapping[str, Any]) -> nn.Module:
    """Build an untrained model from a config; its resolved config is ``model.config``."""
    resolved = resolve_config(config)
    arguments = {key: value for key, value in resolved.items() if key != "architecture"}
    model: BiLSTMAttentionClassifier | TransformerClassifier
    if resolved["architecture"] == "bilstm_attention":
        model = BiLSTMAttentionClassifier(**arguments)
    else:
        model = TransformerClassifier(**arguments)
    model.config = resolved
    return model


Classifier = BiLSTMAttentionClassifier | TransformerClassifier


def as_classifier(model: nn.Module) -> Classifier:
    """Return ``model`` typed as one of the classifiers built here, or raise ValueError."""
    if not isinstance(model, BiLSTMAttentionClassifier | TransformerClassifier):
        raise ValueError(f"{type(model).__name__} is not a model built by build_model")
    return model


def device_of(model: nn.Module) -> torch.device:
    """Return the device of a model built here (that of its token embeddings)."""
    return as_classifier(model).embedding.weight.device


def architecture_of(model: nn.Module) -> str:
    """Return the architecture name of a model built here."""
    return as_classifier(model).architecture


__all__ = [
    "ARCHITECTURES",
    "ATTENTION_KINDS",
    "BiLSTMAttentionClassifier",
    "Classifier",
    "ClassifierOutput",
    "TransformerClassifier",
    "architecture_of",
    "as_classifier",
    "build_model",
    "device_of",
    "masked_softmax",
    "resolve_config",
    "reverse_within_length",
]
