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

from explanations.compute.architectures import (
    BiLSTMAttentionClassifier,
    reverse_within_length,
)
from explanations.compute.attribution.bilstm_layers import Readout, StackedCell
from explanations.compute.attribution.erasure import target_probability
from explanations.compute.attribution.result import Attribution, chunk_targets, per_instance
from explanations.compute.attribution.scheduling import attribute_in_chunks
from explanations.compute.batching import Batch

VARIANT_TOKENS = 1024
MAX_INSTANCES = 64


def _original(cell: StackedCell, projected: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Run both directions over all steps; return every hidden and cell state [2, T, B, H]."""
    length, directions, size, _ = projected.shape
    hiddens = projected.new_empty(directions, length, size, cell.hidden)
    cells = torch.empty_like(hiddens)
    state = projected.new_zeros(directions, size, cell.hidden)
    for step in range(length):
        previous = hiddens[:, step - 1] if step else None
        cell.step(projected[step], previous, state, hiddens[:, step])
        cells[:, step] = state
    return hiddens, cells


def _gather_states(states: torch.Tensor, step: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
    """Return ``states[d, step[d, ...], row[d, ...]]`` for both directions (one index_select)."""
    directions, length, size, hidden = states.shape
    offset = torch.arange(directions, device=step.device).view(-1, *([1] * (step.dim() - 1))) * (
        length * size
    )
    flat = (offset + step * size + row).reshape(-1)
    return torch.index_select(states.view(-1, hidden), 0, flat).view(*step.shape, hidden)


def _variant_states(
    cell: StackedCell,
    projected: torch.Tensor,
    hiddens: torch.Tensor,
    cells: torch.Tensor,
    instance: torch.Tensor,
    start: torch.Tensor,
    omit: bool,
) -> torch.Tensor:
    """Return the hidden states [2, T', R, H] of every variant, in each direction's row order.

    ``instance`` [2, R] and ``start`` [R] (ascending) give each row's sequence and
    the step where it departs from the original run, in that direction's layout.
    The output starts as a copy of the original states; a row's entries are
    overwritten from its start step on, so the state a row restarts from is the
    entry just before its start, already in place.
    """
    length, _, size, _ = projected.shape
    steps = length - 1 if omit else length
    rows = instance.shape[1]
    started = (start > 0).to(projected.dtype)[None, :, None]
    previous = (start - 1).clamp(min=0)[None, :].expand(2, -1)
    state = _gather_states(cells, previous, instance) * started
    device = projected.device
    times = torch.arange(max(steps, 1), device=device)[None, :, None].expand(2, -1, rows)
    outputs = _gather_states(hiddens, times, instance[:, None, :].expand(-1, times.shape[1], -1))
    flat_inputs = projected.view(length, 2 * size, -1)
    flat_index = instance + torch.arange(2, device=device)[:, None] * size
    step_numbers = torch.arange(max(steps, 1), device=device)
    active = torch.searchsorted(start, step_numbers, right=True).tolist()
    before = 0
    for step in range(steps):
        count = active[step]
        if count:
            source = flat_inputs[step + 1] if omit else flat_inputs[step]
            index = flat_index[:, :count].reshape(-1)
            inputs = torch.index_select(source, 0, index).view(2, count, -1)
            if not omit and count > before:
                inputs[:, before:count] = cell.bias[:, None, :]
            hidden = outputs[:, step - 1, :count] if step else None
            cell.step(inputs, hidden, state[:, :count], outputs[:, step, :count])
        before = count
    return outputs


def _aligned_backward(
    states: torch.Tensor, lengths: torch.Tensor, rows: torch.Tensor | None = None
) -> torch.Tensor:
    """Return the backward direction [T, R, H] in original token order, rows in canonical order.

    ``states`` is [2, T, R', H] with the backward direction reversed within each
    row's length; ``rows[r]`` says which of its rows holds canonical row r.
    """
    _, length, size, hidden = states.shape
    times = torch.arange(length, device=states.device)[:, None]
    source_time = torch.where(times < lengths[None, :], lengths[None, :] - 1 - times, times)
    source_row = torch.arange(size, device=states.device) if rows is None else rows
    flat = (length * size + source_time * size + source_row[None, :]).reshape(-1)
    return torch.index_select(states.view(-1, hidden), 0, flat).view(length, -1, hidden)


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
    readout = Readout(model)

    @torch.no_grad()
    def chunk(indices: torch.Tensor, sub: Batch) -> list[Attribution]:
        lengths = sub.lengths
        embeddings = model.embed(sub)
        projected = cell.project(
            torch.stack([embeddings, reverse_within_length(embeddings, lengths)])
        )
        hiddens, cells = _original(cell, projected)
        query = model.encode_query(sub)
        logits = readout.logits(hiddens[0], _aligned_backward(hiddens, lengths), sub.mask.T, query)
        chosen = chunk_targets(targets, indices, logits)
        original = target_probability(logits, chosen)
        scores = torch.zeros(sub.input_ids.shape, dtype=logits.dtype, device=logits.device)
        position, instance = sub.mask.T.nonzero(as_tuple=True)
        if len(instance):
            backward_start = lengths[instance] - 1 - position
            backward_order = torch.sort(backward_start, stable=True).indices
            rows = torch.stack([instance, instance[backward_order]])
            outputs = _variant_states(cell, projected, hiddens, cells, rows, position, omit)
            variant_lengths = lengths[instance] - int(omit)
            backward = _aligned_backward(outputs, variant_lengths, torch.argsort(backward_order))
            steps = torch.arange(outputs.shape[1], device=outputs.device)
            variant_mask = steps[:, None] < variant_lengths[None, :]
            row_query = None if query is None else query[instance]
            erased_logits = readout.logits(outputs[0], backward, variant_mask, row_query)
            erased = target_probability(erased_logits, chosen[instance])
            scores[instance, position] = original[instance] - erased
        return list(per_instance(scores, lengths, chosen))

    return attribute_in_chunks(batch, MAX_INSTANCES, chunk, max_tokens=VARIANT_TOKENS)
