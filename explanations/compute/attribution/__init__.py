"""Attribution methods: one score per token of the explained sequence.

:func:`explain` is the one entry point::

    results = explain(model, batch, "integrated_gradients", n_steps=50)

It takes a padded :class:`~explanations.compute.batching.Batch` and returns one
:class:`Attribution` per instance, in batch order. The target is the model's
predicted class unless ``target`` gives one class per instance. Parameters are
checked and completed by :func:`method_parameters` (store its result with the
explanation); which methods each architecture supports, and why not, is declared
in :mod:`explanations.compute.registry`. Conventions (design document): gradient
methods explain the target's logit, erasure methods its softmax probability; scores
are summed over the embedding dimension, except the gradient, which takes its L2 norm.

Methods and the modules that define them: ``attention``, ``attention_rollout``
(:mod:`.attention`); ``gradient``, ``grad_input``, ``integrated_gradients``
(:mod:`.gradients`); ``occlusion``, ``omission`` (:mod:`.erasure`); ``lrp``
(:mod:`.lrp`, BiLSTM only); ``random`` (:mod:`.random_control`). For the BiLSTM,
the gradient methods and the erasure methods take exact shortcuts that do less work
(:mod:`.bilstm_gradients`, :mod:`.bilstm_erasure`, on the layers of
:mod:`.bilstm_layers`); the tests hold them to Captum run on the model itself.

Everything is batched: instances are sorted by length into chunks (less padding),
integrated gradients stacks its steps into the batch, erasure runs all variants of
a sequence in one batch; no Python loop runs over tokens or integration steps.
Chunks run on worker threads, one intra-op thread each (:mod:`.scheduling`).
"""

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from explanations.compute.architectures import (
    BiLSTMAttentionClassifier,
    Classifier,
    as_classifier,
    device_of,
)
from explanations.compute.attribution import (
    attention,
    bilstm_erasure,
    bilstm_gradients,
    erasure,
    gradients,
    lrp,
    random_control,
)
from explanations.compute.attribution.parameters import (
    METHOD_FAMILIES,
    METHODS,
    method_parameters,
)
from explanations.compute.attribution.randomization import reinitialize
from explanations.compute.attribution.result import Attribution, resolve_targets
from explanations.compute.batching import Batch
from explanations.compute.registry import unsupported_reason


def _run(
    model: Classifier,
    batch: Batch,
    method: str,
    targets: torch.Tensor | None,
    params: dict[str, Any],
) -> list[Attribution]:
    """Dispatch to the method's implementation (the BiLSTM's exact faster paths if any)."""
    if method in ("attention", "attention_rollout"):
        rolled = method == "attention_rollout"
        return attention.attention_scores(model, batch, targets, params, rolled=rolled)
    if method in ("gradient", "grad_input"):
        times_input = method == "grad_input"
        if isinstance(model, BiLSTMAttentionClassifier):
            return bilstm_gradients.gradient_scores(
                model, batch, targets, params, times_input=times_input
            )
        return gradients.gradient_scores(model, batch, targets, params, times_input=times_input)
    if method == "integrated_gradients":
        if isinstance(model, BiLSTMAttentionClassifier):
            return bilstm_gradients.integrated_gradients(model, batch, targets, params)
        return gradients.integrated_gradients(model, batch, targets, params)
    if method in ("occlusion", "omission"):
        omit = method == "omission"
        if isinstance(model, BiLSTMAttentionClassifier):
            return bilstm_erasure.erasure_scores(model, batch, targets, params, omit=omit)
        return erasure.erasure_scores(model, batch, targets, params, omit=omit)
    if method == "lrp":
        assert isinstance(model, BiLSTMAttentionClassifier)
        return lrp.lrp_scores(model, batch, targets, params)
    return random_control.random_scores(model, batch, targets, params)


def explain(
    model: nn.Module,
    batch: Batch,
    method: str,
    *,
    target: Sequence[int] | None = None,
    **params: Any,
) -> list[Attribution]:
    """Return one :class:`Attribution` per instance of ``batch`` for ``method``.

    ``target``: one class per instance, or None for the predicted class.
    ``params``: the method's parameters (see :func:`method_parameters`).
    Raises ValueError for an unknown method or parameter, or a method the
    architecture does not support (``lrp`` on a transformer, ``attention_rollout``
    on the BiLSTM). The model is run in eval mode and left in the mode it was in;
    the batch is moved to the model's device.
    """
    resolved = method_parameters(method, **params)
    classifier = as_classifier(model)
    architecture = classifier.architecture
    reason = unsupported_reason(method, architecture)
    if reason is not None:
        raise ValueError(
            f"method {method!r} is not available for architecture {architecture!r}: {reason}"
        )
    batch = batch.to(device_of(classifier))
    targets = resolve_targets(target, batch, classifier.output.out_features)
    was_training = classifier.training
    classifier.eval()
    try:
        with torch.enable_grad():
            return _run(classifier, batch, method, targets, resolved)
    finally:
        classifier.train(was_training)


__all__ = [
    "METHODS",
    "METHOD_FAMILIES",
    "Attribution",
    "explain",
    "method_parameters",
    "reinitialize",
]
