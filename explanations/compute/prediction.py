"""Class probabilities for many sequences at once, in input order."""

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from explanations.compute.architectures import as_classifier, device_of
from explanations.compute.batching import make_batch
from explanations.compute.modes import evaluation_mode


def predict_proba(
    model: nn.Module,
    seqs: Sequence[Sequence[int]],
    contexts: Sequence[Sequence[int]] | None = None,
    *,
    batch_size: int = 128,
) -> np.ndarray:
    """Return ``softmax(logits)`` [N, C] (float64) for every sequence, in input order.

    Sequences are sorted by length and batched internally (less padding, same
    result); an empty sequence (every token deleted) gets the model's output for
    no tokens at all. Batches go to the model's device. The model runs in eval mode
    and is left in its former mode.
    """
    if contexts is not None and len(contexts) != len(seqs):
        raise ValueError(f"{len(contexts)} contexts for {len(seqs)} sequences")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    classifier = as_classifier(model)
    num_labels = classifier.output.out_features
    device = device_of(classifier)
    result = np.zeros((len(seqs), num_labels), dtype=np.float64)
    order = sorted(range(len(seqs)), key=lambda i: len(seqs[i]), reverse=True)
    with evaluation_mode(model), torch.no_grad():
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            batch = make_batch(
                [seqs[i] for i in chunk],
                None if contexts is None else [contexts[i] for i in chunk],
            ).to(device)
            probabilities = torch.softmax(model(batch).logits, dim=-1)
            result[chunk] = probabilities.to(torch.float64).cpu().numpy()
    return result
