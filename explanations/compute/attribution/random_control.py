"""The random control: seeded scores that carry no information about the model.

Every analysis shows it beside the real methods, as the floor any method must
beat (Adebayo et al. 2018 argue for such controls). Scores are uniform on [0, 1),
drawn from a generator keyed by the seed and the instance's token ids, so an
instance gets the same scores whatever batch or shard it is computed in.
"""

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from explanations.compute.architectures import Classifier
from explanations.compute.attribution.result import Attribution
from explanations.compute.attribution.scheduling import attribute_in_chunks
from explanations.compute.batching import Batch

RANDOM_CHUNK = 128


def instance_generator(
    seed: int, tokens: list[int], context: list[int] | None
) -> np.random.Generator:
    """Return a generator keyed by ``seed`` and the instance's token ids (SHA-256 of both)."""
    digest = hashlib.sha256(repr((seed, tokens, context)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


def random_scores(
    model: Classifier, batch: Batch, targets: torch.Tensor | None, params: Mapping[str, Any]
) -> list[Attribution]:
    """Return seeded uniform scores; the target is still the model's prediction."""

    @torch.no_grad()
    def chunk(indices: torch.Tensor, sub: Batch) -> list[Attribution]:
        chosen = targets[indices] if targets is not None else model(sub).logits.argmax(dim=1)
        results = []
        for row, target in enumerate(chosen.tolist()):
            length = int(sub.lengths[row])
            tokens = sub.input_ids[row, :length].tolist()
            context = None
            if sub.context_ids is not None and sub.context_mask is not None:
                context = sub.context_ids[row, : int(sub.context_mask[row].sum())].tolist()
            scores = instance_generator(params["seed"], tokens, context).random(length)
            results.append(Attribution(scores=scores, target=int(target)))
        return results

    return attribute_in_chunks(batch, RANDOM_CHUNK, chunk)
