"""Layer-wise relevance propagation for the BiLSTM attention model.

The relevance of the explained logit ``R = f_c`` is passed back layer by layer
(Bach et al. 2015) with the rules of Arras et al. (2017, "Explaining Recurrent
Neural Network Predictions in Sentiment Analysis", and their reference code
LRP_for_LSTM):

* linear layers ``z_j = sum_k w_kj h_k + b_j``, epsilon rule:
  ``R_k = sum_j (w_kj h_k + s (b_j + eps sign(z_j)) / N) / (z_j + eps sign(z_j)) R_j``
  with ``N`` the layer's number of inputs, ``eps`` the parameter ``epsilon`` and
  ``s`` the bias factor (0 by default: biases and the stabiliser absorb their
  share, so the sum is not exactly kept);
* products of a gate and a signal (``f * c_{t-1}``, ``i * g``, ``o * tanh(c)``):
  the gate gets nothing, the signal everything ("signal-take-all");
* sums of products (``c_t = f * c_{t-1} + i * g``) are identity layers under the
  epsilon rule, and relevance passes through ``g``'s tanh unchanged;
* the attention-weighted sum ``c = sum_i a_i h_i`` is treated the same way, the
  attention weights as gates: ``R_{h_i,k} = a_i h_ik / (c_k + eps sign(c_k)) R_{c_k}``;
  no relevance flows into the attention scores;
* pair models: relevance that reaches the query ``q`` (the context) stays there and
  is reported as ``context_relevance``.

Computed in float64 on a copy of the model; the scores sum the relevance of each
token's embedding over the embedding dimension and both directions.
"""

import copy
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from explanations.compute.architectures import (
    BiLSTMAttentionClassifier,
    reverse_within_length,
)
from explanations.compute.attribution.recurrence import LSTMTrace, LSTMWeights, lstm_trace
from explanations.compute.attribution.result import (
    Attribution,
    chunk_targets,
    per_instance,
)
from explanations.compute.attribution.scheduling import attribute_in_chunks
from explanations.compute.batching import Batch

LRP_CHUNK = 64


def _ratio(hout: torch.Tensor, rout: torch.Tensor, eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``R_j / (z_j + eps sign(z_j))`` and ``eps sign(z_j)``, sign(0) = +1."""
    stabiliser = eps * torch.where(hout >= 0, 1.0, -1.0).to(hout.dtype)
    return rout / (hout + stabiliser), stabiliser


def lrp_linear(
    hin: torch.Tensor,
    weight: torch.Tensor,
    bias: torch.Tensor | None,
    hout: torch.Tensor,
    rout: torch.Tensor,
    n_units: float | torch.Tensor,
    eps: float,
    bias_factor: float,
) -> torch.Tensor:
    """Return the epsilon-rule relevance of ``hin`` [B, D] for ``hout = hin @ weight + bias``."""
    ratio, stabiliser = _ratio(hout, rout, eps)
    relevance = hin * (ratio @ weight.T)
    if bias_factor:
        shared = stabiliser if bias is None else stabiliser + bias
        relevance = relevance + bias_factor * ((shared * ratio).sum(dim=-1, keepdim=True) / n_units)
    return relevance


def lrp_identity(
    hin: torch.Tensor,
    hout: torch.Tensor,
    rout: torch.Tensor,
    n_units: float | torch.Tensor,
    eps: float,
    bias_factor: float,
) -> torch.Tensor:
    """Return the epsilon-rule relevance of one term ``hin`` of an elementwise sum ``hout``.

    ``hin`` is [B, ..., M] and ``hout`` [B, M]; the bias factor spreads the
    stabiliser's share over all ``n_units`` inputs, as Arras et al.'s code does.
    """
    ratio, stabiliser = _ratio(hout, rout, eps)
    extra = hin.dim() - ratio.dim()
    shape = (ratio.shape[0],) + (1,) * extra + ratio.shape[1:]
    relevance = hin * ratio.view(shape)
    if bias_factor:
        shared = (stabiliser * ratio).sum(dim=-1) * bias_factor / n_units
        relevance = relevance + shared.reshape((-1,) + (1,) * (hin.dim() - 1))
    return relevance


def lstm_relevance(
    lstm: nn.LSTM, trace: LSTMTrace, hidden_relevance: torch.Tensor, eps: float, bias_factor: float
) -> torch.Tensor:
    """Return the relevance of every input [B, T, E] given that of every hidden state [B, T, H].

    Arras et al.'s backward pass: at each step the cell's relevance (what came
    from ``c_{t+1}`` plus the hidden state's own) splits between ``f * c_{t-1}``
    and ``i * g``; ``g``'s share goes to ``x_t`` and ``h_{t-1}`` by the epsilon
    rule. What reaches the zero initial state is dropped.
    """
    size, length, hidden_size = trace.hidden.shape
    embed_size = trace.inputs.shape[-1]
    rows = slice(2 * hidden_size, 3 * hidden_size)
    weights = LSTMWeights.of(lstm)
    weight_input = weights.weight_ih[rows].T
    weight_hidden = weights.weight_hh[rows].T
    bias = weights.bias[rows]
    units = float(hidden_size + embed_size)
    relevance = torch.zeros_like(trace.inputs)
    carried_hidden = trace.hidden.new_zeros(size, hidden_size)
    carried_cell = trace.hidden.new_zeros(size, hidden_size)
    zeros = trace.hidden.new_zeros(size, hidden_size)
    for step in reversed(range(length)):
        cell_relevance = carried_cell + hidden_relevance[:, step] + carried_hidden
        i, f, g, _ = trace.gates[:, step].chunk(4, dim=-1)
        cell = trace.cells[:, step]
        previous_cell = trace.cells[:, step - 1] if step else zeros
        previous_hidden = trace.hidden[:, step - 1] if step else zeros
        carried_cell = lrp_identity(
            f * previous_cell, cell, cell_relevance, 2 * hidden_size, eps, bias_factor
        )
        signal = lrp_identity(i * g, cell, cell_relevance, 2 * hidden_size, eps, bias_factor)
        pre = trace.pre_activations[:, step, rows]
        relevance[:, step] = lrp_linear(
            trace.inputs[:, step], weight_input, bias, pre, signal, units, eps, bias_factor
        )
        carried_hidden = lrp_linear(
            previous_hidden, weight_hidden, bias, pre, signal, units, eps, bias_factor
        )
    return relevance


def lrp_scores(
    model: BiLSTMAttentionClassifier,
    batch: Batch,
    targets: torch.Tensor | None,
    params: Mapping[str, Any],
) -> list[Attribution]:
    """Return LRP relevance per token, with the logit and the relevance that stayed elsewhere."""
    eps, bias_factor = params["epsilon"], params["bias_factor"]
    exact = copy.deepcopy(model).to(torch.float64).eval()

    @torch.no_grad()
    def chunk(indices: torch.Tensor, sub: Batch) -> list[Attribution]:
        lengths = sub.lengths
        embeddings = exact.embed(sub)
        forward = lstm_trace(exact.lstm_forward, embeddings)
        backward = lstm_trace(exact.lstm_backward, reverse_within_length(embeddings, lengths))
        states = torch.cat(
            [forward.hidden, reverse_within_length(backward.hidden, lengths)], dim=-1
        )
        query = exact.encode_query(sub)
        pooled, weights = exact.attend(states, sub.mask, query)
        logits = exact.classify(pooled, query)
        chosen = chunk_targets(targets, indices, logits)
        explained = logits.gather(1, chosen[:, None]).squeeze(1)
        relevance = torch.zeros_like(logits).scatter(1, chosen[:, None], explained[:, None])
        output = exact.output
        context_relevance = torch.zeros_like(explained)
        if query is None:
            pooled_relevance = lrp_linear(
                pooled,
                output.weight.T,
                output.bias,
                logits,
                relevance,
                pooled.shape[1],
                eps,
                bias_factor,
            )
        else:
            assert exact.output_pooled is not None
            assert exact.output_query is not None
            pre = exact.output_pooled(pooled) + exact.output_query(query)
            hidden = torch.tanh(pre)
            hidden_relevance = lrp_linear(
                hidden,
                output.weight.T,
                output.bias,
                logits,
                relevance,
                hidden.shape[1],
                eps,
                bias_factor,
            )
            joined = torch.cat([pooled, query], dim=-1)
            joined_weight = torch.cat([exact.output_pooled.weight.T, exact.output_query.weight.T])
            joined_relevance = lrp_linear(
                joined,
                joined_weight,
                exact.output_pooled.bias,
                pre,
                hidden_relevance,
                joined.shape[1],
                eps,
                bias_factor,
            )
            pooled_relevance = joined_relevance[:, : pooled.shape[1]]
            context_relevance = joined_relevance[:, pooled.shape[1] :].sum(dim=1)
        units = (lengths * states.shape[-1]).clamp(min=1).to(states.dtype)
        state_relevance = (
            lrp_identity(
                weights[..., None] * states, pooled, pooled_relevance, units, eps, bias_factor
            )
            * sub.mask[..., None]
        )
        hidden_size = forward.hidden.shape[-1]
        forward_relevance = lstm_relevance(
            exact.lstm_forward, forward, state_relevance[..., :hidden_size], eps, bias_factor
        )
        backward_relevance = lstm_relevance(
            exact.lstm_backward,
            backward,
            reverse_within_length(state_relevance[..., hidden_size:], lengths),
            eps,
            bias_factor,
        )
        scores = forward_relevance.sum(dim=-1) + reverse_within_length(
            backward_relevance.sum(dim=-1), lengths
        )
        scores = scores * sub.mask
        total = scores.sum(dim=1)
        extras = {
            "logit": explained,
            "relevance_sum": total,
            "context_relevance": context_relevance,
            "absorbed": explained - total - context_relevance,
        }
        return list(per_instance(scores, lengths, chosen, extras))

    return attribute_in_chunks(batch, LRP_CHUNK, chunk)
