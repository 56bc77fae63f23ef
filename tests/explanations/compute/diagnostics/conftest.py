"""Tiny models for the attention diagnostics' tests: random ones, and one set by hand.

The hand-set one fixes what comes after attention: BiLSTM states h_i = (s_i, 0),
an output layer with logits (0, s + 0.5) for pooled state (s, 0), and given
attention weights, so every output is a number worked out on paper.
"""

import numpy as np
import pytest
import torch

from explanations.compute.architectures import BiLSTMAttentionClassifier, build_model
from explanations.compute.batching import Batch, make_batch
from explanations.compute.diagnostics.intervention import BiLSTMIntervention


def tiny_model(architecture: str = "bilstm_attention", *, seed: int = 0, **extra):
    """Return a small random model in eval mode (3 classes unless told)."""
    torch.manual_seed(seed)
    config = {
        "architecture": architecture,
        "vocab_size": 40,
        "num_labels": 3,
        "embedding_dim": 8,
        "hidden_dim": 8,
        "dropout": 0.0,
        **extra,
    }
    if architecture == "transformer":
        config["num_heads"] = 2
    return build_model(config).eval()


def tiny_batch(lengths=(5, 1, 7, 3, 9, 4), *, seed: int = 0, pair: bool = False) -> Batch:
    """Return random instances of the given lengths (with contexts for pair models)."""
    rng = np.random.default_rng(seed)
    seqs = [rng.integers(2, 40, size=n).tolist() for n in lengths]
    contexts = [rng.integers(2, 40, size=3).tolist() for _ in lengths] if pair else None
    return make_batch(seqs, contexts)


def hand_intervention(
    values: list[float], attention: list[float], *, bias: float = 0.5
) -> BiLSTMIntervention:
    """Return an intervention with states (s_i, 0), the given weights, logits (0, s + bias)."""
    model = BiLSTMAttentionClassifier(
        vocab_size=8, num_labels=2, embedding_dim=2, hidden_dim=1, dropout=0.0
    ).eval()
    with torch.no_grad():
        model.output.weight.copy_(torch.tensor([[0.0, 0.0], [1.0, 0.0]]))
        model.output.bias.copy_(torch.tensor([0.0, bias]))
    intervention = BiLSTMIntervention(model, make_batch([[1] * len(values)]))
    intervention.states = torch.tensor([[[value, 0.0] for value in values]])
    intervention.attention = torch.tensor([attention])
    with torch.no_grad():
        intervention.probabilities = intervention.probabilities_for(
            intervention.attention[:, None, :]
        )[:, 0]
    return intervention


def hand_probabilities(values: list[float], weights: list[float], bias: float = 0.5) -> np.ndarray:
    """Return softmax((0, sum_i w_i s_i + bias)) worked out with numpy."""
    logit = float(np.dot(weights, values)) + bias
    return np.exp([0.0, logit]) / np.exp([0.0, logit]).sum()


@pytest.fixture
def bilstm():
    return tiny_model()


@pytest.fixture
def batch():
    return tiny_batch()
