"""Attention read off the model: its own weights, and attention rollout for transformers.

* BiLSTM: the additive attention weights ``a_i`` (Jain & Wallace 2019), which sum
  to 1 over the real tokens.
* Transformer ``attention``: the last layer's attention from CLS, averaged over
  heads, at the explained tokens; the rest of that row (on CLS itself, SEP and the
  context) is reported as the extra ``attention_elsewhere``.
* ``attention_rollout`` (Abnar & Zuidema 2020, eq. 1-2): with ``A_l`` layer l's
  head-averaged attention, ``Ahat_l = (1 - r) A_l + r I`` (rows renormalised),
  ``rollout = Ahat_L ... Ahat_1``; the CLS row at the explained tokens. ``r = 0.5``
  as in the paper accounts for the residual connections.
"""

from collections.abc import Mapping
from typing import Any

import torch

from explanations.compute.architectures import Classifier
from explanations.compute.attribution.result import (
    Attribution,
    chunk_targets,
    per_instance,
)
from explanations.compute.attribution.scheduling import attribute_in_chunks
from explanations.compute.batching import Batch

ATTENTION_CHUNK = 128


def rollout(layer_attentions: list[torch.Tensor], residual: float) -> torch.Tensor:
    """Return the attention rollout [B, S, S] of per-layer maps [B, heads, S, S]."""
    first = layer_attentions[0]
    identity = torch.eye(first.shape[-1], dtype=first.dtype, device=first.device)
    result = identity.expand(first.shape[0], -1, -1)
    for attention in layer_attentions:
        mixed = (1.0 - residual) * attention.mean(dim=1) + residual * identity
        mixed = mixed / mixed.sum(dim=-1, keepdim=True)
        result = mixed @ result
    return result


def attention_scores(
    model: Classifier,
    batch: Batch,
    targets: torch.Tensor | None,
    params: Mapping[str, Any],
    *,
    rolled: bool,
) -> list[Attribution]:
    """Return the model's attention (or its rollout) over the explained tokens."""

    @torch.no_grad()
    def chunk(indices: torch.Tensor, sub: Batch) -> list[Attribution]:
        output = model(sub)
        chosen = chunk_targets(targets, indices, output.logits)
        extras: dict[str, torch.Tensor] = {}
        if rolled:
            maps = output.layer_attentions
            assert maps is not None
            width = sub.input_ids.shape[1]
            scores = rollout(maps, params["residual"])[:, 0, 1 : width + 1]
        else:
            scores = output.attention
        if output.layer_attentions is not None:
            extras["attention_elsewhere"] = 1.0 - (scores * sub.mask).sum(dim=1)
        return list(per_instance(scores, sub.lengths, chosen, extras))

    return attribute_in_chunks(batch, ATTENTION_CHUNK, chunk)
