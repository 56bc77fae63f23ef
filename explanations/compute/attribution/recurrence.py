"""An LSTM run step by step that keeps what ``nn.LSTM`` hides: gates and cell states.

PyTorch's LSTM returns only the hidden states; LRP needs every gate and cell
state. (The incremental erasure and gradient paths keep their own states, in
:mod:`.bilstm_layers` and :mod:`.bilstm_gradients`; they share only
:class:`LSTMWeights`.)
The cell is PyTorch's (gate order i, f, g, o):
``i, f, o = sigmoid(.)``, ``g = tanh(.)`` of ``W_ih x_t + b_ih + W_hh h_{t-1} + b_hh``,
``c_t = f * c_{t-1} + i * g``, ``h_t = o * tanh(c_t)``; initial states are zero.
"""

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LSTMWeights:
    """The weights of a one-layer unidirectional ``nn.LSTM`` (rows in gate order i, f, g, o)."""

    weight_ih: torch.Tensor
    weight_hh: torch.Tensor
    bias_ih: torch.Tensor
    bias_hh: torch.Tensor

    @classmethod
    def of(cls, lstm: nn.LSTM, suffix: str = "") -> "LSTMWeights":
        """Return the layer-0 weights of ``lstm`` (``suffix="_reverse"`` for a reverse direction)."""
        return cls(
            weight_ih=lstm.get_parameter(f"weight_ih_l0{suffix}"),
            weight_hh=lstm.get_parameter(f"weight_hh_l0{suffix}"),
            bias_ih=lstm.get_parameter(f"bias_ih_l0{suffix}"),
            bias_hh=lstm.get_parameter(f"bias_hh_l0{suffix}"),
        )

    @property
    def bias(self) -> torch.Tensor:
        """Return ``b_ih + b_hh``."""
        return self.bias_ih + self.bias_hh


@dataclass
class LSTMTrace:
    """Everything one LSTM direction computed, each [B, T, .]."""

    inputs: torch.Tensor
    pre_activations: torch.Tensor
    gates: torch.Tensor
    cells: torch.Tensor
    hidden: torch.Tensor


def lstm_trace(lstm: nn.LSTM, inputs: torch.Tensor) -> LSTMTrace:
    """Run a one-layer unidirectional ``lstm`` over ``inputs`` [B, T, E] keeping all states."""
    weights = LSTMWeights.of(lstm)
    weight_hh = weights.weight_hh
    hidden_size = int(weight_hh.shape[1])
    projected = inputs @ weights.weight_ih.T + weights.bias
    size, length, _ = inputs.shape
    hidden = inputs.new_zeros(size, hidden_size)
    cell = inputs.new_zeros(size, hidden_size)
    pre_activations, gates, cells, states = [], [], [], []
    for step in range(length):
        pre = projected[:, step] + hidden @ weight_hh.T
        i, f, g, o = pre.chunk(4, dim=-1)
        activated = torch.cat(
            [torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)], dim=-1
        )
        i, f, g, o = activated.chunk(4, dim=-1)
        cell = f * cell + i * g
        hidden = o * torch.tanh(cell)
        pre_activations.append(pre)
        gates.append(activated)
        cells.append(cell)
        states.append(hidden)
    return LSTMTrace(
        inputs=inputs,
        pre_activations=torch.stack(pre_activations, dim=1),
        gates=torch.stack(gates, dim=1),
        cells=torch.stack(cells, dim=1),
        hidden=torch.stack(states, dim=1),
    )
