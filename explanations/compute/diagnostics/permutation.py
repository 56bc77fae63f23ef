"""Permuted attention (Jain & Wallace 2019, section 4.2.1): does the order of weights matter?

For each instance the attention weights are shuffled over its real tokens,
``permutations`` times, with the hidden states fixed (padding keeps weight 0), and
the output recomputed; the instance's figure is the median total variation
distance between the permuted and the original output distributions, plotted
against its maximum attention weight by predicted class. This follows
successar/AttentionExplanation: ``model/Binary_Classification.py::permute_attn``
(100 permutations, decoder rerun on the kept states), ``model/modelUtils.py::
BatchHolder.generate_permutation`` (only real tokens move) and
``Trainers/PlottingBC.py::plot_permutations`` (median over permutations of the
output difference). Their <SOS>/<EOS> positions stay in place; ours have none.

All permutations of all instances of a chunk go through the layers after attention
in one call (:class:`~.intervention.BiLSTMIntervention`; Wiegreffe & Pinter's
diagnostic MLP gets the same test through its
:class:`~.intervention.DiagnosticMLPIntervention`). Each instance draws its
permutations from its own generator (``instance_generator(seed, key)``).
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explanations.compute.architectures import BiLSTMAttentionClassifier
from explanations.compute.batching import Batch
from explanations.compute.diagnostics.diagnostic_mlp import DiagnosticMLP
from explanations.compute.diagnostics.intervention import (
    attention_vector_intervention,
    check_model_batch,
    evaluation_mode,
    instance_generator,
    instance_keys,
    require_attention_vector,
)
from explanations.compute.diagnostics.metrics import tvd


@dataclass(frozen=True)
class PermutationResult:
    """Per instance [N]: median TVD, maximum attention, predicted class; all TVDs [P] each.

    ``median_tvd`` is NaN for an instance without tokens.
    """

    median_tvd: np.ndarray
    max_attention: np.ndarray
    predicted: np.ndarray
    tvd: list[np.ndarray]


def permutation_indices(
    length: int, width: int, permutations: int, rng: np.random.Generator
) -> np.ndarray:
    """Return [permutations, width] gather indices: a shuffle of 0..length-1, then padding.

    Row r maps position i to the position whose weight it takes; positions past
    ``length`` map to themselves, so padding keeps its zero weight. Each shuffle is
    ``argsort(rng.random(length))`` (uniform keys; a tie has probability ~2^-53),
    all drawn in one call: the same numbers as drawing them one permutation at a time.
    """
    index = np.tile(np.arange(width), (permutations, 1))
    index[:, :length] = np.argsort(rng.random((permutations, length)), axis=1, kind="stable")
    return index


def permutation_test(
    model: BiLSTMAttentionClassifier | DiagnosticMLP,
    batch: Batch,
    *,
    permutations: int = 100,
    seed: int = 0,
    keys: Sequence[int] | None = None,
    chunk_size: int = 64,
) -> PermutationResult:
    """Return the permutation diagnostic of every instance of ``batch``.

    ``keys``: one non-negative integer per instance naming its random stream
    (e.g. the instance's database id), default its row. Raises ValueError for
    ``permutations < 1``.
    """
    if permutations < 1:
        raise ValueError(f"permutations: expected at least 1, got {permutations}")
    require_attention_vector(model, "permutation")
    check_model_batch(model, batch)
    streams = instance_keys(keys, batch.size)
    medians = np.full(batch.size, np.nan)
    maxima = np.full(batch.size, np.nan)
    predicted = np.zeros(batch.size, dtype=np.int64)
    distances: list[np.ndarray] = [np.zeros(0)] * batch.size
    with evaluation_mode(model), torch.no_grad():
        for indices, piece in batch.chunks_by_length(chunk_size):
            intervention = attention_vector_intervention(model, piece)
            width = piece.input_ids.shape[1]
            lengths = piece.lengths.tolist()
            gather = np.stack(
                [
                    permutation_indices(
                        length, width, permutations, instance_generator(seed, streams[row])
                    )
                    for row, length in zip(indices.tolist(), lengths, strict=True)
                ]
            )
            index = torch.as_tensor(gather, device=piece.device)
            attention = intervention.attention
            weights = attention[:, None, :].expand(-1, permutations, -1).gather(2, index)
            probabilities = intervention.probabilities_for(weights)
            chunk_tvd = tvd(probabilities, intervention.probabilities[:, None, :])
            chunk_tvd_np = chunk_tvd.to(torch.float64).cpu().numpy()
            top = attention.max(dim=1).values.to(torch.float64).cpu().numpy()
            labels = intervention.probabilities.argmax(dim=1).cpu().numpy()
            for position, (row, length) in enumerate(zip(indices.tolist(), lengths, strict=True)):
                predicted[row] = labels[position]
                distances[row] = chunk_tvd_np[position]
                if length:
                    medians[row] = float(np.median(chunk_tvd_np[position]))
                    maxima[row] = float(top[position])
    return PermutationResult(
        median_tvd=medians, max_attention=maxima, predicted=predicted, tvd=distances
    )


__all__ = ["PermutationResult", "permutation_indices", "permutation_test"]
