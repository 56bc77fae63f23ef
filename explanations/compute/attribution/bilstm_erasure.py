"""Occlusion and omission for the BiLSTM, recomputing only the states that change.

Exact, not approximate. Erasing token i (zeroing its embedding, or deleting it)
leaves the forward LSTM's states before i and the backward LSTM's states after i
as they were. Each variant therefore restarts the forward direction at step i
from the original state ``(h_{i-1}, c_{i-1})`` and the backward direction at its
own step ``n - 1 - i``, and runs only to the end; about half the recurrent work of
running every variant from scratch. The input projections ``W_ih x_t + b`` are
computed once per sequence and shared by its variants (an occluded step's is just
the bias). Then every variant goes through the attention and output layers.

All variants of all sequences in a chunk advance together, step by step: sorted
by their restart step, the variants still running at step t are a prefix of the
rows, so each step is one batched matrix product over both directions.
"""

from collections.abc import Mapping
from typing import Any

import torch

from explanations.compute.architectures import BiLSTMAttentionClassifier, reverse_within_length
from explanations.compute.attribution.erasure import target_probability
from explanations.compute.attribution.recurrence import LSTMWeights
from explanations.compute.attribution.result import (
    Attribution,
    chunk_targets,
    collect,
    finished,
    per_instance,
)
from explanations.compute.batching import Batch

VARIANT_TOKENS = 1024
MAX_INSTANCES = 64


class StackedCell:
    """Both LSTM directions' weights, gate rows reordered to (i, f, o, g)."""

    def __init__(self, model: BiLSTMAttentionClassifier) -> None:
        """Copy the weights of ``model.lstm_forward`` and ``model.lstm_backward``."""
        lstms = [LSTMWeights.of(model.lstm_forward), LSTMWeights.of(model.lstm_backward)]
        hidden = model.lstm_forward.hidden_size
        order = torch.cat(
            [
                torch.arange(0, 2 * hidden),
                torch.arange(3 * hidden, 4 * hidden),
                torch.arange(2 * hidden, 3 * hidden),
            ]
        )
        self.hidden = hidden
        self.weight_input = torch.stack([w.weight_ih.detach()[order] for w in lstms])
        self.weight_hidden_t = torch.stack([w.weight_hh.detach()[order].T for w in lstms])
        self.weight_hidden_t = self.weight_hidden_t.contiguous()
        self.bias = torch.stack([w.bias.detach()[order] for w in lstms])

    def project(self, inputs: torch.Tensor) -> torch.Tensor:
        """Return ``W_ih x + b`` time-major [T, 2, B, 4H] for direction-wise inputs [2, B, T, E]."""
        directions, size, length, embed = inputs.shape
        flat = torch.baddbmm(
            self.bias[:, None, :],
            inputs.reshape(directions, size * length, embed),
            self.weight_input.transpose(1, 2),
        )
        return flat.view(directions, size, length, -1).permute(2, 0, 1, 3).contiguous()

    def step(
        self, projected: torch.Tensor, hidden: torch.Tensor, cell: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Return the next ``(h, c)`` [2, R, H] from inputs [2, R, 4H] and states [2, R, H]."""
        size = self.hidden
        gates = torch.baddbmm(projected, hidden, self.weight_hidden_t)
        sigmoid = torch.sigmoid(gates[..., : 3 * size])
        candidate = torch.tanh(gates[..., 3 * size :])
        cell = torch.addcmul(sigmoid[..., size : 2 * size] * cell, sigmoid[..., :size], candidate)
        hidden = sigmoid[..., 2 * size :] * torch.tanh(cell)
        return hidden, cell


def _original(cell: StackedCell, projected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run both directions over all steps; return every hidden and cell state [T, 2, B, H]."""
    length, directions, size, _ = projected.shape
    hidden = projected.new_zeros(directions, size, cell.hidden)
    state = torch.zeros_like(hidden)
    hiddens = projected.new_empty(length, directions, size, cell.hidden)
    cells = torch.empty_like(hiddens)
    for step in range(length):
        hidden, state = cell.step(projected[step], hidden, state)
        hiddens[step], cells[step] = hidden, state
    return hiddens, cells


def _variant_states(
    cell: StackedCell,
    projected: torch.Tensor,
    hiddens: torch.Tensor,
    cells: torch.Tensor,
    instance: torch.Tensor,
    start: torch.Tensor,
    omit: bool,
) -> torch.Tensor:
    """Return the hidden states [T', 2, R, H] of every variant, in each direction's row order.

    ``instance`` [2, R] and ``start`` [R] (ascending) give each row's sequence and
    the step where it departs from the original run, in that direction's layout.
    """
    length = projected.shape[0]
    steps = length - 1 if omit else length
    directions = torch.arange(2)[:, None]
    previous = (start - 1).clamp(min=0)[None, :]
    started = (start > 0).to(projected.dtype)[None, :, None]
    hidden = (hiddens[previous, directions, instance] * started).contiguous()
    state = (cells[previous, directions, instance] * started).contiguous()
    outputs = hiddens[: max(steps, 1), directions, instance].clone()
    active = torch.searchsorted(start, torch.arange(max(steps, 1)), right=True).tolist()
    before = 0
    for step in range(steps):
        count = active[step]
        if count:
            source = projected[step + 1] if omit else projected[step]
            inputs = source[directions, instance[:, :count]]
            if not omit and count > before:
                inputs[:, before:count] = cell.bias[:, None, :]
            new_hidden, new_state = cell.step(inputs, hidden[:, :count], state[:, :count])
            hidden[:, :count], state[:, :count] = new_hidden, new_state
            outputs[step, :, :count] = new_hidden
        before = count
    return outputs


def erasure_scores(
    model: BiLSTMAttentionClassifier,
    batch: Batch,
    targets: torch.Tensor | None,
    params: Mapping[str, Any],
    *,
    omit: bool,
) -> list[Attribution]:
    """Return occlusion (``omit=False``) or omission scores of the BiLSTM attention model."""
    del params
    cell = StackedCell(model)
    slots, put = collect(batch.size)
    with torch.no_grad():
        for indices, sub in batch.chunks_by_length(MAX_INSTANCES, max_tokens=VARIANT_TOKENS):
            lengths = sub.lengths
            embeddings = model.embed(sub)
            projected = cell.project(
                torch.stack([embeddings, reverse_within_length(embeddings, lengths)])
            )
            hiddens, cells = _original(cell, projected)
            query = model.encode_query(sub)
            states = torch.cat(
                [
                    hiddens[:, 0],
                    reverse_within_length(hiddens[:, 1].transpose(0, 1), lengths).transpose(0, 1),
                ],
                dim=-1,
            )
            pooled, _ = model.attend(states.transpose(0, 1), sub.mask, query)
            logits = model.classify(pooled, query)
            chosen = chunk_targets(targets, indices, logits)
            original = target_probability(logits, chosen)
            scores = torch.zeros(sub.input_ids.shape, dtype=logits.dtype)
            position, instance = sub.mask.T.nonzero(as_tuple=True)
            if len(instance):
                backward_start = lengths[instance] - 1 - position
                backward_order = torch.sort(backward_start, stable=True).indices
                rows = torch.stack([instance, instance[backward_order]])
                outputs = _variant_states(cell, projected, hiddens, cells, rows, position, omit)
                restore = torch.argsort(backward_order)
                variant_lengths = lengths[instance] - int(omit)
                forward_states = outputs[:, 0].transpose(0, 1)
                backward_states = reverse_within_length(
                    outputs[:, 1][:, restore].transpose(0, 1), variant_lengths
                )
                variant_mask = torch.arange(outputs.shape[0])[None, :] < variant_lengths[:, None]
                row_query = None if query is None else query[instance]
                pooled, _ = model.attend(
                    torch.cat([forward_states, backward_states], dim=-1), variant_mask, row_query
                )
                erased = target_probability(model.classify(pooled, row_query), chosen[instance])
                scores[instance, position] = original[instance] - erased
            put(indices, list(per_instance(scores, lengths, chosen)))
    return finished(slots)
