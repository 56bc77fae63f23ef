"""Classifier architectures: the BiLSTM with additive attention and a small transformer.

:func:`build_model` turns a JSON-serialisable config into a model; the resolved
config (defaults filled in) is kept on the model as ``model.config`` so that it
can be saved with the weights and rebuilt.
"""

from collections.abc import Mapping
from typing import Any

from torch import nn

from explanations.compute.architectures.bilstm import (
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


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``config`` with every default filled in; reject unknown or missing keys."""
    missing = [key for key in _REQUIRED if key not in config]
    if missing:
        raise ValueError(f"model config is missing {', '.join(missing)}")
    architecture = config["architecture"]
    if architecture not in _DEFAULTS:
        raise ValueError(
            f"unknown architecture {architecture!r}; expected one of {', '.join(ARCHITECTURES)}"
        )
    defaults = _DEFAULTS[architecture]
    unknown = sorted(set(config) - set(defaults) - set(_REQUIRED))
    if unknown:
        raise ValueError(f"unknown {architecture} config keys: {', '.join(unknown)}")
    resolved = {key: config[key] for key in _REQUIRED} | {
        key: config.get(key, value) for key, value in defaults.items()
    }
    for key in ("vocab_size", "num_labels"):
        if not isinstance(resolved[key], int) or resolved[key] < 2:
            raise ValueError(f"model config {key} must be an integer >= 2, got {resolved[key]!r}")
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


def architecture_of(model: nn.Module) -> str:
    """Return the architecture name of a model built here."""
    return as_classifier(model).architecture


__all__ = [
    "ARCHITECTURES",
    "BiLSTMAttentionClassifier",
    "Classifier",
    "ClassifierOutput",
    "TransformerClassifier",
    "architecture_of",
    "as_classifier",
    "build_model",
    "masked_softmax",
    "resolve_config",
    "reverse_within_length",
]
