"""Gradient methods for the BiLSTM with less work: only the gradients they need.

Integrated gradients, and the plain gradient and gradient x input (the same
machinery with one node, ``a = 1``, and a zero baseline). Exact, not approximate.
Two things shrink the work against autograd through the model (what Captum does):

1. **The input projection is linear in a.** On the path ``x(a) = b + a (x - b)``
   with one baseline vector ``b`` at every position, the LSTM's input projection is
   ``W_ih x_t(a) + b_ih = a P_t + (W_ih b + b_ih)`` with ``P_t = W_ih (x_t - b)``,
   computed once per instance; the integration steps only scale it. The integrated
   gradient of token t is then ``sum_k w_k dF/dz_t(a_k) . P_t`` (``z_t`` the
   pre-activations of both directions at t), which equals Sundararajan et al.'s
   ``sum_e (x_te - b_e) sum_k w_k dF/dx_te(a_k)``: the E-wide gradient is never
   formed.
2. **The backward pass computes no weight gradients.** PyTorch's fused LSTM
   backward also computes those of ``W_hh`` and ``W_ih``, a third of its matrix
   work, which IG throws away (its backward was measured at 3.5 times its
   forward). Here the recurrence runs step by step in both directions at once,
   keeping every gate and cell state; a backward step is one matrix product
   ``dz_t W_hh`` plus one compiled element-wise pass (:mod:`.lstm_kernels`) that
   also takes the step's dot product with ``P_t``. Attention's gradient is
   written out by hand (:meth:`_IntegrationPath._readout_gradient`); only the
   small output layer goes through autograd.

Layout: time-major ``[T, 2, R, .]``, with each direction in its own processing
order (the backward direction sees each sequence reversed within its length), so
both start at step 0 and padding comes last; rows ``R`` are the chunk's instances
times the integration steps. Padded steps run but cannot reach real ones: they
come after them in both directions, their attention weight is 0 and so is their
gradient. ``f(x)`` and ``f(b)`` for the completeness gap come from one ordinary
forward pass per chunk. Chunks of :data:`INSTANCES_PER_CHUNK` length-sorted
instances run on the worker threads of :mod:`.scheduling`.

The gradient needs ``dF/dx_t`` itself: every step's ``dz_t`` is kept and
projected back once, ``W_ih^T dz_t``, after the loop. Gradient x input is
``x_t . dF/dx_t = P_t . dz_t``, which the kernel computes as it goes.

On a model that is not on the CPU (the kernels are CPU code) these fall back to
:mod:`.gradients`, autograd through the model.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from explanations.compute.architectures import BiLSTMAttentionClassifier, masked_softmax
from explanations.compute.attribution import gradients
from explanations.compute.attribution.bilstm_layers import Readout, fast_tanh
from explanations.compute.attribution.gradients import quadrature
from explanations.compute.attribution.lstm_kernels import cell_backward, cell_forward, cell_output
from explanations.compute.attribution.recurrence import LSTMWeights
from explanations.compute.attribution.result import Attribution, chunk_targets, per_instance
from explanations.compute.attribution.scheduling import attribute_in_chunks
from explanations.compute.batching import PAD_INDEX, Batch

# Measured on the attribution bench's model: one thread, 32 instances, 1 instance
# per chunk 0.78-0.80 s, 2 0.71-0.72 s, 3 0.68-0.70 s, 4 0.77 s (larger chunks
# outgrow the caches); two threads, 256 instances, 2 and 3 both 2.85-2.9 s.
INSTANCES_PER_CHUNK = 2
# Plain gradients have one row per instance: two threads, 256 bench instances,
# gradient / gradient x input: 8 per chunk 0.20 / 0.17 s, 16 0.17 / 0.13 s,
# 32 0.16 / 0.12 s, 64 0.18 / 0.13 s, 128 0.26 / 0.16 s.
GRADIENT_CHUNK = 32


def integrated_gradients(
    model: BiLSTMAttentionClassifier,
    batch: Batch,
    targets: torch.Tensor | None,
    params: Mapping[str, Any],
) -> list[Attribution]:
    """Return integrated gradients of the BiLSTM attention model with their completeness gap."""
    if model.embedding.weight.device.type != "cpu":
        return gradients.integrated_gradients(model, batch, targets, params)
    nodes, weights = quadrature(params["n_steps"], params["integration"])
    path = _BiLSTMBackward(model, targets, nodes, weights, params["baseline"])
    return attribute_in_chunks(batch, INSTANCES_PER_CHUNK, path.integrated_chunk)


def gradient_scores(
    model: BiLSTMAttentionClassifier,
    batch: Batch,
    targets: torch.Tensor | None,
    params: Mapping[str, Any],
    *,
    times_input: bool,
) -> list[Attribution]:
    """Return the gradient (L2 norm) or gradient x input scores of the BiLSTM attention model."""
    if model.embedding.weight.device.type != "cpu":
        return gradients.gradient_scores(model, batch, targets, params, times_input=times_input)
    path = _BiLSTMBackward(model, targets, np.ones(1), np.ones(1), "zero")

    def chunk(indices: torch.Tensor, sub: Batch) -> list[Attribution]:
        return path.gradient_chunk(indices, sub, times_input=times_input)

    return attribute_in_chunks(batch, GRADIENT_CHUNK, chunk)


def reverse_steps(values: torch.Tensor, lengths: list[int], rows: int) -> torch.Tensor:
    """Reverse time-major ``values`` [T, G * rows, ...] within each group's length.

    Group ``i`` (``rows`` consecutive columns) has length ``lengths[i]``; its first
    ``lengths[i]`` steps are reversed and the rest set to zero. The map is its own
    inverse on the real steps.
    """
    out = torch.zeros_like(values)
    for index, length in enumerate(lengths):
        columns = slice(index * rows, (index + 1) * rows)
        out[:length, columns] = values[:length, columns].flip(0)
    return out


def _project(values: torch.Tensor, matrix: torch.Tensor) -> torch.Tensor:
    """Return ``values @ matrix`` for time-major [T, R, A] values as one 2-D product."""
    length, rows, width = values.shape
    flat = values.reshape(length * rows, width)  # copies a strided slice once
    return (flat @ matrix).view(length, rows, -1)


class _BiLSTMBackward:
    """The model's weights arranged for the step loops, and the per-chunk computations.

    ``nodes`` and ``weights`` are the path's ``a_k`` and ``w_k`` (one node ``a = 1``
    of weight 1 for plain gradients); ``baseline`` is ``"zero"`` or ``"pad"``.
    """

    def __init__(
        self,
        model: BiLSTMAttentionClassifier,
        targets: torch.Tensor | None,
        nodes: np.ndarray,
        weights: np.ndarray,
        baseline: str,
    ) -> None:
        """Arrange the weights once for all chunks."""
        lstms = (LSTMWeights.of(model.lstm_forward), LSTMWeights.of(model.lstm_backward))
        hidden = model.lstm_forward.hidden_size
        self.model = model
        self.targets = targets
        self.readout = Readout(model)
        self.hidden = hidden
        self.steps = len(nodes)
        with torch.no_grad():
            dtype = model.embedding.weight.dtype
            self.alphas = torch.as_tensor(nodes, dtype=dtype)
            self.step_weights = torch.as_tensor(weights, dtype=dtype)
            base = model.embedding.weight[PAD_INDEX].detach().clone()
            if baseline == "zero":
                base.zero_()
            self.base = base
            # The g rows are doubled so that one sigmoid serves all four gates.
            doubling = torch.ones(4 * hidden, dtype=dtype)
            doubling[2 * hidden : 3 * hidden] = 2.0
            self.doubling = doubling
            self.input_weights = [w.weight_ih.detach() for w in lstms]
            self.bias = torch.stack([(w.bias + w.weight_ih @ base) * doubling for w in lstms])
            self.recurrent_t = torch.stack(
                [(w.weight_hh.detach() * doubling[:, None]).T for w in lstms]
            ).contiguous()
            self.recurrent = torch.stack([w.weight_hh.detach() for w in lstms]).contiguous()

    def integrated_chunk(self, indices: torch.Tensor, sub: Batch) -> list[Attribution]:
        """Return the integrated gradients of one chunk of instances."""
        model = self.model
        with torch.no_grad():
            embeddings = model.embed(sub)
            ends = sub.select(torch.arange(sub.size).repeat(2))
            end_inputs = torch.cat([embeddings, self.base.expand_as(embeddings)])
            end_logits = model.forward_embeddings(end_inputs, ends).logits
            chosen = chunk_targets(self.targets, indices, end_logits[: sub.size])
            rows = torch.arange(sub.size)
            f_x = end_logits[rows, chosen]
            f_b = end_logits[rows + sub.size, chosen]
            query = model.encode_query(sub)
            lengths = sub.lengths.tolist()
            row_lengths = sub.lengths.repeat_interleave(self.steps)
            projected = self._projected_inputs(embeddings, lengths)
            gates, cells, tanh_cells, aligned = self._forward(projected, row_lengths)
        aligned_grads, _ = self._readout_gradient(aligned, row_lengths, query, chosen)
        with torch.no_grad():
            per_step, _ = self._backward(
                gates, cells, tanh_cells, aligned_grads, projected, row_lengths
            )
            scores = (per_step[:, 0] + reverse_steps(per_step[:, 1], lengths, 1)).T
        gap = scores.sum(dim=1) - (f_x - f_b)
        extras = {"completeness_gap": gap, "f_x": f_x, "f_baseline": f_b}
        return list(per_instance(scores, sub.lengths, chosen, extras))

    def gradient_chunk(
        self, indices: torch.Tensor, sub: Batch, *, times_input: bool
    ) -> list[Attribution]:
        """Return the gradient (L2 norm) or gradient x input of one chunk (one node, a = 1)."""
        with torch.no_grad():
            embeddings = self.model.embed(sub)
            query = self.model.encode_query(sub)
            lengths = sub.lengths.tolist()
            projected = self._projected_inputs(embeddings, lengths)
            gates, cells, tanh_cells, aligned = self._forward(projected, sub.lengths)
        given = None if self.targets is None else self.targets[indices]
        aligned_grads, chosen = self._readout_gradient(aligned, sub.lengths, query, given)
        with torch.no_grad():
            per_step, pre_grads = self._backward(
                gates,
                cells,
                tanh_cells,
                aligned_grads,
                projected,
                sub.lengths,
                keep=not times_input,
            )
            if times_input:
                scores = (per_step[:, 0] + reverse_steps(per_step[:, 1], lengths, 1)).T
            else:
                assert pre_grads is not None
                # dF/dx_t = W_ih^T dz_t per direction, [T, I, E]; backward re-aligned.
                forward = _project(pre_grads[:, 0], self.input_weights[0])
                backward = _project(pre_grads[:, 1], self.input_weights[1])
                backward = reverse_steps(backward, lengths, 1)
                scores = forward.add_(backward).norm(dim=-1).T
        return list(per_instance(scores, sub.lengths, chosen))

    def _projected_inputs(self, embeddings: torch.Tensor, lengths: list[int]) -> torch.Tensor:
        """Return ``P = W_ih (x - b)`` per step and direction, [T, 2, I, 4H], zero past each length.

        Time-major, each direction in its processing order.
        """
        inputs = (embeddings - self.base).transpose(0, 1).contiguous()  # [T, I, E]
        forward = _project(inputs, self.input_weights[0].T)
        backward = _project(reverse_steps(inputs, lengths, 1), self.input_weights[1].T)
        steps = torch.arange(inputs.shape[0])[:, None]
        real = (steps < torch.as_tensor(lengths)[None, :]).to(inputs.dtype)[:, :, None]
        return torch.stack([forward * real, backward * real], dim=1)

    def _forward(
        self, projected: torch.Tensor, row_lengths: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Run both directions over every step; return gates, cells, tanh(cells) and states.

        Gates are [T, 2, R, 4H] (g finished as tanh), cells [T, 2, R, H], in
        processing order; row ``i * K + k`` is instance ``i`` at node ``a_k``. The
        states come aligned by position, one [T, R, H] tensor per direction (zero
        where a row has no position).
        """
        length, directions, size, width = projected.shape
        hidden, steps = self.hidden, self.steps
        rows = size * steps
        dtype = projected.dtype
        doubled_inputs = projected * self.doubling
        alphas = self.alphas[None, None, :, None]
        bias = self.bias[:, None, None, :]
        gates = torch.empty(length, directions, rows, width, dtype=dtype)
        cells = torch.empty(length, directions, rows, hidden, dtype=dtype)
        tanh_cells = torch.empty_like(cells)
        state = torch.empty(directions, rows, hidden, dtype=dtype)
        forward_states = torch.empty(length, rows, hidden, dtype=dtype)
        backward_states = torch.zeros(length, rows, hidden, dtype=dtype)
        gates_np, cells_np, tanh_np = gates.numpy(), cells.numpy(), tanh_cells.numpy()
        state_np, forward_np, backward_np = (
            state.numpy(),
            forward_states.numpy(),
            backward_states.numpy(),
        )
        lengths_np = row_lengths.numpy()
        doubled = torch.empty(directions, rows, hidden, dtype=dtype)
        doubled_np = doubled.numpy()
        no_cell = np.zeros((directions, rows, hidden), dtype=gates_np.dtype)
        for step in range(length):
            gate = gates[step]
            torch.addcmul(
                bias,
                doubled_inputs[step][:, :, None, :],
                alphas,
                out=gate.view(directions, size, steps, width),
            )
            if step > 0:
                gate.baddbmm_(state, self.recurrent_t)
            gate.sigmoid_()
            previous = cells_np[step - 1] if step > 0 else no_cell
            cell_forward(gates_np[step], previous, cells_np[step], doubled_np)
            torch.sigmoid(doubled, out=tanh_cells[step])
            cell_output(
                gates_np[step], tanh_np[step], state_np, step, lengths_np, forward_np, backward_np
            )
        return gates, cells, tanh_cells, (forward_states, backward_states)

    def _readout_gradient(
        self,
        aligned: tuple[torch.Tensor, torch.Tensor],
        row_lengths: torch.Tensor,
        query: torch.Tensor | None,
        chosen: torch.Tensor | None,
    ) -> tuple[tuple[torch.Tensor, torch.Tensor], torch.Tensor]:
        """Return the gradient of the target logit w.r.t. every aligned state, and the targets.

        The gradient comes per direction; ``chosen`` None takes each row's predicted
        class (rows are then the inputs themselves: one node, ``a = 1``).

        Attention by hand (autograd only for the small output layer), time-major
        [T, R, .]: ``u_t = W_f h_t + W_b h'_t + b (+ W_q q)``, ``e_t = v . tanh(u_t)``,
        ``a`` = masked softmax of ``e``, pooled ``c = sum_t a_t [h_t; h'_t]``. With
        ``dc`` the output layer's gradient: ``de_t = a_t (dc . [h_t; h'_t] - sum_s
        a_s dc . [h_s; h'_s])``, ``du_t = de_t v (1 - tanh(u_t)^2)``, and the state
        gradients ``W_f^T du_t + a_t dc_f`` and ``W_b^T du_t + a_t dc_b``.
        """
        readout, steps = self.readout, self.steps
        forward, backward = aligned
        length, rows, hidden = forward.shape
        with torch.no_grad():
            projected = torch.addmm(readout.bias, forward.view(-1, hidden), readout.forward_weight)
            projected.addmm_(backward.view(-1, hidden), readout.backward_weight)
            projected = projected.view(length, rows, -1)
            if query is not None and self.model.attention_query is not None:
                projected += self.model.attention_query(query).repeat_interleave(steps, dim=0)
            squashed = fast_tanh(projected)
            energies = squashed @ readout.vector  # [T, R]
            mask = torch.arange(length)[:, None] < row_lengths[None, :]
            weights = masked_softmax(energies.T, mask.T).T  # [T, R]
            pooled = torch.cat(
                [
                    torch.einsum("tr,trh->rh", weights, forward),
                    torch.einsum("tr,trh->rh", weights, backward),
                ],
                dim=1,
            )
        pooled.requires_grad_(True)
        row_query = None if query is None else query.repeat_interleave(steps, dim=0)
        logits = self.model.classify(pooled, row_query)
        if chosen is None:
            chosen = logits.detach().argmax(dim=1)
        selected = logits.gather(1, chosen.repeat_interleave(steps)[:, None])
        (pooled_grad,) = torch.autograd.grad(selected.sum(), pooled)
        with torch.no_grad():
            grad_forward, grad_backward = pooled_grad[:, :hidden], pooled_grad[:, hidden:]
            weight_grads = torch.einsum("rh,trh->tr", grad_forward, forward)
            weight_grads += torch.einsum("rh,trh->tr", grad_backward, backward)
            energy_grads = weights * (weight_grads - (weights * weight_grads).sum(0))
            # du = de v (1 - tanh(u)^2), in place of the squashed values
            derivative = squashed.mul_(squashed).neg_().add_(1.0)
            derivative.mul_(readout.vector).mul_(energy_grads[:, :, None])
            flat = derivative.view(-1, derivative.shape[-1])
            state_forward = (flat @ readout.forward_weight.T).view(length, rows, hidden)
            state_backward = (flat @ readout.backward_weight.T).view(length, rows, hidden)
            state_forward.addcmul_(weights[:, :, None], grad_forward)
            state_backward.addcmul_(weights[:, :, None], grad_backward)
        return (state_forward, state_backward), chosen

    def _backward(
        self,
        gates: torch.Tensor,
        cells: torch.Tensor,
        tanh_cells: torch.Tensor,
        aligned_grads: tuple[torch.Tensor, torch.Tensor],
        projected: torch.Tensor,
        row_lengths: torch.Tensor,
        *,
        keep: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return each step's integrated gradient through each direction's input, [T, 2, I].

        That is ``sum_k w_k dF/dz_t(a_k) . P_t`` per step ``t`` (processing order),
        direction and instance, from the read-out's state gradients
        ``aligned_grads`` (by position, per direction) and the recurrence. With
        ``keep``, also every step's ``dz_t`` [T, 2, R, 4H] (else None).
        """
        length, directions, rows, width = gates.shape
        dtype = gates.dtype
        integrated = torch.empty(length, directions, projected.shape[2], dtype=dtype)
        kept = torch.empty_like(gates) if keep else None
        pre_grad = torch.empty(directions, rows, width, dtype=dtype)
        recurrent = torch.zeros(directions, rows, self.hidden, dtype=dtype)
        gates_np, cells_np, tanh_np = gates.numpy(), cells.numpy(), tanh_cells.numpy()
        forward_np, backward_np = (grads.numpy() for grads in aligned_grads)
        projected_np, integrated_np = projected.numpy(), integrated.numpy()
        step_weights = self.step_weights.numpy()
        pre_np, recurrent_np, lengths_np = pre_grad.numpy(), recurrent.numpy(), row_lengths.numpy()
        cell_grad = np.zeros((directions, rows, self.hidden), dtype=gates_np.dtype)
        no_gates = np.zeros((directions, rows, width), dtype=gates_np.dtype)
        no_cell = np.zeros_like(cell_grad)
        for step in range(length - 1, -1, -1):
            if kept is not None:
                pre_grad = kept[step]
                pre_np = pre_grad.numpy()
            cell_backward(
                gates_np[step],
                gates_np[step + 1] if step + 1 < length else no_gates,
                cells_np[step - 1] if step > 0 else no_cell,
                tanh_np[step],
                recurrent_np,
                step,
                lengths_np,
                forward_np,
                backward_np,
                cell_grad,
                pre_np,
                projected_np[step],
                step_weights,
                integrated_np[step],
            )
            if step > 0:
                torch.bmm(pre_grad, self.recurrent, out=recurrent)
        return integrated, kept
