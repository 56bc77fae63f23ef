"""Attention interventions: rerun only the layers after attention, for many weightings.

Every diagnostic of the attention debate asks what the model would output with other
attention weights and the same hidden states: permuted weights (Jain & Wallace
2019, 4.2.1), adversarial weights (4.2.2), weights with some tokens zeroed and the
rest renormalised (Serrano & Smith 2019). An intervention computes the states once
for a batch and then maps ``R`` weightings per instance, ``[B, R, T]``, to
``[B, R, C]`` outputs in one pass through the layers after attention.

* :class:`BiLSTMIntervention`: the BiLSTM's states ``h`` and query ``q`` are fixed;
  the output is ``classify(a' h, q)`` for any distribution ``a'`` over the real
  tokens (J&W's ``AttnDecoder.get_output`` in successar/AttentionExplanation,
  ``model/modules/Decoder.py``, which also keeps the encoder's states).
* :class:`TransformerIntervention` (zeroing only): the last layer's inputs are
  fixed and its first-token (CLS) row of attention is edited in every head.
* :class:`DiagnosticMLPIntervention`: Wiegreffe & Pinter's token-wise MLP, its
  tanh token states (and a pair's query) fixed; the layers after attention are
  the BiLSTM's, so it is a :class:`BiLSTMIntervention` with another encoder.

Both run the model in eval mode (dropout would make every intervention random):
:func:`evaluation_mode` switches it and restores the former mode.
"""

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from explanations.compute.architectures import (
    BiLSTMAttentionClassifier,
    TransformerClassifier,
    masked_softmax,
)
from explanations.compute.architectures.transformer import EncoderLayer
from explanations.compute.batching import Batch
from explanations.compute.diagnostics.diagnostic_mlp import DiagnosticMLP
from explanations.compute.modes import evaluation_mode


def instance_generator(seed: int, key: int) -> np.random.Generator:
    """Return the random generator of one instance: seeded by ``(seed, key)``.

    Each instance draws from its own stream, so its permutations, random orders and
    adversarial starting points do not depend on which other instances share its
    batch (a job split into shards gets the same numbers), and a one-instance loop
    reproduces the batched run exactly.
    """
    if seed < 0 or key < 0:
        raise ValueError(f"seed and instance key must be non-negative, got {seed} and {key}")
    return np.random.default_rng(np.random.SeedSequence([seed, key]))


def instance_keys(keys: Sequence[int] | None, size: int) -> list[int]:
    """Return one random-stream key per instance: ``keys`` or the row numbers 0..size-1."""
    if keys is None:
        return list(range(size))
    if len(keys) != size:
        raise ValueError(f"keys: expected {size} (one per instance), got {len(keys)}")
    return [int(key) for key in keys]


def check_model_batch(model: nn.Module, batch: Batch) -> None:
    """Raise ValueError unless ``model`` is on the batch's device and the batch is non-empty."""
    if batch.size < 1:
        raise ValueError("batch: expected at least one instance")
    device = next(model.parameters()).device
    if batch.device != device:
        raise ValueError(f"batch is on {batch.device} but the model is on {device}")


def require_bilstm(model: nn.Module, diagnostic: str) -> None:
    """Raise ValueError unless ``model`` is the BiLSTM: ``diagnostic`` needs its one attention vector."""
    if not isinstance(model, BiLSTMAttentionClassifier):
        raise ValueError(
            f"{diagnostic} is defined for the BiLSTM attention model only (one attention "
            f"vector the output is a function of); got {type(model).__name__}"
        )


def require_attention_vector(model: nn.Module, diagnostic: str) -> None:
    """Raise ValueError unless ``model`` is the BiLSTM or the diagnostic MLP (one attention vector)."""
    if not isinstance(model, BiLSTMAttentionClassifier | DiagnosticMLP):
        raise ValueError(
            f"{diagnostic} is defined for the BiLSTM attention model only (and Wiegreffe & "
            "Pinter's diagnostic MLP: one attention vector the output is a function of); got "
            f"{type(model).__name__}"
        )


class BiLSTMIntervention:
    """The BiLSTM's states and query for a batch, and its output for any attention weights.

    Attributes (all without gradient): ``states`` [B, T, 2H], ``query`` [B, 2H] or
    None, ``mask`` [B, T], ``lengths`` [B], ``attention`` the model's own weights
    [B, T], ``probabilities`` its output distribution [B, C].
    """

    model: BiLSTMAttentionClassifier | DiagnosticMLP

    def __init__(self, model: BiLSTMAttentionClassifier, batch: Batch) -> None:
        """Encode ``batch`` once; ``model`` must be in eval mode."""
        if model.training:
            raise ValueError("the model must be in eval mode (dropout makes outputs random)")
        check_model_batch(model, batch)
        self.model = model
        self.mask = batch.mask
        self.lengths = batch.lengths
        with torch.no_grad():
            self.states = model.encode(model.embed(batch), batch.lengths)
            self.query = model.encode_query(batch)
            scores = model.attention_scores(self.states, self.query)
            self.attention = masked_softmax(scores, batch.mask)
            self.probabilities = self.probabilities_for(self.attention[:, None, :])[:, 0]

    @property
    def states(self) -> torch.Tensor:
        """Return the BiLSTM states [B, T, 2H]."""
        return self._states

    @states.setter
    def states(self, value: torch.Tensor) -> None:
        """Set the states and their projection by the first layer after pooling."""
        self._states = value
        with torch.no_grad():
            self._projected = nn.functional.linear(value, self._first_layer().weight)

    def _first_layer(self) -> nn.Linear:
        """Return the linear layer the pooled state goes through first."""
        pooled_layer = self.model.output_pooled
        return self.model.output if pooled_layer is None else pooled_layer

    def logits_for(self, weights: torch.Tensor) -> torch.Tensor:
        """Return the logits [B, R, C] for attention weights [B, R, T] (differentiable).

        ``classify(bmm(weights, states), query)``: the weights replace the model's
        attention; padding weights must be 0. Gradients flow to ``weights`` only.
        The first layer after pooling is linear, W (sum_i a_i h_i) = sum_i a_i (W h_i),
        so the states are projected once (to C logits, or to the pair decoder's H
        units) and each weighting costs a [T] x [T, C] product instead of [T] x
        [T, 2H] and a layer; its bias is added after, which is right for weights of
        any sum (zero when every token is zeroed). Same function as ``classify`` in
        eval mode, up to float rounding.
        """
        if weights.dim() != 3 or weights.shape[0] != self.states.shape[0]:
            raise ValueError(
                f"weights: expected [batch={self.states.shape[0]}, rows, tokens], "
                f"got {tuple(weights.shape)}"
            )
        mixed = torch.bmm(weights, self._projected) + self._first_layer().bias
        if self.model.output_query is None or self.query is None:
            return mixed
        hidden = torch.tanh(mixed + self.model.output_query(self.query)[:, None, :])
        return self.model.output(hidden)

    def probabilities_for(self, weights: torch.Tensor) -> torch.Tensor:
        """Return the output distributions [B, R, C] for attention weights [B, R, T]."""
        return torch.softmax(self.logits_for(weights), dim=-1)

    def zeroed_probabilities(self, keep: torch.Tensor) -> torch.Tensor:
        """Return the outputs [B, R, C] with the weights where ``keep`` [B, R, T] is False zeroed.

        The kept weights are renormalised to sum to one; with nothing kept the
        weights are all zero (Serrano & Smith's L1 ``normalize`` of a zero row).
        """
        return self.probabilities_for(renormalised(self.attention[:, None, :] * keep))


class DiagnosticMLPIntervention(BiLSTMIntervention):
    """The diagnostic MLP's token states for a batch, and its output for any attention weights.

    ``states`` [B, T, H] are the token-wise ``tanh(W x_i + b)``, ``query`` the mean
    context state of a pair (else None), ``attention`` the weights of the MLP's mode
    (its own, uniform, or imported: ``weights`` [B, T] if given, else its
    ``attention_source``). Its layers after attention have the BiLSTM's names and
    form, so :meth:`BiLSTMIntervention.logits_for` and the zeroing apply unchanged.
    """

    def __init__(
        self, model: DiagnosticMLP, batch: Batch, weights: torch.Tensor | None = None
    ) -> None:
        """Compute the token states once; ``model`` must be in eval mode."""
        if model.training:
            raise ValueError("the model must be in eval mode (dropout makes outputs random)")
        check_model_batch(model, batch)
        self.model = model
        self.mask = batch.mask
        self.lengths = batch.lengths
        with torch.no_grad():
            self.states = model.token_states(model.embed(batch))
            self.query = model.encode_query(batch)
            self.attention = model.weights_for(self.states, batch, self.query, weights)
            self.probabilities = self.probabilities_for(self.attention[:, None, :])[:, 0]


class TransformerIntervention:
    """The last layer's inputs for a batch, and the output with its CLS row edited.

    The transformer's attention (``ClassifierOutput.attention``) is the last layer's
    CLS row averaged over heads, restricted to the explained tokens. Zeroing a token
    sets its weight to 0 in every head's CLS row and renormalises each head's row
    over all its remaining keys (CLS itself, SEP and a pair's context included);
    only the CLS state feeds the classifier, so the last layer is rerun for that one
    row. Earlier layers and the other rows are unchanged. Attributes: ``mask``,
    ``lengths``, ``attention`` [B, T] and ``probabilities`` [B, C], as for the BiLSTM.
    """

    def __init__(self, model: TransformerClassifier, batch: Batch) -> None:
        """Run all layers but the last once; ``model`` must be in eval mode."""
        if model.training:
            raise ValueError("the model must be in eval mode (dropout makes outputs random)")
        check_model_batch(model, batch)
        self.model = model
        self.mask = batch.mask
        self.lengths = batch.lengths
        self.tokens = int(batch.input_ids.shape[1])
        layer = model.layers[-1]
        if not isinstance(layer, EncoderLayer):
            raise ValueError(f"{type(layer).__name__}: expected the transformer's EncoderLayer")
        self.layer = layer
        with torch.no_grad():
            hidden, key_mask = model._sequence(model.embed(batch), batch)
            for earlier in model.layers[:-1]:
                hidden, _ = earlier(hidden, key_mask)
            size, length, dim = hidden.shape
            heads = layer.num_heads
            qkv = layer.qkv(layer.norm_attention(hidden))
            qkv = qkv.view(size, length, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
            query, key, self.value = qkv[0], qkv[1], qkv[2]
            scores = query[:, :, :1] @ key.transpose(-1, -2) / math.sqrt(dim // heads)
            scores = scores.masked_fill(~key_mask[:, None, None, :], torch.finfo(scores.dtype).min)
            self.cls_rows = torch.softmax(scores, dim=-1)[:, :, 0]  # [B, heads, S]
            self.cls_hidden = hidden[:, 0]
            self.attention = self.cls_rows[:, :, 1 : self.tokens + 1].mean(dim=1)
            everything = torch.ones(size, 1, self.tokens, dtype=torch.bool, device=hidden.device)
            self.probabilities = self.zeroed_probabilities(everything)[:, 0]

    def zeroed_probabilities(self, keep: torch.Tensor) -> torch.Tensor:
        """Return the outputs [B, R, C] with the explained tokens where ``keep`` is False zeroed."""
        size, rows, _ = keep.shape
        keys = self.cls_rows.shape[-1]
        full = torch.ones(size, rows, keys, dtype=self.cls_rows.dtype, device=keep.device)
        full[:, :, 1 : self.tokens + 1] = keep.to(self.cls_rows.dtype)
        weights = renormalised(self.cls_rows[:, None] * full[:, :, None, :])  # [B, R, heads, S]
        layer = self.layer
        mixed = torch.einsum("brhs,bhsd->brhd", weights, self.value).reshape(size, rows, -1)
        hidden = self.cls_hidden[:, None, :] + layer.attention_output(mixed)
        hidden = hidden + layer.ffn(layer.norm_ffn(hidden))
        logits = self.model.output(self.model.final_norm(hidden))
        return torch.softmax(logits, dim=-1)


Intervention = BiLSTMIntervention | TransformerIntervention
"""A :class:`DiagnosticMLPIntervention` is a :class:`BiLSTMIntervention`."""


def renormalised(weights: torch.Tensor) -> torch.Tensor:
    """Return ``weights`` divided by their sum over the last dimension (a zero row stays 0)."""
    total = weights.sum(dim=-1, keepdim=True)
    return torch.where(total > 0, weights / total.clamp_min(torch.finfo(weights.dtype).tiny), 0.0)


def attention_vector_intervention(model: nn.Module, batch: Batch) -> BiLSTMIntervention:
    """Return the intervention of the BiLSTM or the diagnostic MLP on ``batch``."""
    if isinstance(model, DiagnosticMLP):
        return DiagnosticMLPIntervention(model, batch)
    if isinstance(model, BiLSTMAttentionClassifier):
        return BiLSTMIntervention(model, batch)
    raise ValueError(
        f"{type(model).__name__}: expected the BiLSTM attention model or the diagnostic MLP"
    )


def intervention_for(model: nn.Module, batch: Batch) -> Intervention:
    """Return the intervention of ``model`` (BiLSTM, native transformer, diagnostic MLP)."""
    if isinstance(model, DiagnosticMLP):
        return DiagnosticMLPIntervention(model, batch)
    if isinstance(model, BiLSTMAttentionClassifier):
        return BiLSTMIntervention(model, batch)
    if isinstance(model, TransformerClassifier):
        return TransformerIntervention(model, batch)
    raise ValueError(
        f"{type(model).__name__}: attention diagnostics need a model built by build_model "
        "(bilstm_attention or transformer) or Wiegreffe & Pinter's diagnostic MLP"
    )


def real_positions(lengths: torch.Tensor, width: int) -> torch.Tensor:
    """Return the [B, width] mask of positions below each instance's length."""
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]


def as_rows(values: torch.Tensor, lengths: torch.Tensor) -> list[np.ndarray]:
    """Return each instance's first ``lengths[b]`` values as a float64 numpy array."""
    array = values.detach().to(torch.float64).cpu().numpy()
    return [array[row, :length].copy() for row, length in enumerate(lengths.tolist())]


__all__ = [
    "BiLSTMIntervention",
    "DiagnosticMLPIntervention",
    "Intervention",
    "TransformerIntervention",
    "as_rows",
    "attention_vector_intervention",
    "check_model_batch",
    "evaluation_mode",
    "instance_generator",
    "instance_keys",
    "intervention_for",
    "real_positions",
    "renormalised",
    "require_attention_vector",
    "require_bilstm",
]
