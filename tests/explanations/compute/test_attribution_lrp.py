"""LRP against a NumPy transcription of Arras et al.'s reference code, and conservation.

The reference below follows LRP_for_LSTM (Arras et al. 2017, code/LSTM/LSTM_bidi.py
and code/LRP_linear_layer.py) line by line for one sequence, time step by time
step, with dense identity matrices where they use them, extended with the
attention-weighted sum as one more identity layer. It also books every unit of
relevance that a layer does not pass on (biases, stabiliser, zero initial states),
so that conservation can be checked exactly: token relevance + absorbed = logit.
"""

import numpy as np
import pytest

from explanations.compute.attribution import explain
from explanations.compute.batching import make_batch

na = np.newaxis


def lrp_linear(hin, w, b, hout, rout, bias_nb_units, eps, bias_factor=0.0):
    """Arras et al.'s lrp_linear, verbatim apart from names."""
    sign_out = np.where(hout[na, :] >= 0, 1.0, -1.0)
    numer = (w * hin[:, na]) + (
        bias_factor * (b[na, :] * 1.0 + eps * sign_out * 1.0) / bias_nb_units
    )
    denom = hout[na, :] + (eps * sign_out * 1.0)
    message = (numer / denom) * rout[na, :]
    return message.sum(axis=1)


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


class Book:
    """Relevance absorbed by layers (what enters minus what leaves)."""

    def __init__(self):
        self.absorbed = 0.0

    def layer(self, rout, *rins):
        self.absorbed += float(np.sum(rout) - sum(np.sum(r) for r in rins))


def weights(module, suffix=""):
    return {
        name: getattr(module, name + suffix).detach().double().numpy()
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0")
    }


def lstm_forward(x, w):
    """Run one direction; PyTorch gate order i, f, g, o."""
    hidden = w["weight_hh_l0"].shape[1]
    h, c = np.zeros(hidden), np.zeros(hidden)
    record = {"z": [], "gates": [], "c": [], "h": []}
    for t in range(len(x)):
        z = w["weight_ih_l0"] @ x[t] + w["bias_ih_l0"] + w["weight_hh_l0"] @ h + w["bias_hh_l0"]
        i, f, g, o = (
            sigmoid(z[:hidden]),
            sigmoid(z[hidden : 2 * hidden]),
            np.tanh(z[2 * hidden : 3 * hidden]),
            sigmoid(z[3 * hidden :]),
        )
        c = f * c + i * g
        h = o * np.tanh(c)
        for key, value in zip(("z", "gates", "c", "h"), (z, (i, f, g, o), c, h), strict=True):
            record[key].append(value)
    return record


def lstm_lrp(x, w, rec, rh_attention, eps, bias_factor, book):
    """Arras et al.'s backward loop for one direction, plus relevance from attention."""
    length, embed = x.shape
    d = w["weight_hh_l0"].shape[1]
    idx_g = np.arange(2 * d, 3 * d)
    bias_g = w["bias_ih_l0"][idx_g] + w["bias_hh_l0"][idx_g]
    c = rec["c"] + [np.zeros(d)]  # index -1 is the zero initial state, as in their T+1 arrays
    h = rec["h"] + [np.zeros(d)]
    rx = np.zeros((length, embed))
    rh = np.zeros((length + 1, d))
    rc = np.zeros((length + 1, d))
    for t in reversed(range(length)):
        rh[t] += rh_attention[t]
        rc[t] += rh[t]
        i, f, g, _ = rec["gates"][t]
        rc[t - 1] = lrp_linear(
            f * c[t - 1], np.identity(d), np.zeros(d), c[t], rc[t], 2 * d, eps, bias_factor
        )
        rg = lrp_linear(i * g, np.identity(d), np.zeros(d), c[t], rc[t], 2 * d, eps, bias_factor)
        book.layer(rc[t], rc[t - 1], rg)
        zg = rec["z"][t][idx_g]
        rx[t] = lrp_linear(
            x[t], w["weight_ih_l0"][idx_g].T, bias_g, zg, rg, d + embed, eps, bias_factor
        )
        rh[t - 1] = lrp_linear(
            h[t - 1], w["weight_hh_l0"][idx_g].T, bias_g, zg, rg, d + embed, eps, bias_factor
        )
        book.layer(rg, rx[t], rh[t - 1])
    book.absorbed += float(np.sum(rh[-1]) + np.sum(rc[-1]))  # what reached the zero initial states
    return rx


def linear(layer):
    """Return a linear layer's weight and bias (or None) as float64 arrays."""
    bias = None if layer.bias is None else layer.bias.detach().double().numpy()
    return layer.weight.detach().double().numpy(), bias


def reference_lrp(model, tokens, context, eps, bias_factor):
    """Return (token relevance, logit, absorbed, context relevance) for one instance."""
    emb = model.embedding.weight.detach().double().numpy()
    fwd, bwd = weights(model.lstm_forward), weights(model.lstm_backward)
    x = emb[tokens]
    rec_f, rec_b = lstm_forward(x, fwd), lstm_forward(x[::-1], bwd)
    states = np.concatenate([np.array(rec_f["h"]), np.array(rec_b["h"])[::-1]], axis=1)
    w_h, b_h = linear(model.attention_hidden)
    v, _ = linear(model.attention_vector)
    query = None
    if context is not None:
        ctx = emb[context]
        cf, cb = lstm_forward(ctx, fwd), lstm_forward(ctx[::-1], bwd)
        query = np.concatenate([cf["h"][-1], cb["h"][-1]])
    projected = states @ w_h.T + b_h
    if query is not None:
        projected = projected + linear(model.attention_query)[0] @ query
    scores = (np.tanh(projected) @ v.T)[:, 0]
    attention = np.exp(scores - scores.max())
    attention /= attention.sum()
    pooled = attention @ states
    w_o, b_o = linear(model.output)
    book = Book()
    if query is None:
        logits = w_o @ pooled + b_o
        target = int(np.argmax(logits))
        rout = np.zeros_like(logits)
        rout[target] = logits[target]
        r_pooled = lrp_linear(pooled, w_o.T, b_o, logits, rout, len(pooled), eps, bias_factor)
        book.layer(rout, r_pooled)
        r_context = 0.0
    else:
        w_c, b_c = linear(model.output_pooled)
        w_p, _ = linear(model.output_query)
        pre = w_c @ pooled + b_c + w_p @ query
        hidden = np.tanh(pre)
        logits = w_o @ hidden + b_o
        target = int(np.argmax(logits))
        rout = np.zeros_like(logits)
        rout[target] = logits[target]
        r_hidden = lrp_linear(hidden, w_o.T, b_o, logits, rout, len(hidden), eps, bias_factor)
        book.layer(rout, r_hidden)
        joined = np.concatenate([pooled, query])
        r_joined = lrp_linear(
            joined,
            np.concatenate([w_c.T, w_p.T]),
            b_c,
            pre,
            r_hidden,
            len(joined),
            eps,
            bias_factor,
        )
        book.layer(r_hidden, r_joined)
        r_pooled, r_context = r_joined[: len(pooled)], float(np.sum(r_joined[len(pooled) :]))
    n, width = states.shape
    blocks = np.tile(np.identity(width), (n, 1))  # input (i, k) feeds output k with weight 1
    r_states = lrp_linear(
        (attention[:, na] * states).ravel(),
        blocks,
        np.zeros(width),
        pooled,
        r_pooled,
        n * width,
        eps,
        bias_factor,
    ).reshape(n, width)
    book.layer(r_pooled, r_states)
    d = width // 2
    rx_f = lstm_lrp(x, fwd, rec_f, r_states[:, :d], eps, bias_factor, book)
    rx_b = lstm_lrp(x[::-1], bwd, rec_b, r_states[::-1, d:], eps, bias_factor, book)
    relevance = rx_f.sum(axis=1) + rx_b.sum(axis=1)[::-1]
    return relevance, float(logits[target]), book.absorbed, r_context


def _instances(batch):
    lengths = batch.lengths.tolist()
    for row, n in enumerate(lengths):
        tokens = batch.input_ids[row, :n].tolist()
        context = None
        if batch.context_ids is not None:
            context = batch.context_ids[row, : int(batch.context_mask[row].sum())].tolist()
        yield row, tokens, context


@pytest.mark.parametrize("bias_factor", [0.0, 1.0])
@pytest.mark.parametrize(
    ("model_name", "batch_name"),
    [("trained_bilstm", "sentiment_batch"), ("trained_pair_bilstm", "pair_batch")],
)
def test_lrp_matches_arras_reference_code(request, model_name, batch_name, bias_factor):
    model = request.getfixturevalue(model_name).model
    batch = request.getfixturevalue(batch_name)
    ours = explain(model, batch, "lrp", bias_factor=bias_factor)
    for row, tokens, context in _instances(batch):
        relevance, logit, _, r_context = reference_lrp(model, tokens, context, 0.001, bias_factor)
        np.testing.assert_allclose(ours[row].scores, relevance, rtol=1e-7, atol=1e-9)
        assert ours[row].extras["logit"] == pytest.approx(logit, rel=1e-6)
        assert ours[row].extras["context_relevance"] == pytest.approx(r_context, abs=1e-9)


@pytest.mark.parametrize("bias_factor", [0.0, 1.0])
def test_lrp_relevance_is_conserved_up_to_what_biases_and_epsilon_absorb(
    trained_bilstm, sentiment_batch, bias_factor
):
    """Sum of token relevance + absorbed (booked by the reference) is within 1% of the logit."""
    model = trained_bilstm.model
    ours = explain(model, sentiment_batch, "lrp", bias_factor=bias_factor)
    for row, tokens, _ in _instances(sentiment_batch):
        _, logit, absorbed, _ = reference_lrp(model, tokens, None, 0.001, bias_factor)
        total = float(ours[row].scores.sum())
        assert abs(total + absorbed - logit) <= 0.01 * abs(logit)
        assert ours[row].extras["absorbed"] == pytest.approx(absorbed, rel=1e-6, abs=1e-9)


def test_lrp_of_a_single_token_by_hand(trained_bilstm):
    """One token: the reference's books balance to the logit exactly."""
    model = trained_bilstm.model
    [result] = explain(model, make_batch([[7]]), "lrp")
    relevance, logit, absorbed, _ = reference_lrp(model, [7], None, 0.001, 0.0)
    assert result.scores == pytest.approx(relevance, rel=1e-7)
    assert float(relevance.sum()) + absorbed == pytest.approx(logit, rel=1e-9)


def test_lrp_epsilon_is_the_stabiliser_of_the_reference(trained_bilstm, sentiment_batch):
    """The parameter is called ``epsilon`` (as stored with every explanation) and is used."""
    model = trained_bilstm.model
    ours = explain(model, sentiment_batch, "lrp", epsilon=0.05)
    default = explain(model, sentiment_batch, "lrp")
    for row, tokens, _ in _instances(sentiment_batch):
        relevance, _, _, _ = reference_lrp(model, tokens, None, 0.05, 0.0)
        np.testing.assert_allclose(ours[row].scores, relevance, rtol=1e-7, atol=1e-9)
    assert not np.allclose(ours[0].scores, default[0].scores)
