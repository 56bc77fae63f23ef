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
    masked_softmax,
    reverse_within_length,
)
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
    """Both LSTM directions' weights, arranged for a fast step loop.

    Gate rows are reordered to (i, f, o, g) and the g rows doubled, so that one
    sigmoid serves all four gates: ``tanh(z) = 2 sigmoid(2 z) - 1``. (PyTorch's
    float32 ``tanh`` on CPU is about ten times slower than its ``sigmoid``
    (measured); the identity costs at most 2e-7 in absolute rounding error.)
    """

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
        scale = torch.ones(4 * hidden)
        scale[3 * hidden :] = 2.0
        self.hidden = hidden
        self.weight_input = torch.stack(
            [w.weight_ih.detach()[order] * scale[:, None] for w in lstms]
        )
        self.weight_hidden_t = torch.stack(
            [(w.weight_hh.detach()[order] * scale[:, None]).T for w in lstms]
        ).contiguous()
        self.bias = torch.stack([w.bias.detach()[order] * scale for w in lstms])

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
        self,
        inputs: torch.Tensor,
        hidden: torch.Tensor | None,
        cell: torch.Tensor,
        out: torch.Tensor,
    ) -> None:
        """Advance one step: ``cell`` [2, R, H] is updated in place, ``h`` written to ``out``.

        ``inputs`` [2, R, 4H] are the projected inputs; ``hidden`` the previous
        hidden states (None for zero states).
        """
        size = self.hidden
        gates = inputs if hidden is None else torch.baddbmm(inputs, hidden, self.weight_hidden_t)
        gates = torch.sigmoid(gates)
        candidate = gates[..., 3 * size :].mul_(2.0).sub_(1.0)
        cell.mul_(gates[..., size : 2 * size]).addcmul_(gates[..., :size], candidate)
        squashed = torch.sigmoid(cell * 2.0).mul_(2.0).sub_(1.0)
        torch.mul(gates[..., 2 * size : 3 * size], squashed, out=out)


def fast_tanh(values: torch.Tensor) -> torch.Tensor:
    """Return ``tanh`` as ``2 sigmoid(2 x) - 1`` (see :class:`StackedCell`), in a new tensor."""
    return torch.sigmoid(values * 2.0).mul_(2.0).sub_(1.0)


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
    offset = torch.arange(directions).view(-1, *([1] * (step.dim() - 1))) * (length * size)
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
    times = torch.arange(max(steps, 1))[None, :, None].expand(2, -1, rows)
    outputs = _gather_states(hiddens, times, instance[:, None, :].expand(-1, times.shape[1], -1))
    flat_inputs = projected.view(length, 2 * size, -1)
    flat_index = instance + torch.arange(2)[:, None] * size
    active = torch.searchsorted(start, torch.arange(max(steps, 1)), right=True).tolist()
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


class Readout:
    """The model's attention and output layers on time-major states, without copying them.

    The same arithmetic as :meth:`BiLSTMAttentionClassifier.attend` and
    ``classify`` (``e = v^T tanh(W_h [h_f; h_b] + b + W_q q)``, masked softmax,
    ``c = sum_t a_t [h_f; h_b]_t``), with ``W_h`` split by direction so that the two
    halves of the states never need concatenating.
    """

    def __init__(self, model: BiLSTMAttentionClassifier) -> None:
        """Take the attention weights of ``model``."""
        hidden = model.lstm_forward.hidden_size
        weight = model.attention_hidden.weight.detach()
        self.model = model
        self.forward_weight = weight[:, :hidden].T.contiguous()
        self.backward_weight = weight[:, hidden:].T.contiguous()
        self.bias = model.attention_hidden.bias.detach()
        self.vector = model.attention_vector.weight.detach()[0]

    def logits(
        self,
        forward: torch.Tensor,
        backward: torch.Tensor,
        mask: torch.Tensor,
        query: torch.Tensor | None,
    ) -> torch.Tensor:
        """Return logits [R] x C of states [T, R, H] per direction (aligned), mask [T, R]."""
        length, rows, hidden = forward.shape
        projected = torch.addmm(self.bias, forward.view(-1, hidden), self.forward_weight)
        projected.addmm_(backward.reshape(-1, hidden), self.backward_weight)
        projected = projected.view(length, rows, -1)
        if query is not None and self.model.attention_query is not None:
            projected += self.model.attention_query(query)[None]
        energies = fast_tanh(projected) @ self.vector
        weights = masked_softmax(energies.T, mask.T).T[..., None]
        pooled = torch.cat(
            [(weights * forward).sum(dim=0), (weights * backward).sum(dim=0)], dim=-1
        )
        return self.model.classify(pooled, query)


def _aligned_backward(
    states: torch.Tensor, lengths: torch.Tensor, rows: torch.Tensor | None = None
) -> torch.Tensor:
    """Return the backward direction [T, R, H] in original token order, rows in canonical order.

    ``states`` is [2, T, R', H] with the backward direction reversed within each
    row's length; ``rows[r]`` says which of its rows holds canonical row r.
    """
    _, length, size, hidden = states.shape
    times = torch.arange(length)[:, None]
    source_time = torch.where(times < lengths[None, :], lengths[None, :] - 1 - times, times)
    source_row = torch.arange(size) if rows is None else rows
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
            backward = _aligned_backward(hiddens, lengths)
            logits = readout.logits(hiddens[0], backward, sub.mask.T, query)
            chosen = chunk_targets(targets, indices, logits)
            original = target_probability(logits, chosen)
            scores = torch.zeros(sub.input_ids.shape, dtype=logits.dtype)
            position, instance = sub.mask.T.nonzero(as_tuple=True)
            if len(instance):
                backward_start = lengths[instance] - 1 - position
                backward_order = torch.sort(backward_start, stable=True).indices
                rows = torch.stack([instance, instance[backward_order]])
                outputs = _variant_states(cell, projected, hiddens, cells, rows, position, omit)
                variant_lengths = lengths[instance] - int(omit)
                backward = _aligned_backward(
                    outputs, variant_lengths, torch.argsort(backward_order)
                )
                variant_mask = torch.arange(outputs.shape[1])[:, None] < variant_lengths[None, :]
                row_query = None if query is None else query[instance]
                erased_logits = readout.logits(outputs[0], backward, variant_mask, row_query)
                erased = target_probability(erased_logits, chosen[instance])
                scores[instance, position] = original[instance] - erased
            put(indices, list(per_instance(scores, lengths, chosen)))
    return finished(slots)
