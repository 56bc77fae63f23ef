"""The element-wise part of one LSTM step, forward and backward, compiled with Numba.

PyTorch's fused LSTM backward also computes the weight gradients, which integrated
gradients never uses; a step-by-step loop of PyTorch operations avoids them but
pays a dozen small kernel launches per step. These kernels do each step's
element-wise work in one pass over memory, so that a step costs one matrix product
(PyTorch) and one kernel call. Arrays are NumPy views of PyTorch tensors (no copy),
each ``[D, R, .]`` for D directions (2 in :func:`cell_output` and
:func:`cell_backward`, which know which is which) and R rows, gate columns in PyTorch's order
``i, f, g, o`` (H columns each). The cell (Hochreiter & Schmidhuber 1997, with the
forget gate of Gers et al. 2000, as in ``torch.nn.LSTM``)::

    i, f, o = sigmoid(z_i), sigmoid(z_f), sigmoid(z_o);  g = tanh(z_g)
    c_t = f * c_{t-1} + i * g;  h_t = o * tanh(c_t)

and its derivatives with respect to the pre-activations ``z``, given the gradients
``dh`` of ``h_t`` and ``dc'`` of ``c_{t+1}``::

    dc = dh * o * (1 - tanh(c_t)^2) + dc' * f_{t+1}
    dz_i = dc * g * i (1 - i);  dz_f = dc * c_{t-1} * f (1 - f)
    dz_g = dc * i * (1 - g^2);  dz_o = dh * tanh(c_t) * o (1 - o)

``tanh`` is taken as ``2 sigmoid(2 x) - 1`` by the caller (PyTorch's float32
``sigmoid`` is vectorised; see :mod:`.bilstm_layers`), so the kernels see sigmoid
outputs and finish the identity. They release the GIL: chunks run on worker
threads (:mod:`.scheduling`).
"""

import numpy as np

from explanations.compute.jit import kernel


@kernel(fastmath=True)
def cell_forward(
    gates: np.ndarray, cell_previous: np.ndarray, cell: np.ndarray, doubled: np.ndarray
) -> None:
    """Finish the gates and write the new cell state.

    ``gates`` [D, R, 4H] holds ``sigmoid`` of the pre-activations, with the g columns
    computed from ``2 z_g``; they become ``tanh(z_g) = 2 sigmoid(2 z_g) - 1`` in
    place. Writes ``cell`` = ``f * cell_previous + i * g`` and ``doubled`` = ``2 cell``
    (the caller takes its sigmoid for ``tanh(cell)``).
    """
    directions, rows, width = gates.shape
    hidden = width // 4
    one = gates.dtype.type(1.0)
    two = gates.dtype.type(2.0)
    for d in range(directions):
        for r in range(rows):
            gate = gates[d, r]
            previous = cell_previous[d, r]
            new = cell[d, r]
            twice = doubled[d, r]
            for j in range(hidden):
                candidate = two * gate[2 * hidden + j] - one
                gate[2 * hidden + j] = candidate
                value = gate[hidden + j] * previous[j] + gate[j] * candidate
                new[j] = value
                twice[j] = two * value


@kernel(fastmath=True)
def cell_output(
    gates: np.ndarray,
    squashed: np.ndarray,
    hidden_state: np.ndarray,
    step: int,
    lengths: np.ndarray,
    forward_states: np.ndarray,
    backward_states: np.ndarray,
) -> None:
    """Turn ``squashed`` = ``sigmoid(2 c)`` into ``tanh(c)`` in place; write ``h = o * tanh(c)``.

    ``h`` goes to ``hidden_state`` [2, R, H] (the next step's input) and to the
    position-aligned ``forward_states`` and ``backward_states`` [T, R, H] that
    attention reads: the forward direction's step is its position, the backward
    direction's step ``s`` is position ``lengths[r] - 1 - s`` of row ``r`` (not
    written past the row's length).
    """
    _, rows, width = gates.shape
    hidden = width // 4
    one = gates.dtype.type(1.0)
    two = gates.dtype.type(2.0)
    for d in range(2):
        for r in range(rows):
            gate = gates[d, r]
            tanh_cell = squashed[d, r]
            out = hidden_state[d, r]
            for j in range(hidden):
                value = two * tanh_cell[j] - one
                tanh_cell[j] = value
                out[j] = gate[3 * hidden + j] * value
            if d == 0:
                forward_states[step, r] = out
            elif step < lengths[r]:
                backward_states[lengths[r] - 1 - step, r] = out


@kernel(fastmath=True)
def cell_backward(
    gates: np.ndarray,
    gates_next: np.ndarray,
    cell_previous: np.ndarray,
    tanh_cell: np.ndarray,
    recurrent: np.ndarray,
    step: int,
    lengths: np.ndarray,
    forward_grads: np.ndarray,
    backward_grads: np.ndarray,
    grad_cell: np.ndarray,
    grad_pre: np.ndarray,
    projected: np.ndarray,
    step_weights: np.ndarray,
    integrated: np.ndarray,
) -> None:
    """Write the gradient of the step's pre-activations ``grad_pre`` [2, R, 4H] and integrate it.

    ``gates`` are the step's finished gates, ``gates_next`` those of the next step
    (zeros after the last step), ``cell_previous`` the previous cell state (zeros
    before the first), ``tanh_cell`` this step's ``tanh(c)``. The gradient of this
    step's ``h`` is ``recurrent`` (``dz_{t+1} W_hh``, from the next step) plus the
    read-out's, from the position-aligned ``forward_grads`` / ``backward_grads``
    [T, R, H] (zero past the row's length, as in :func:`cell_output`).
    ``grad_cell`` holds the gradient of the next cell state on entry and of this
    one on return.

    Rows are instances times integration nodes (row ``i * K + k``, ``K`` =
    ``len(step_weights)``). ``integrated[d, i]`` is set to
    ``sum_k step_weights[k] * (grad_pre[d, i K + k] . projected[d, i])``: the
    token's integrated gradient through this direction's input at this step.
    """
    _, rows, width = gates.shape
    hidden = width // 4
    nodes = step_weights.shape[0]
    one = gates.dtype.type(1.0)
    zero = gates.dtype.type(0.0)
    for d in range(2):
        for instance in range(rows // nodes):
            inputs = projected[d, instance]
            total = zero
            for k in range(nodes):
                r = instance * nodes + k
                length = lengths[r]
                gate = gates[d, r]
                following = gates_next[d, r]
                previous = cell_previous[d, r]
                squashed = tanh_cell[d, r]
                dh = recurrent[d, r]
                dc = grad_cell[d, r]
                out = grad_pre[d, r]
                if step >= length:
                    readout = dh  # placeholder, not read: the row has no real position here
                elif d == 0:
                    readout = forward_grads[step, r]
                else:
                    readout = backward_grads[length - 1 - step, r]
                real = one if step < length else zero
                for j in range(hidden):
                    i = gate[j]
                    f = gate[hidden + j]
                    g = gate[2 * hidden + j]
                    o = gate[3 * hidden + j]
                    t = squashed[j]
                    gh = dh[j] + real * readout[j]
                    value = gh * o * (one - t * t) + dc[j] * following[hidden + j]
                    dc[j] = value
                    out[j] = value * g * i * (one - i)
                    out[hidden + j] = value * previous[j] * f * (one - f)
                    out[2 * hidden + j] = value * i * (one - g * g)
                    out[3 * hidden + j] = gh * t * o * (one - o)
                dot = zero
                for j in range(width):
                    dot += out[j] * inputs[j]
                total += step_weights[k] * dot
            integrated[d, instance] = total
