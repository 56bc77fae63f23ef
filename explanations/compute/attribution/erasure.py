"""Erasure methods through explicit variants, for any model.

* occlusion (Bastings & Filippova 2020, eq. 5, in probability space):
  ``p_c(x) - p_c(x with the embedding of token i set to zero)``;
* omission / leave-one-out (Li et al. 2016; Jain & Wallace's LOO):
  ``p_c(x) - p_c(x without token i)``, the sequence one token shorter.

All variants of a sequence go through the model in one batch, several sequences
per chunk, so the model runs once per chunk instead of once per token.
"""

from collections.abc import Mapping
from typing import Any

import torch

from explanations.compute.architectures import Classifier
from explanations.compute.attribution.result import Attribution, chunk_targets, per_instance
from explanations.compute.attribution.scheduling import attribute_in_chunks
from explanations.compute.batching import Batch

VARIANT_ROWS = 512
MAX_INSTANCES = 64


def target_probability(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Return ``softmax(logits)[b, targets[b]]`` for every row."""
    return torch.softmax(logits, dim=-1).gather(1, targets[:, None]).squeeze(1)


def variant_rows(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return (instance, erased position) of every variant: one per real token."""
    instance, position = mask.nonzero(as_tuple=True)
    return instance, position


def occluded_embeddings(
    embeddings: torch.Tensor, instance: torch.Tensor, position: torch.Tensor
) -> torch.Tensor:
    """Return one copy of ``embeddings[instance[r]]`` per row with position ``position[r]`` zeroed."""
    rows = embeddings[instance].clone()
    rows[torch.arange(len(instance), device=rows.device), position] = 0.0
    return rows


def omitted_batch(sub: Batch, instance: torch.Tensor, position: torch.Tensor) -> Batch:
    """Return one sequence per row: ``sub``'s sequence ``instance[r]`` without token ``position[r]``."""
    width = sub.input_ids.shape[1]
    slots = torch.arange(max(width - 1, 1), device=sub.device)
    source = (slots[None, :] + (slots[None, :] >= position[:, None]).long()).clamp(max=width - 1)
    ids = sub.input_ids[instance].gather(1, source)
    lengths = sub.lengths[instance] - 1
    mask = slots[None, :] < lengths[:, None]
    ids = ids.masked_fill(~mask, 0)
    context_ids = sub.context_ids[instance] if sub.context_ids is not None else None
    context_mask = sub.context_mask[instance] if sub.context_mask is not None else None
    return Batch(ids, mask, context_ids, context_mask)


def erasure_scores(
    model: Classifier,
    batch: Batch,
    targets: torch.Tensor | None,
    params: Mapping[str, Any],
    *,
    omit: bool,
) -> list[Attribution]:
    """Return occlusion (``omit=False``) or omission scores of every instance."""
    del params

    @torch.no_grad()
    def chunk(indices: torch.Tensor, sub: Batch) -> list[Attribution]:
        embeddings = model.embed(sub)
        logits = model.forward_embeddings(embeddings, sub).logits
        chosen = chunk_targets(targets, indices, logits)
        original = target_probability(logits, chosen)
        instance, position = variant_rows(sub.mask)
        scores = torch.zeros(sub.input_ids.shape, dtype=logits.dtype, device=logits.device)
        if len(instance):
            if omit:
                variant_logits = model(omitted_batch(sub, instance, position)).logits
            else:
                variant = occluded_embeddings(embeddings, instance, position)
                variant_logits = model.forward_embeddings(variant, sub.select(instance)).logits
            erased = target_probability(variant_logits, chosen[instance])
            scores[instance, position] = original[instance] - erased
        return list(per_instance(scores, sub.lengths, chosen))

    return attribute_in_chunks(batch, MAX_INSTANCES, chunk, max_tokens=VARIANT_ROWS)
