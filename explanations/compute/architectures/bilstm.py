"""BiLSTM with additive attention, the model of the attention-as-explanation debate.

Jain & Wallace (2019, "Attention is not Explanation", section 2): tokens are
embedded, encoded by a one-layer bidirectional LSTM into states ``h_i``, scored by
additive attention ``e_i = v^T tanh(W_h h_i + W_q q)`` (Bahdanau et al. 2015), the
scores normalised by a softmax over the real tokens, and the attention-weighted sum
``c = sum_i a_i h_i`` is classified by a linear layer. For pair tasks the query
``q`` encodes the first text (the context) with the same encoder, and the output
is their NLI decoder ``W_o tanh(W_c c + W_p q + b) + b_o`` (a linear read-out of
``[c; q]`` cannot compare the two texts); for single texts there is no query and
``W_h`` carries a bias instead.

The two directions are two unidirectional LSTMs. The backward one runs on each
sequence reversed within its own length, so that both see padding only after their
real tokens: the result is exactly that of a packed bidirectional LSTM, but the
padded tensor goes through oneDNN's fused LSTM kernel (PyTorch's packed path falls
back to a slow per-step loop on CPU when lengths differ).

``attention="uniform"`` is Wiegreffe & Pinter's (2019, section 3.1) frozen baseline:
every real token weighs 1/length and padding 0 (their ``FrozenAttnDecoder``), so
whatever the model learns, it learns without attention. The attention layers are
still created (the same random draws as a learned model of the same seed, the same
state-dict layout) but never used: the scores are constant zeros, and ``v`` is zeroed
and frozen, so code that reads the attention layers' weights directly (the fast
readouts of the attribution methods) computes the same uniform weights and no
gradient through them.
"""

from typing import Any, Literal

import torch
from torch import nn

from explanations.compute.architectures.output import ClassifierOutput, masked_softmax
from explanations.compute.batching import Batch


def reverse_within_length(values: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first ``lengths[b]`` steps along dim 1; padding stays in place.

    The map is its own inverse: applying it twice returns ``values``.
    """
    steps = torch.arange(values.shape[1], device=values.device)
    lengths = lengths.to(values.device)[:, None]
    index = torch.where(steps < lengths, lengths - 1 - steps, steps)
    shape = index.shape + (1,) * (values.dim() - 2)
    return values.gather(1, index.view(shape).expand_as(values))


AttentionKind = Literal["learned", "uniform"]
ATTENTION_KINDS: tuple[str, ...] = ("learned", "uniform")


class BiLSTMAttentionClassifier(nn.Module):
    """Embedding, one-layer BiLSTM, additive attention, linear output."""

    config: dict[str, Any]
    architecture = "bilstm_attention"

    def __init__(
        self,
        *,
        vocab_size: int,
        num_labels: int,
        embedding_dim: int = 64,
        hidden_dim: int = 64,
        attention_dim: int | None = None,
        pair: bool = False,
        dropout: float = 0.1,
        attention: AttentionKind = "learned",
    ) -> None:
        """Create the layers; ``attention_dim`` defaults to ``hidden_dim``.

        ``attention`` is ``"learned"`` (additive attention) or ``"uniform"`` (frozen to
        1/length over the real tokens; see the module docstring).
        """
        super().__init__()
        if attention not in ATTENTION_KINDS:
            raise ValueError(
                f"attention must be one of {', '.join(ATTENTION_KINDS)}, got {attention!r}"
            )
        attention_dim = attention_dim or hidden_dim
        self.uniform_attention = attention == "uniform"
        self.pair = pair
        self.hidden_dim = hidden_dim
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm_forward = nn.LSTM(embedding_dim, hidden_dim, batch_first=True)
        self.lstm_backward = nn.LSTM(embedding_dim, hidden_dim, batch_first=True)
        self.attention_hidden = nn.Linear(2 * hidden_dim, attention_dim)
        self.attention_query = (
            nn.Linear(2 * hidden_dim, attention_dim, bias=False) if pair else None
        )
        self.attention_vector = nn.Linear(attention_dim, 1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.output_pooled = nn.Linear(2 * hidden_dim, hidden_dim) if pair else None
        self.output_query = nn.Linear(2 * hidden_dim, hidden_dim, bias=False) if pair else None
        self.output = nn.Linear(hidden_dim if pair else 2 * hidden_dim, num_labels)
        if self.uniform_attention:
            self._freeze_attention()

    def _freeze_attention(self) -> None:
        """Zero ``v`` and freeze every attention layer (the uniform-attention baseline)."""
        with torch.no_grad():
            self.attention_vector.weight.zero_()
        layers = [self.attention_hidden, self.attention_vector, self.attention_query]
        for layer in layers:
            if layer is not None:
                layer.requires_grad_(False)

    def embed(self, batch: Batch) -> torch.Tensor:
        """Return the embeddings of the explained tokens, [B, T, E]."""
        return self.embedding(batch.input_ids)

    def encode(self, embeddings: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        """Return the BiLSTM states ``[h_fwd; h_bwd]`` of every position, [B, T, 2H]."""
        forward_states, _ = self.lstm_forward(embeddings)
        reversed_states, _ = self.lstm_backward(reverse_within_length(embeddings, lengths))
        backward_states = reverse_within_length(reversed_states, lengths)
        return torch.cat([forward_states, backward_states], dim=-1)

    def encode_query(self, batch: Batch) -> torch.Tensor | None:
        """Return the query ``q`` of a pair batch, [B, 2H], or None for single texts.

        ``q`` is the forward state after the context's last token joined with the
        backward state after its first token (zero for an empty context).
        """
        if not self.pair:
            return None
        if batch.context_ids is None or batch.context_mask is None:
            raise ValueError("this model was trained on pairs: the batch needs context_ids")
        lengths = batch.context_mask.sum(dim=1)
        states = self.encode(self.embedding(batch.context_ids), lengths)
        last = (lengths - 1).clamp(min=0)
        rows = torch.arange(states.shape[0], device=states.device)
        hidden = self.hidden_dim
        query = torch.cat([states[rows, last, :hidden], states[:, 0, hidden:]], dim=-1)
        return query * (lengths > 0).to(query.dtype)[:, None]

    def attention_scores(self, states: torch.Tensor, query: torch.Tensor | None) -> torch.Tensor:
        """Return the unnormalised scores ``e_i = v^T tanh(W_h h_i + W_q q)``, [B, T].

        With uniform attention the scores are zeros, whose masked softmax is 1/length.
        """
        if self.uniform_attention:
            return states.new_zeros(states.shape[:2])
        projected = self.attention_hidden(states)
        if self.attention_query is not None and query is not None:
            projected = projected + self.attention_query(query)[:, None, :]
        return self.attention_vector(torch.tanh(projected)).squeeze(-1)

    def attend(
        self, states: torch.Tensor, mask: torch.Tensor, query: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the attention-weighted sum ``c`` [B, 2H] and the weights ``a`` [B, T]."""
        weights = masked_softmax(self.attention_scores(states, query), mask)
        pooled = torch.bmm(weights.unsqueeze(1), states).squeeze(1)
        return pooled, weights

    def classify(self, pooled: torch.Tensor, query: torch.Tensor | None) -> torch.Tensor:
        """Return the logits ``W_o c + b_o``, or ``W_o tanh(W_c c + W_p q + b) + b_o`` for pairs."""
        if self.output_pooled is None or self.output_query is None or query is None:
            return self.output(self.dropout(pooled))
        hidden = torch.tanh(self.output_pooled(pooled) + self.output_query(query))
        return self.output(self.dropout(hidden))

    def forward_embeddings(self, embeddings: torch.Tensor, batch: Batch) -> ClassifierOutput:
        """Run the model on given embeddings of the explained tokens (gradient methods)."""
        states = self.encode(embeddings, batch.lengths)
        query = self.encode_query(batch)
        pooled, weights = self.attend(states, batch.mask, query)
        return ClassifierOutput(logits=self.classify(pooled, query), attention=weights)

    def forward(self, batch: Batch) -> ClassifierOutput:
        """Classify a batch."""
        return self.forward_embeddings(self.embed(batch), batch)
