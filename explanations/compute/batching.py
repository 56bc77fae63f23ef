"""Padded batches of token ids, the one input type of every model and method.

A batch holds the *explained* sequences (right-padded with the PAD id 0) and, for
pair tasks, the first text of each pair (the context that forms the attention
query). Sub-batches sorted by length cut the work spent on padding: a recurrent
model runs every padded step, so grouping sequences of similar length is the
cheapest speed-up there is.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

PAD_INDEX = 0


@dataclass(frozen=True)
class Batch:
    """Explained sequences ``input_ids`` [B, T] with their mask, plus optional contexts."""

    input_ids: torch.Tensor
    mask: torch.Tensor
    context_ids: torch.Tensor | None = None
    context_mask: torch.Tensor | None = None

    def __post_init__(self) -> None:
        """Check shapes and types so that a malformed batch fails here, not deep in a model."""
        if self.input_ids.dim() != 2 or self.input_ids.shape != self.mask.shape:
            raise ValueError(
                f"input_ids {tuple(self.input_ids.shape)} and mask {tuple(self.mask.shape)} "
                "must be equal [batch, length] shapes"
            )
        if self.mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool tensor, got {self.mask.dtype}")
        if (self.context_ids is None) != (self.context_mask is None):
            raise ValueError("context_ids and context_mask go together")
        if (
            self.context_ids is not None
            and self.context_mask is not None
            and (
                self.context_ids.shape != self.context_mask.shape
                or self.context_ids.shape[0] != self.input_ids.shape[0]
            )
        ):
            raise ValueError(
                f"context_ids {tuple(self.context_ids.shape)} must match context_mask "
                f"{tuple(self.context_mask.shape)} and the batch size {self.input_ids.shape[0]}"
            )

    @property
    def lengths(self) -> torch.Tensor:
        """Return the number of real tokens of each explained sequence, [B] int64."""
        return self.mask.sum(dim=1)

    @property
    def size(self) -> int:
        """Return the number of instances."""
        return int(self.input_ids.shape[0])

    @property
    def device(self) -> torch.device:
        """Return the device the batch's tensors are on."""
        return self.input_ids.device

    def to(self, device: torch.device | str) -> "Batch":
        """Return this batch with every tensor, contexts included, on ``device``."""
        target = torch.device(device)
        return Batch(
            self.input_ids.to(target),
            self.mask.to(target),
            None if self.context_ids is None else self.context_ids.to(target),
            None if self.context_mask is None else self.context_mask.to(target),
        )

    def select(self, indices: torch.Tensor) -> "Batch":
        """Return the instances at ``indices``, padding trimmed to their longest sequence."""
        mask = self.mask[indices]
        width = max(1, int(mask.sum(dim=1).max().item())) if len(indices) else 1
        context_ids = context_mask = None
        if self.context_ids is not None and self.context_mask is not None:
            context_mask = self.context_mask[indices]
            context_width = max(1, int(context_mask.sum(dim=1).max().item())) if len(indices) else 1
            context_ids = self.context_ids[indices, :context_width]
            context_mask = context_mask[:, :context_width]
        return Batch(self.input_ids[indices, :width], mask[:, :width], context_ids, context_mask)

    def chunks_by_length(
        self, size: int, *, max_tokens: int | None = None
    ) -> Iterator[tuple[torch.Tensor, "Batch"]]:
        """Yield ``(indices, sub-batch)`` pairs of at most ``size`` instances, longest first.

        With ``max_tokens``, a chunk also stops growing once its instances times its
        longest length would pass that many tokens (short sequences then share a
        chunk with more of their kind). Each sub-batch is trimmed to its own longest
        sequence; ``indices`` say where its rows sit in this batch, so results can
        be put back in order.
        """
        if size < 1:
            raise ValueError(f"chunk size must be positive, got {size}")
        lengths = self.lengths
        order = torch.sort(lengths, descending=True, stable=True).indices
        sorted_lengths = lengths[order].tolist()
        start = 0
        while start < len(order):
            stop = min(start + size, len(order))
            if max_tokens is not None:
                width = max(1, sorted_lengths[start])
                stop = min(stop, start + max(1, max_tokens // width))
            indices = order[start:stop]
            yield indices, self.select(indices)
            start = stop


def _pad(seqs: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max([1, *(len(seq) for seq in seqs)])
    ids = torch.full((len(seqs), width), PAD_INDEX, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.bool)
    for row, seq in enumerate(seqs):
        if len(seq):
            ids[row, : len(seq)] = torch.as_tensor(list(seq), dtype=torch.long)
            mask[row, : len(seq)] = True
    return ids, mask


def make_batch(
    seqs: Sequence[Sequence[int]], contexts: Sequence[Sequence[int]] | None = None
) -> Batch:
    """Pad token-id sequences (and pair contexts) into a :class:`Batch`.

    Empty sequences are allowed (an instance whose tokens were all deleted); the
    padded width is at least one so that every model sees a non-empty tensor.
    """
    if not seqs:
        raise ValueError("a batch needs at least one sequence")
    ids, mask = _pad(seqs)
    if contexts is None:
        return Batch(ids, mask)
    if len(contexts) != len(seqs):
        raise ValueError(f"{len(contexts)} contexts for {len(seqs)} sequences")
    context_ids, context_mask = _pad(contexts)
    return Batch(ids, mask, context_ids, context_mask)
