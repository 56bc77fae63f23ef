"""A small transformer encoder classifier that exposes every layer's attention.

A CLS vector is prepended to the explained tokens and its final state is
classified (Devlin et al. 2019). Layers are pre-LayerNorm (Xiong et al. 2020:
stable training without warm-up, which matters for a model trained in seconds).
For pair tasks the sequence is ``[CLS] text_b [SEP] text`` with segment
embeddings; the context's positions restart after SEP, so no position depends on
how much padding a batch holds and an instance gets the same output in any batch.
"""

import math
from typing import Any

import torch
from torch import nn

from explanations.compute.architectures.output import ClassifierOutput
from explanations.compute.batching import Batch


class EncoderLayer(nn.Module):
    """Pre-LN multi-head self-attention and feed-forward block returning its attention."""

    def __init__(self, model_dim: int, num_heads: int, ffn_dim: int, dropout: float) -> None:
        """Create the projections; ``model_dim`` must be divisible by ``num_heads``."""
        super().__init__()
        if model_dim % num_heads:
            raise ValueError(f"embedding_dim {model_dim} is not divisible by num_heads {num_heads}")
        self.num_heads = num_heads
        self.norm_attention = nn.LayerNorm(model_dim)
        self.qkv = nn.Linear(model_dim, 3 * model_dim)
        self.attention_output = nn.Linear(model_dim, model_dim)
        self.norm_ffn = nn.LayerNorm(model_dim)
        self.ffn = nn.Sequential(
            nn.Linear(model_dim, ffn_dim), nn.GELU(), nn.Linear(ffn_dim, model_dim)
        )
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, hidden: torch.Tensor, key_mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the new states [B, S, D] and the attention maps [B, heads, S, S].

        ``softmax(Q K^T / sqrt(d_head))`` over the unmasked keys (Vaswani et al. 2017).
        """
        batch, length, dim = hidden.shape
        head_dim = dim // self.num_heads
        qkv = self.qkv(self.norm_attention(hidden))
        qkv = qkv.view(batch, length, 3, self.num_heads, head_dim).permute(2, 0, 3, 1, 4)
        query, key, value = qkv[0], qkv[1], qkv[2]
        scores = query @ key.transpose(-1, -2) / math.sqrt(head_dim)
        scores = scores.masked_fill(~key_mask[:, None, None, :], torch.finfo(scores.dtype).min)
        attention = torch.softmax(scores, dim=-1)
        mixed = (self.dropout(attention) @ value).transpose(1, 2).reshape(batch, length, dim)
        hidden = hidden + self.dropout(self.attention_output(mixed))
        hidden = hidden + self.dropout(self.ffn(self.norm_ffn(hidden)))
        return hidden, attention


class TransformerClassifier(nn.Module):
    """Token and position embeddings, pre-LN encoder layers, CLS pooling, linear output."""

    config: dict[str, Any]
    architecture = "transformer"

    def __init__(
        self,
        *,
        vocab_size: int,
        num_labels: int,
        embedding_dim: int = 64,
        hidden_dim: int = 64,
        num_layers: int = 2,
        num_heads: int = 4,
        max_length: int = 256,
        pair: bool = False,
        dropout: float = 0.1,
    ) -> None:
        """Create the layers; ``hidden_dim`` is the feed-forward inner size."""
        super().__init__()
        self.pair = pair
        self.max_length = max_length
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.position = nn.Embedding(max_length + 1, embedding_dim)
        self.segment = nn.Embedding(2, embedding_dim) if pair else None
        self.cls = nn.Parameter(torch.randn(embedding_dim) * 0.02)
        self.sep = nn.Parameter(torch.randn(embedding_dim) * 0.02) if pair else None
        nn.init.normal_(self.position.weight, std=0.02)
        if self.segment is not None:
            nn.init.normal_(self.segment.weight, std=0.02)
        self.layers = nn.ModuleList(
            EncoderLayer(embedding_dim, num_heads, hidden_dim, dropout) for _ in range(num_layers)
        )
        self.final_norm = nn.LayerNorm(embedding_dim)
        self.dropout = nn.Dropout(dropout)
        self.output = nn.Linear(embedding_dim, num_labels)

    def embed(self, batch: Batch) -> torch.Tensor:
        """Return the token embeddings of the explained tokens, [B, T, E] (no positions)."""
        return self.embedding(batch.input_ids)

    def _check_length(self, length: int, what: str) -> None:
        if length > self.max_length:
            raise ValueError(
                f"{what} has {length} tokens but this transformer takes at most "
                f"max_length={self.max_length}"
            )

    def _sequence(
        self, embeddings: torch.Tensor, batch: Batch
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the full input ``[CLS] x ([SEP] context)`` [B, S, D] and its key mask."""
        size, length, _ = embeddings.shape
        self._check_length(length, "a sequence")
        positions = self.position.weight
        head = (self.cls + positions[0]).expand(size, 1, -1)
        body = embeddings + positions[1 : length + 1]
        parts = [head, body]
        masks = [torch.ones(size, 1, dtype=torch.bool, device=embeddings.device), batch.mask]
        if self.pair:
            if batch.context_ids is None or batch.context_mask is None:
                raise ValueError("this model was trained on pairs: the batch needs context_ids")
            assert self.segment is not None
            assert self.sep is not None
            context_length = batch.context_ids.shape[1]
            self._check_length(context_length, "a context")
            first, second = self.segment.weight[0], self.segment.weight[1]
            parts = [head + first, body + first]
            parts.append((self.sep + positions[0] + second).expand(size, 1, -1))
            parts.append(
                self.embedding(batch.context_ids) + positions[1 : context_length + 1] + second
            )
            masks += [masks[0], batch.context_mask]
        return torch.cat(parts, dim=1), torch.cat(masks, dim=1)

    def forward_embeddings(self, embeddings: torch.Tensor, batch: Batch) -> ClassifierOutput:
        """Run the model on given token embeddings of the explained tokens."""
        hidden, key_mask = self._sequence(embeddings, batch)
        maps: list[torch.Tensor] = []
        for layer in self.layers:
            hidden, attention = layer(hidden, key_mask)
            maps.append(attention)
        pooled = self.final_norm(hidden[:, 0])
        logits = self.output(self.dropout(pooled))
        length = embeddings.shape[1]
        cls_attention = maps[-1][:, :, 0, 1 : length + 1].mean(dim=1)
        return ClassifierOutput(logits=logits, attention=cls_attention, layer_attentions=maps)

    def forward(self, batch: Batch) -> ClassifierOutput:
        """Classify a batch."""
        return self.forward_embeddings(self.embed(batch), batch)


__all__ = ["EncoderLayer", "TransformerClassifier"]
