"""The diagnostic MLP itself: token-wise Linear + tanh, attention-weighted sum, linear output.

See :mod:`explanations.compute.diagnostics.diagnostic_mlp` for Wiegreffe & Pinter's
setup and the three attention modes.
"""

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from explanations.compute.architectures.output import ClassifierOutput, masked_softmax
from explanations.compute.batching import Batch
from explanations.compute.modes import evaluation_mode

ATTENTION_MODES: tuple[str, ...] = ("trained", "uniform", "imported")

AttentionSource = Callable[[Batch], torch.Tensor]
"""A function of a batch returning attention weights [B, T] (the imported mode's source)."""


class DiagnosticMLP(nn.Module):
    """Embedding, token-wise Linear + tanh, attention-weighted sum, linear output.

    ``attention`` is one of :data:`ATTENTION_MODES`. In ``imported`` mode the weights
    come from the ``weights`` argument of :meth:`forward`, or else from
    ``attention_source`` (see :meth:`use_attention_of`), so that explanation methods
    that call ``model(batch)`` work on it too.
    """

    architecture = "diagnostic_mlp"

    def __init__(
        self,
        *,
        vocab_size: int,
        num_labels: int,
        embedding_dim: int = 64,
        hidden_dim: int = 64,
        attention: str = "trained",
        pair: bool = False,
    ) -> None:
        """Create the layers; the attention layer (size ``hidden_dim // 2``) only if trained."""
        super().__init__()
        if attention not in ATTENTION_MODES:
            raise ValueError(
                f"attention: expected one of {', '.join(ATTENTION_MODES)}, got {attention!r}"
            )
        for name, value, least in (
            ("vocab_size", vocab_size, 2),
            ("num_labels", num_labels, 2),
            ("embedding_dim", embedding_dim, 1),
            ("hidden_dim", hidden_dim, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{name}: expected an integer >= {least}, got {value!r}")
        self.attention_mode = attention
        self.pair = pair
        self.config: dict[str, Any] = {
            "architecture": self.architecture,
            "vocab_size": vocab_size,
            "num_labels": num_labels,
            "embedding_dim": embedding_dim,
            "hidden_dim": hidden_dim,
            "attention": attention,
            "pair": pair,
        }
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.token_layer = nn.Linear(embedding_dim, hidden_dim)
        attention_dim = max(1, hidden_dim // 2)
        trained = attention == "trained"
        self.attention_hidden = nn.Linear(hidden_dim, attention_dim) if trained else None
        self.attention_query = (
            nn.Linear(hidden_dim, attention_dim, bias=False) if trained and pair else None
        )
        self.attention_vector = nn.Linear(attention_dim, 1, bias=False) if trained else None
        self.output_pooled = nn.Linear(hidden_dim, hidden_dim) if pair else None
        self.output_query = nn.Linear(hidden_dim, hidden_dim, bias=False) if pair else None
        self.output = nn.Linear(hidden_dim, num_labels)
        self.attention_source: AttentionSource | None = None

    def use_attention_of(self, model: nn.Module) -> None:
        """Take the imported weights from ``model``'s attention on each batch (frozen)."""
        if self.attention_mode != "imported":
            raise ValueError(
                f"only an imported-attention MLP takes weights, not {self.attention_mode}"
            )
        self.attention_source = attention_of(model)

    def embed(self, batch: Batch) -> torch.Tensor:
        """Return the embeddings of the explained tokens, [B, T, E]."""
        return self.embedding(batch.input_ids)

    def token_states(self, embeddings: torch.Tensor) -> torch.Tensor:
        """Return ``h_i = tanh(W x_i + b)`` of each token on its own, [B, T, H]."""
        return torch.tanh(self.token_layer(embeddings))

    def encode_query(self, batch: Batch) -> torch.Tensor | None:
        """Return the mean token state of each context [B, H] (zero if empty), None if single."""
        if not self.pair:
            return None
        if batch.context_ids is None or batch.context_mask is None:
            raise ValueError("this diagnostic MLP was built for pairs: the batch needs context_ids")
        states = self.token_states(self.embedding(batch.context_ids))
        mask = batch.context_mask.to(states.dtype)[:, :, None]
        total = (states * mask).sum(dim=1)
        return total / mask.sum(dim=1).clamp_min(1.0)

    def weights_for(
        self,
        states: torch.Tensor,
        batch: Batch,
        query: torch.Tensor | None,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Return the attention weights [B, T] of this model's mode."""
        if self.attention_mode == "uniform":
            return (
                batch.mask.to(states.dtype) / batch.lengths.clamp_min(1).to(states.dtype)[:, None]
            )
        if self.attention_mode == "imported":
            if weights is None and self.attention_source is not None:
                with torch.no_grad():
                    weights = self.attention_source(batch)
            if weights is None:
                raise ValueError(
                    "weights: an imported-attention MLP needs the weights of each instance "
                    "(pass weights=..., or call use_attention_of(model) first)"
                )
            return checked_weights(weights, batch).to(states.dtype)
        assert self.attention_hidden is not None  # built in trained mode
        assert self.attention_vector is not None
        projected = self.attention_hidden(states)
        if self.attention_query is not None and query is not None:
            projected = projected + self.attention_query(query)[:, None, :]
        scores = self.attention_vector(torch.tanh(projected)).squeeze(-1)
        return masked_softmax(scores, batch.mask)

    def classify(self, pooled: torch.Tensor, query: torch.Tensor | None) -> torch.Tensor:
        """Return the logits ``W_o c + b_o``, or ``W_o tanh(W_c c + W_p q + b) + b_o`` for pairs."""
        if self.output_pooled is None or self.output_query is None or query is None:
            return self.output(pooled)
        return self.output(torch.tanh(self.output_pooled(pooled) + self.output_query(query)))

    def forward_embeddings(
        self, embeddings: torch.Tensor, batch: Batch, weights: torch.Tensor | None = None
    ) -> ClassifierOutput:
        """Run the model on given embeddings of the explained tokens (gradient methods)."""
        states = self.token_states(embeddings)
        query = self.encode_query(batch)
        attention = self.weights_for(states, batch, query, weights)
        pooled = torch.bmm(attention.unsqueeze(1), states).squeeze(1)
        return ClassifierOutput(logits=self.classify(pooled, query), attention=attention)

    def forward(self, batch: Batch, weights: torch.Tensor | None = None) -> ClassifierOutput:
        """Classify a batch; ``weights`` [B, T] are the imported mode's attention."""
        return self.forward_embeddings(self.embed(batch), batch, weights)


def checked_weights(weights: torch.Tensor, batch: Batch) -> torch.Tensor:
    """Return ``weights`` if they are [B, T] like the batch, non-negative and 0 on padding."""
    if tuple(weights.shape) != tuple(batch.input_ids.shape):
        raise ValueError(
            f"weights: expected one per token, shape {tuple(batch.input_ids.shape)}, "
            f"got {tuple(weights.shape)}"
        )
    if bool((weights < 0).any()) or bool((weights.masked_select(~batch.mask) != 0).any()):
        raise ValueError("weights: expected non-negative weights, 0 on padding positions")
    return weights


def attention_of(model: nn.Module) -> AttentionSource:
    """Return a function of a batch: ``model``'s attention, renormalised over the real tokens.

    The BiLSTM's weights already sum to one (renormalising changes them by float
    rounding only); a transformer's attention is the share of the last layer's CLS
    row on the explained tokens, which becomes a distribution over them. The model
    runs in eval mode, without gradient.
    """

    def source(batch: Batch) -> torch.Tensor:
        device = next(model.parameters()).device
        with evaluation_mode(model), torch.no_grad():
            attention = model(batch.to(device)).attention.to(batch.device) * batch.mask
        total = attention.sum(dim=1, keepdim=True)
        return torch.where(total > 0, attention / total.clamp_min(1e-30), 0.0)

    return source


__all__ = ["ATTENTION_MODES", "AttentionSource", "DiagnosticMLP", "attention_of", "checked_weights"]
