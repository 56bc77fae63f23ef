"""A twin of a classifier whose last encoder layer is computed for the first token only.

Every encoder classifier Elephant accepts reads one vector: the last layer's first
token (``[CLS]``, ``<s>``), through BERT's pooler or RoBERTa's and ELECTRA's head. The
other positions of the last layer feed nothing: their queries, attention outputs and
feed-forward blocks are wasted work in every pass. In that layer the first token
still attends to every position, so its keys and values are computed for all of
them; its query, its attention output and its feed-forward block for the first token
alone. For a layer of hidden size h and feed-forward size 4h that is about 2/12 of the
layer's matrix products (the key and value projections); on the 4-layer benchmark
model a pass does about a fifth less work, forward and backward.

The twin shares every parameter with the model (nothing is copied, the model is not
changed): the modules on the path from the model to its layer list are shallow copies
with their own child table, and the last layer is wrapped. Attention maps are read
from the model itself, since the twin's last layer returns none.

Only the layer structure of BERT and its descendants (RoBERTa, XLM-R, CamemBERT,
ELECTRA) with absolute positions is recognised; any other model is used as it is.
"""

import copy
from typing import Any

import torch
from torch import nn


class FirstTokenLayer(nn.Module):
    """A BERT-style layer whose output is the first position's only, ``[B, 1, H]``."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        # Any: its children (attention.self.query, ...) are reached by name, checked by
        # _bert_like before the wrapper is built.
        self.layer: Any = layer

    def forward(
        self,
        hidden_states: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *args: Any,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Return the layer's output at the first position (eval mode: no dropout)."""
        attention = self.layer.attention
        own = attention.self
        size, length, _ = hidden_states.shape
        heads, width = own.num_attention_heads, own.attention_head_size
        first = hidden_states[:, :1]
        query = own.query(first).view(size, 1, heads, width).transpose(1, 2)
        key = own.key(hidden_states).view(size, length, heads, width).transpose(1, 2)
        value = own.value(hidden_states).view(size, length, heads, width).transpose(1, 2)
        scores = torch.matmul(query, key.transpose(2, 3)) * own.scaling
        if attention_mask is not None:
            row = attention_mask[..., :1, :]
            if row.dtype == torch.bool:
                scores = scores.masked_fill(~row, torch.finfo(scores.dtype).min)
            else:
                scores = scores + row
        weights = torch.softmax(scores, dim=-1)
        context = torch.matmul(weights, value).transpose(1, 2).reshape(size, 1, heads * width)
        attended = attention.output(context, first)
        return self.layer.output(self.layer.intermediate(attended), attended)


def _bert_like(layer: nn.Module, config: Any) -> bool:
    """Return whether ``layer`` is a BERT-style encoder layer this module can shorten."""
    own = getattr(getattr(layer, "attention", None), "self", None)
    return (
        own is not None
        and all(hasattr(own, name) for name in ("query", "key", "value", "scaling"))
        and hasattr(layer.attention, "output")
        and hasattr(layer, "intermediate")
        and hasattr(layer, "output")
        and not getattr(config, "is_decoder", False)
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
    )


def _with_children(module: nn.Module, **children: nn.Module) -> nn.Module:
    """Return a shallow copy of ``module`` sharing everything but the named children."""
    twin = copy.copy(module)
    twin._modules = dict(module._modules)
    twin._modules.update(children)
    return twin


def first_token_twin(model: nn.Module) -> nn.Module | None:
    """Return the model's first-token twin, or None when its structure is not recognised."""
    prefix = getattr(model, "base_model_prefix", "")
    base = getattr(model, prefix, None) if prefix else None
    encoder = getattr(base, "encoder", None)
    layers = getattr(encoder, "layer", None)
    config = getattr(model, "config", None)
    if not isinstance(layers, nn.ModuleList) or len(layers) == 0:
        return None
    if not _bert_like(layers[-1], config):
        return None
    assert isinstance(base, nn.Module)
    assert isinstance(encoder, nn.Module)
    shortened = nn.ModuleList([*layers[:-1], FirstTokenLayer(layers[-1])])
    return _with_children(
        model, **{prefix: _with_children(base, encoder=_with_children(encoder, layer=shortened))}
    )
