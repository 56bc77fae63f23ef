"""The result of one attribution: one score per real token, the target, and extras."""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from explanations.compute.batching import Batch


@dataclass
class Attribution:
    """Scores (float64, one per real token of the explained sequence), target class, extras.

    ``extras`` holds method-specific numbers stored with the explanation, e.g.
    ``completeness_gap``, ``f_x`` and ``f_baseline`` for integrated gradients.
    """

    scores: np.ndarray
    target: int
    extras: dict[str, float] = field(default_factory=dict)


def resolve_targets(
    targets: Sequence[int] | None, batch: Batch, num_labels: int
) -> torch.Tensor | None:
    """Check caller-given target classes; return them as a LongTensor [B] on the batch's device."""
    if targets is None:
        return None
    resolved = torch.as_tensor(list(targets), dtype=torch.long, device=batch.device)
    if resolved.shape != (batch.size,):
        raise ValueError(f"{len(resolved)} targets for a batch of {batch.size} instances")
    if len(resolved) and (int(resolved.min()) < 0 or int(resolved.max()) >= num_labels):
        raise ValueError(f"targets must be class indices in 0..{num_labels - 1}")
    return resolved


def chunk_targets(
    targets: torch.Tensor | None, indices: torch.Tensor, logits: torch.Tensor
) -> torch.Tensor:
    """Return the targets of a chunk: the given ones, or the predicted class of ``logits``."""
    if targets is not None:
        return targets[indices]
    return logits.detach().argmax(dim=1)


def per_instance(
    scores: torch.Tensor,
    lengths: torch.Tensor,
    targets: torch.Tensor,
    extras: Mapping[str, torch.Tensor] | None = None,
) -> Iterator[Attribution]:
    """Split a padded score matrix [B, T] into :class:`Attribution` objects."""
    values = scores.detach().to(torch.float64).cpu().numpy()
    extra_values = {
        key: value.detach().to(torch.float64).cpu().tolist()
        for key, value in (extras or {}).items()
    }
    for row, (length, target) in enumerate(zip(lengths.tolist(), targets.tolist(), strict=True)):
        yield Attribution(
            scores=values[row, :length].copy(),
            target=int(target),
            extras={key: float(value[row]) for key, value in extra_values.items()},
        )
