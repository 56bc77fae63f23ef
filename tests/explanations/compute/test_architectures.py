"""Architectures and batches: checked against PyTorch's own packed BiLSTM and attention."""

import json
import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from explanations.compute.architectures import (
    BiLSTMAttentionClassifier,
    TransformerClassifier,
    build_model,
    device_of,
    resolve_config,
    reverse_within_length,
)
from explanations.compute.batching import Batch, make_batch

SEQS = [[5, 6, 7, 8, 9], [10, 11], [], [12, 13, 14]]


def _model(architecture, **extra):
    torch.manual_seed(0)
    config = {"architecture": architecture, "vocab_size": 50, "num_labels": 3, **extra}
    return build_model(config).eval()


def test_make_batch_pads_right_with_zero_and_masks():
    batch = make_batch([[4, 5, 6], [7], []])
    assert batch.input_ids.tolist() == [[4, 5, 6], [7, 0, 0], [0, 0, 0]]
    assert batch.mask.tolist() == [[True] * 3, [True, False, False], [False] * 3]
    assert batch.lengths.tolist() == [3, 1, 0]
    assert make_batch([[]]).input_ids.shape == (1, 1)


def test_chunks_by_length_go_longest_first_trimmed_and_cover_every_row():
    batch = make_batch([[1], [2, 3, 4], [5, 6], [7, 8, 9, 10]], [[1], [2], [3], [4, 5]])
    chunks = list(batch.chunks_by_length(2))
    assert [indices.tolist() for indices, _ in chunks] == [[3, 1], [2, 0]]
    assert [sub.input_ids.shape[1] for _, sub in chunks] == [4, 2]
    assert chunks[1][1].input_ids.tolist() == [[5, 6], [1, 0]]
    assert chunks[1][1].context_ids.tolist() == [[3], [1]]
    capped = list(batch.chunks_by_length(4, max_tokens=8))
    assert [indices.tolist() for indices, _ in capped] == [[3, 1], [2, 0]]


def test_malformed_batches_are_refused():
    with pytest.raises(ValueError, match="must be equal"):
        Batch(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="bool"):
        Batch(torch.zeros(2, 3, dtype=torch.long), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="go together"):
        Batch(
            torch.zeros(1, 1, dtype=torch.long),
            torch.ones(1, 1, dtype=torch.bool),
            torch.zeros(1, 1),
        )
    with pytest.raises(ValueError, match="2 contexts for 1"):
        make_batch([[1]], [[1], [2]])


def test_reverse_within_length_by_hand():
    values = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0], [0, 0, 0, 0]])
    lengths = torch.tensor([3, 2, 0])
    assert reverse_within_length(values, lengths).tolist() == [
        [3, 2, 1, 0],
        [5, 4, 0, 0],
        [0, 0, 0, 0],
    ]
    assert torch.equal(
        reverse_within_length(reverse_within_length(values, lengths), lengths), values
    )


def test_bilstm_states_equal_pytorchs_packed_bidirectional_lstm():
    model = _model("bilstm_attention", embedding_dim=8, hidden_dim=6)
    reference = nn.LSTM(8, 6, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
            getattr(reference, name).copy_(getattr(model.lstm_forward, name))
            getattr(reference, name + "_reverse").copy_(getattr(model.lstm_backward, name))
    seqs = [s for s in SEQS if s]
    batch = make_batch(seqs)
    with torch.no_grad():
        embeddings = model.embed(batch)
        ours = model.encode(embeddings, batch.lengths)
        packed = pack_padded_sequence(
            embeddings, batch.lengths, batch_first=True, enforce_sorted=False
        )
        theirs, _ = pad_packed_sequence(reference(packed)[0], batch_first=True)
    assert torch.allclose(ours[batch.mask], theirs[batch.mask], atol=1e-6)


@pytest.mark.parametrize("architecture", ["bilstm_attention", "transformer"])
@pytest.mark.parametrize("pair", [False, True])
def test_outputs_do_not_depend_on_padding_or_batch_neighbours(architecture, pair):
    model = _model(architecture, pair=pair)
    contexts = [[3, 4], [5], [6, 7, 8, 9], []] if pair else None
    with torch.no_grad():
        together = model(make_batch(SEQS, contexts)).logits
        for row, seq in enumerate(SEQS):
            alone = model(make_batch([seq], None if contexts is None else [contexts[row]])).logits
            assert torch.allclose(together[row], alone[0], atol=1e-6)
    assert torch.isfinite(together).all()


def test_bilstm_attention_is_a_softmax_over_real_tokens_only():
    model = _model("bilstm_attention")
    batch = make_batch(SEQS)
    with torch.no_grad():
        output = model(batch)
        states = model.encode(model.embed(batch), batch.lengths)
        scores = model.attention_scores(states, None)
    for row, n in enumerate(batch.lengths.tolist()):
        expected = torch.softmax(scores[row, :n], dim=0) if n else torch.zeros(0)
        assert torch.allclose(output.attention[row, :n], expected, atol=1e-7)
        assert float(output.attention[row, n:].abs().sum()) == 0.0
    assert output.layer_attentions is None


def test_transformer_layer_matches_pytorch_multihead_attention():
    """Same projections through nn.MultiheadAttention give the same maps and the same layer output."""
    model = _model("transformer", embedding_dim=16, hidden_dim=32, num_heads=4, dropout=0.0)
    layer = model.layers[0]
    reference = nn.MultiheadAttention(16, 4, batch_first=True)
    with torch.no_grad():
        reference.in_proj_weight.copy_(layer.qkv.weight)
        reference.in_proj_bias.copy_(layer.qkv.bias)
        reference.out_proj.weight.copy_(layer.attention_output.weight)
        reference.out_proj.bias.copy_(layer.attention_output.bias)
        hidden = torch.randn(3, 5, 16, generator=torch.Generator().manual_seed(1))
        key_mask = torch.tensor(
            [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=torch.bool
        )
        ours, maps = layer(hidden, key_mask)
        normed = layer.norm_attention(hidden)
        mixed, theirs = reference(
            normed, normed, normed, key_padding_mask=~key_mask, average_attn_weights=False
        )
        expected = hidden + mixed
        expected = expected + layer.ffn(layer.norm_ffn(expected))
    assert torch.allclose(maps, theirs, atol=1e-6)
    assert torch.allclose(ours, expected, atol=1e-5)


def test_transformer_exposes_every_layer_and_cls_attention():
    model = _model("transformer", num_layers=3)
    batch = make_batch(SEQS)
    with torch.no_grad():
        output = model(batch)
    assert len(output.layer_attentions) == 3
    assert output.layer_attentions[0].shape == (4, 4, 6, 6)
    expected = output.layer_attentions[-1][:, :, 0, 1:6].mean(dim=1)
    assert torch.allclose(output.attention, expected)
    rows = output.layer_attentions[-1].sum(dim=-1)
    assert torch.allclose(rows, torch.ones_like(rows), atol=1e-6)


def test_transformer_refuses_sequences_beyond_max_length():
    model = _model("transformer", max_length=4)
    with pytest.raises(
        ValueError, match="5 tokens but this transformer takes at most max_length=4"
    ):
        model(make_batch([[1, 2, 3, 4, 5]]))


def test_pair_models_need_contexts():
    model = _model("bilstm_attention", pair=True)
    with pytest.raises(ValueError, match="needs context_ids"):
        model(make_batch([[1, 2]]))


def test_config_is_resolved_json_serialisable_and_checked():
    model = _model("transformer")
    assert model.config == resolve_config(
        {"architecture": "transformer", "vocab_size": 50, "num_labels": 3}
    )
    assert json.loads(json.dumps(model.config)) == model.config
    assert model.config["num_heads"] == 4
    assert isinstance(_model("bilstm_attention"), BiLSTMAttentionClassifier)
    assert isinstance(model, TransformerClassifier)
    with pytest.raises(ValueError, match="unknown architecture 'cnn'"):
        build_model({"architecture": "cnn", "vocab_size": 5, "num_labels": 2})
    with pytest.raises(ValueError, match="missing vocab_size"):
        build_model({"architecture": "transformer", "num_labels": 2})
    with pytest.raises(ValueError, match="unknown bilstm_attention config keys: num_heads"):
        build_model(
            {"architecture": "bilstm_attention", "vocab_size": 5, "num_labels": 2, "num_heads": 2}
        )
    with pytest.raises(ValueError, match="not divisible"):
        build_model(
            {"architecture": "transformer", "vocab_size": 5, "num_labels": 2, "embedding_dim": 10}
        )


def test_bilstm_sizes_follow_the_config():
    model = _model("bilstm_attention", embedding_dim=300, hidden_dim=128)
    assert model.embedding.weight.shape == (50, 300)
    assert model.lstm_forward.hidden_size == 128
    assert model.output.in_features == 256
    assert sum(p.numel() for p in model.lstm_forward.parameters()) == 4 * 128 * (300 + 128 + 2)
    with torch.no_grad():
        empty = model(make_batch([[]]))
    assert math.isclose(float(empty.attention.sum()), 0.0)
    assert np.isfinite(empty.logits.numpy()).all()


@pytest.mark.parametrize(
    ("architecture", "key", "value", "message"),
    [
        ("bilstm_attention", "embedding_dim", -4, "embedding_dim must be an integer >= 1, got -4"),
        ("bilstm_attention", "embedding_dim", 0, "embedding_dim must be an integer >= 1, got 0"),
        ("bilstm_attention", "hidden_dim", 0, "hidden_dim must be an integer >= 1, got 0"),
        ("bilstm_attention", "hidden_dim", 8.5, "hidden_dim must be an integer >= 1, got 8.5"),
        ("bilstm_attention", "attention_dim", 0, "attention_dim must be an integer >= 1, got 0"),
        ("bilstm_attention", "dropout", 1.0, r"dropout must be a number in \[0, 1\), got 1.0"),
        ("bilstm_attention", "dropout", -0.1, r"dropout must be a number in \[0, 1\), got -0.1"),
        ("bilstm_attention", "vocab_size", True, "vocab_size must be an integer >= 2, got True"),
        ("transformer", "embedding_dim", -4, "embedding_dim must be an integer >= 1, got -4"),
        ("transformer", "hidden_dim", -1, "hidden_dim must be an integer >= 1, got -1"),
        ("transformer", "num_layers", 0, "num_layers must be an integer >= 1, got 0"),
        ("transformer", "num_heads", 0, "num_heads must be an integer >= 1, got 0"),
        ("transformer", "num_heads", "4", "num_heads must be an integer >= 1, got '4'"),
        ("transformer", "max_length", 0, "max_length must be an integer >= 1, got 0"),
        ("transformer", "dropout", "0.1", r"dropout must be a number in \[0, 1\), got '0.1'"),
        ("transformer", "num_heads", 3, "embedding_dim 64 is not divisible by num_heads 3"),
    ],
)
def test_config_values_no_model_can_have_are_refused_naming_the_field(
    architecture, key, value, message
):
    config = {"architecture": architecture, "vocab_size": 50, "num_labels": 3, key: value}
    with pytest.raises(ValueError, match=message):
        resolve_config(config)


def test_config_edge_values_that_build_a_model_are_accepted():
    bilstm = resolve_config(
        {"architecture": "bilstm_attention", "vocab_size": 5, "num_labels": 2, "dropout": 0}
    )
    assert bilstm["attention_dim"] is None
    transformer = build_model(
        {
            "architecture": "transformer",
            "vocab_size": 5,
            "num_labels": 2,
            "embedding_dim": 6,
            "num_heads": 3,
            "num_layers": 1,
            "max_length": 1,
        }
    )
    assert transformer.config["num_heads"] == 3


def test_batch_to_moves_every_tensor_and_keeps_dtypes():
    batch = make_batch([[4, 5, 6], [7]], [[1, 2], [3]])
    same = batch.to("cpu")
    assert same.device == torch.device("cpu")
    assert torch.equal(same.input_ids, batch.input_ids)
    assert torch.equal(same.context_ids, batch.context_ids)
    # The meta device stands in for an accelerator: tensors move without data.
    moved = batch.to(torch.device("meta"))
    for tensor, original in (
        (moved.input_ids, batch.input_ids),
        (moved.mask, batch.mask),
        (moved.context_ids, batch.context_ids),
        (moved.context_mask, batch.context_mask),
    ):
        assert tensor.device.type == "meta"
        assert tensor.dtype == original.dtype
        assert tensor.shape == original.shape
    assert make_batch([[1]]).to("meta").context_ids is None


def test_device_of_is_the_embeddings_device():
    model = _model("bilstm_attention")
    assert device_of(model) == torch.device("cpu")
    assert device_of(model.to("meta")).type == "meta"
    with pytest.raises(ValueError, match="not a model built by build_model"):
        device_of(nn.Linear(2, 2))
