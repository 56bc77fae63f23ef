"""Wiegreffe & Pinter's diagnostic MLP: hand-computed outputs, the planted-token check, the F1 table."""

import json

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score

from explanations.compute.attribution.gradients import gradient_scores
from explanations.compute.batching import make_batch
from explanations.compute.diagnostics import ORDERS, permutation_test, zeroing_diagnostics
from explanations.compute.diagnostics.diagnostic_mlp import (
    DiagnosticMLP,
    MLPTraining,
    diagnostic_mlp_table,
    starting_embeddings,
    train_diagnostic_mlp,
)
from explanations.compute.diagnostics.intervention import (
    DiagnosticMLPIntervention,
    intervention_for,
)
from explanations.compute.diagnostics.recipe import Recipe
from explanations.compute.training import Example, train_classifier
from tests.explanations.compute.conftest import config, pair_examples, sentiment_examples

from .conftest import tiny_batch, tiny_model

PLANTED = 1
VOCAB = 40


def _mlp(attention="trained", *, pair=False, seed=0):
    torch.manual_seed(seed)
    return DiagnosticMLP(
        vocab_size=VOCAB,
        num_labels=3,
        embedding_dim=5,
        hidden_dim=4,
        attention=attention,
        pair=pair,
    ).eval()


def _numpy(tensor):
    return tensor.detach().double().numpy()


def _states(model, ids):
    """Return tanh(W x_i + b) of each token id on its own, in numpy."""
    embeddings = _numpy(model.embedding.weight)[ids]
    return np.tanh(embeddings @ _numpy(model.token_layer.weight).T + _numpy(model.token_layer.bias))


def _softmax(values):
    exp = np.exp(values - values.max())
    return exp / exp.sum()


def test_a_token_state_does_not_depend_on_the_other_tokens():
    model = _mlp()
    batch = make_batch([[3, 4, 5, 6], [3, 9, 5, 6], [3, 4, 5]])
    with torch.no_grad():
        states = model.token_states(model.embed(batch))
    for position in (0, 2, 3):  # token 1 changed between rows 0 and 1
        assert torch.equal(states[0, position], states[1, position])
    for position in range(3):  # a shorter instance: same states for the same tokens
        assert torch.equal(states[0, position], states[2, position])
    np.testing.assert_allclose(_numpy(states[1]), _states(model, [3, 9, 5, 6]), atol=1e-6)


def test_uniform_attention_is_one_over_the_length_on_real_tokens():
    model = _mlp("uniform")
    batch = tiny_batch((5, 1, 7, 3))
    with torch.no_grad():
        attention = model(batch).attention
    for row, n in enumerate(batch.lengths.tolist()):
        assert torch.equal(attention[row, :n], torch.full((n,), 1.0) / n)
        assert (attention[row, n:] == 0).all()


def test_imported_weights_are_used_exactly():
    model = _mlp("imported")
    tokens = [[7, 2, 30], [11, 12]]
    weights = torch.tensor([[0.5, 0.2, 0.3], [0.9, 0.1, 0.0]])
    with torch.no_grad():
        output = model(make_batch(tokens), weights)
    assert torch.equal(output.attention, weights)
    weight, bias = _numpy(model.output.weight), _numpy(model.output.bias)
    for row, ids in enumerate(tokens):
        pooled = _numpy(weights[row, : len(ids)]) @ _states(model, ids)
        np.testing.assert_allclose(_numpy(output.logits[row]), weight @ pooled + bias, atol=1e-6)


def test_trained_attention_by_hand():
    model = _mlp("trained")
    ids = [8, 3, 17, 25]
    with torch.no_grad():
        output = model(make_batch([ids]))
    states = _states(model, ids)
    hidden = np.tanh(
        states @ _numpy(model.attention_hidden.weight).T + _numpy(model.attention_hidden.bias)
    )
    weights = _softmax(hidden @ _numpy(model.attention_vector.weight)[0])
    logits = _numpy(model.output.weight) @ (weights @ states) + _numpy(model.output.bias)
    np.testing.assert_allclose(_numpy(output.attention[0]), weights, atol=1e-6)
    np.testing.assert_allclose(_numpy(output.logits[0]), logits, atol=1e-6)


def test_pair_query_is_the_mean_context_state_and_enters_attention_and_output():
    model = _mlp("trained", pair=True)
    ids, context = [4, 5, 6], [20, 21]
    with torch.no_grad():
        output = model(make_batch([ids], [context]))
    states = _states(model, ids)
    query = _states(model, context).mean(axis=0)
    scores = (
        np.tanh(
            states @ _numpy(model.attention_hidden.weight).T
            + _numpy(model.attention_hidden.bias)
            + _numpy(model.attention_query.weight) @ query
        )
        @ _numpy(model.attention_vector.weight)[0]
    )
    weights = _softmax(scores)
    hidden = np.tanh(
        _numpy(model.output_pooled.weight) @ (weights @ states)
        + _numpy(model.output_pooled.bias)
        + _numpy(model.output_query.weight) @ query
    )
    logits = _numpy(model.output.weight) @ hidden + _numpy(model.output.bias)
    np.testing.assert_allclose(_numpy(output.attention[0]), weights, atol=1e-6)
    np.testing.assert_allclose(_numpy(output.logits[0]), logits, atol=1e-6)


def _numpy_logits(model, ids, context, weights):
    """Return the logits for given weights over ``ids``: the read-out worked out in numpy."""
    pooled = np.asarray(weights) @ _states(model, ids)
    if context is None:
        return _numpy(model.output.weight) @ pooled + _numpy(model.output.bias)
    query = _states(model, context).mean(axis=0)
    hidden = np.tanh(
        _numpy(model.output_pooled.weight) @ pooled
        + _numpy(model.output_pooled.bias)
        + _numpy(model.output_query.weight) @ query
    )
    return _numpy(model.output.weight) @ hidden + _numpy(model.output.bias)


@pytest.mark.parametrize("pair", [False, True])
@pytest.mark.parametrize("attention", ["trained", "uniform"])
def test_intervention_reproduces_the_model_and_maps_any_weights(attention, pair):
    model = _mlp(attention, pair=pair)
    batch = tiny_batch((5, 1, 7, 3), pair=pair)
    intervention = intervention_for(model, batch)
    assert isinstance(intervention, DiagnosticMLPIntervention)
    with torch.no_grad():
        output = model(batch)
    torch.testing.assert_close(intervention.attention, output.attention, rtol=0, atol=1e-7)
    torch.testing.assert_close(
        intervention.probabilities, torch.softmax(output.logits, -1), rtol=0, atol=1e-6
    )
    rng = np.random.default_rng(0)
    width = batch.input_ids.shape[1]
    weights = np.zeros((batch.size, 3, width), dtype=np.float32)
    for row, n in enumerate(batch.lengths.tolist()):
        weights[row, :, :n] = rng.dirichlet(np.ones(n), size=3)
    with torch.no_grad():
        mapped = _numpy(intervention.logits_for(torch.from_numpy(weights)))
    for row, n in enumerate(batch.lengths.tolist()):
        ids = batch.input_ids[row, :n].tolist()
        context = None
        if pair:
            context = batch.context_ids[row, : int(batch.context_mask[row].sum())].tolist()
        for r in range(3):
            expected = _numpy_logits(model, ids, context, weights[row, r, :n].astype(np.float64))
            np.testing.assert_allclose(mapped[row, r], expected, atol=1e-5)


def test_intervention_zeroes_and_renormalises_the_imported_weights():
    model = _mlp("imported")
    batch = make_batch([[5, 6, 7, 8]])
    weights = torch.tensor([[0.4, 0.3, 0.2, 0.1]])
    intervention = DiagnosticMLPIntervention(model, batch, weights)
    keep = torch.tensor([[[True, False, True, False]]])
    with torch.no_grad():
        ours = _numpy(intervention.zeroed_probabilities(keep)[0, 0])
    np.testing.assert_allclose(
        ours, _softmax(_numpy_logits(model, [5, 6, 7, 8], None, [2 / 3, 0, 1 / 3, 0])), atol=1e-6
    )


def test_imported_weights_from_a_model_under_test():
    base = tiny_model()
    model = DiagnosticMLP(vocab_size=40, num_labels=3, embedding_dim=8, hidden_dim=4)
    with pytest.raises(ValueError, match="imported-attention"):
        model.use_attention_of(base)
    imported = DiagnosticMLP(
        vocab_size=40, num_labels=3, embedding_dim=8, hidden_dim=4, attention="imported"
    ).eval()
    batch = tiny_batch()
    with pytest.raises(ValueError, match="weights: an imported-attention MLP needs"):
        imported(batch)
    imported.use_attention_of(base)
    with torch.no_grad():
        ours = imported(batch).attention
        theirs = base(batch).attention
    torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-6)
    assert not any(name.startswith("attention_source") for name, _ in imported.named_parameters())
    # permutation and zeroing run on the imported MLP through its intervention
    assert permutation_test(imported, batch, permutations=5).median_tvd.shape == (batch.size,)


def test_bad_input_names_the_field():
    with pytest.raises(ValueError, match="attention: expected one of"):
        DiagnosticMLP(vocab_size=40, num_labels=2, attention="frozen")
    with pytest.raises(ValueError, match="hidden_dim: expected an integer >= 1"):
        DiagnosticMLP(vocab_size=40, num_labels=2, hidden_dim=0)
    model = _mlp("imported")
    batch = make_batch([[5, 6, 7], [5]])
    with pytest.raises(ValueError, match=r"weights: expected one per token, shape \(2, 3\)"):
        model(batch, torch.ones(2, 4))
    with pytest.raises(ValueError, match="0 on padding"):
        model(batch, torch.tensor([[0.2, 0.3, 0.5], [0.5, 0.5, 0.0]]))
    with pytest.raises(ValueError, match="non-negative"):
        model(batch, torch.tensor([[1.2, 0.3, -0.5], [1.0, 0.0, 0.0]]))
    with pytest.raises(ValueError, match="needs context_ids"):
        _mlp(pair=True)(batch)
    examples = [Example([5, 6], 0), Example([7, 8], 1)]
    small = {"vocab_size": 40, "num_labels": 2, "embedding_dim": 4, "hidden_dim": 4, "pair": False}
    with pytest.raises(ValueError, match="epochs: expected an integer >= 1"):
        train_diagnostic_mlp(
            small, examples, examples, attention="trained", training=MLPTraining(epochs=0)
        )
    with pytest.raises(ValueError, match="train_weights and held_out_weights"):
        train_diagnostic_mlp(small, examples, examples, attention="imported")


def test_training_is_seeded_and_leaves_the_global_random_state_alone():
    small = {
        "vocab_size": VOCAB,
        "num_labels": 2,
        "embedding_dim": 4,
        "hidden_dim": 4,
        "pair": False,
    }
    train, held_out = _planted(40, seed=5), _planted(10, seed=6)
    state = torch.random.get_rng_state()
    first = train_diagnostic_mlp(
        small, train, held_out, attention="trained", training=MLPTraining(epochs=2, seed=3)
    )
    assert torch.equal(torch.random.get_rng_state(), state)
    again = train_diagnostic_mlp(
        small, train, held_out, attention="trained", training=MLPTraining(epochs=2, seed=3)
    )
    other = train_diagnostic_mlp(
        small, train, held_out, attention="trained", training=MLPTraining(epochs=2, seed=4)
    )
    for name, value in first.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[name]), name
    assert not torch.equal(first.model.embedding.weight, other.model.embedding.weight)


# The planted-token check (issue 13, "Done when"): label 1 iff the planted token occurs,
# among random filler tokens. A token-wise MLP reaches the planted token only through its
# attention weight, so zeroing that weight must flip the decision, and moving the weight
# elsewhere (permutation) must change the output; with uniform weights permutation is a no-op.


def _planted(count, seed):
    rng = np.random.default_rng(seed)
    examples = []
    for index in range(count):
        length = int(rng.integers(4, 12))
        tokens = [int(t) for t in rng.integers(2, VOCAB, size=length)]
        label = index % 2
        if label:
            tokens[int(rng.integers(length))] = PLANTED
        examples.append(Example(tokens=tokens, label=label))
    return examples


@pytest.fixture(scope="module")
def planted_models():
    small = {
        "vocab_size": VOCAB,
        "num_labels": 2,
        "embedding_dim": 16,
        "hidden_dim": 16,
        "pair": False,
    }
    train, held_out = _planted(400, seed=0), _planted(100, seed=1)
    training = MLPTraining(epochs=6, lr=1e-2, seed=0)
    return {
        mode: train_diagnostic_mlp(small, train, held_out, attention=mode, training=training).model
        for mode in ("trained", "uniform")
    }


def test_zeroing_the_planted_weight_flips_the_decision(planted_models):
    model = planted_models["trained"]
    examples = [e for e in _planted(60, seed=2) if e.label == 1]
    batch = make_batch([e.tokens for e in examples])
    planted = torch.tensor([e.tokens.index(PLANTED) for e in examples])
    rows = torch.arange(batch.size)
    intervention = intervention_for(model, batch)
    assert (intervention.probabilities.argmax(dim=1) == 1).float().mean() > 0.9
    keep = batch.mask.clone()
    keep[rows, planted] = False
    with torch.no_grad():
        zeroed = intervention.zeroed_probabilities(keep[:, None, :])[:, 0]
    flipped = (zeroed.argmax(dim=1) != intervention.probabilities.argmax(dim=1)).float().mean()
    assert flipped > 0.7
    # Serrano & Smith's single-weight zeroing: the top weight is the planted one, and it flips
    result = zeroing_diagnostics(model, batch, orders=["attention"])
    assert np.mean(result.single.top_position == planted.numpy()) > 0.9
    assert result.single.top_flipped.mean() > 0.7
    assert np.nanmean(result.flips["attention"].items) == pytest.approx(1.0, abs=0.2)
    # every order is defined for the MLP, the gradient ones included (one attention vector)
    everything = zeroing_diagnostics(model, batch)
    assert set(everything.flips) == set(ORDERS)
    assert everything.skipped == {}


def test_permutation_moves_the_output_far_more_than_with_uniform_attention(planted_models):
    examples = [e for e in _planted(60, seed=2) if e.label == 1]
    batch = make_batch([e.tokens for e in examples])
    trained = permutation_test(planted_models["trained"], batch, permutations=30, seed=0)
    uniform = permutation_test(planted_models["uniform"], batch, permutations=30, seed=0)
    assert np.median(trained.median_tvd) > 0.5
    # permuting equal weights leaves them equal: the uniform model's output cannot move
    assert np.max(uniform.median_tvd) <= 1e-6
    assert np.median(trained.median_tvd) > 1000 * max(np.median(uniform.median_tvd), 1e-6)


# The F1 table: a base BiLSTM trained here, its recipe, and the three variants.


def _recipe(pair=False):
    if pair:
        examples = pair_examples(80, seed=3)
        base_config = config("bilstm_attention", pair=True, embedding_dim=8, hidden_dim=8)
    else:
        examples = sentiment_examples(100, seed=3)
        base_config = config("bilstm_attention", embedding_dim=8, hidden_dim=8)
    return Recipe(config=base_config, examples=examples, seed=4, settings={"epochs": 3})


@pytest.mark.parametrize("pair", [False, True])
def test_table_numbers_equal_scikit_learn_on_the_held_out_examples(pair):
    recipe = _recipe(pair)
    base = train_classifier(recipe.config, recipe.examples, seed=recipe.seed, epochs=3).model
    calls = []
    table = diagnostic_mlp_table(
        recipe, base, progress=lambda done, total, record: calls.append((done, total))
    )
    held_out = recipe.held_out()
    labels = [e.label for e in held_out]
    assert table.held_out == tuple(recipe.split()[1])
    assert list(table.labels) == labels
    assert [row.variant for row in table.rows] == ["base", "trained", "uniform", "imported"]
    for row in table.rows:
        assert len(row.predicted) == len(held_out)
        assert row.macro_f1 == pytest.approx(f1_score(labels, row.predicted, average="macro"))
        assert row.accuracy == pytest.approx(accuracy_score(labels, row.predicted))
    contexts = [e.context for e in held_out] if pair else None
    batch = make_batch([e.tokens for e in held_out], contexts)
    with torch.no_grad():
        base_predicted = base(batch).logits.argmax(dim=1).tolist()
        assert list(table.row("base").predicted) == base_predicted
        for variant in ("trained", "uniform", "imported"):
            # the kept models give the table's predictions; the imported one now reads the
            # base model's attention itself (use_attention_of) instead of the stored weights
            predicted = table.models[variant](batch).logits.argmax(dim=1).tolist()
            assert list(table.row(variant).predicted) == predicted, variant
    assert calls[-1][1] == 3 * 3
    assert all(done <= total for done, total in calls)
    assert json.loads(json.dumps(table.as_dict()))["parameters"]["held_out_size"] == len(labels)


def test_the_mlp_starts_from_the_base_models_initial_embeddings():
    recipe = _recipe()
    # a learning rate of 1e-12 leaves the base model where it started (to float rounding)
    base = train_classifier(recipe.config, recipe.examples, seed=recipe.seed, epochs=1, lr=1e-12)
    start = starting_embeddings(recipe.config, recipe.seed, base.model, "initial")
    torch.testing.assert_close(start, base.model.embedding.weight.detach(), rtol=0, atol=1e-6)
    other = starting_embeddings(recipe.config, recipe.seed + 1, base.model, "initial")
    assert not torch.allclose(other, start)
    trained = starting_embeddings(recipe.config, recipe.seed, base.model, "trained")
    assert torch.equal(trained, base.model.embedding.weight.detach())


def test_table_refuses_bad_settings_by_name():
    recipe = _recipe()
    base = tiny_model()
    with pytest.raises(ValueError, match="embeddings: expected one of initial, trained"):
        diagnostic_mlp_table(recipe, base, embeddings="pretrained")
    with pytest.raises(ValueError, match="variants: expected some of"):
        diagnostic_mlp_table(recipe, base, variants=["frozen"])
    with pytest.raises(ValueError, match="not a model built by build_model"):
        diagnostic_mlp_table(recipe, _mlp())


def test_the_platforms_gradient_code_explains_the_mlp():
    # uniform weights a_i = 1/n: d logit_c / d x_i = a_i W^T (W_o[c] * (1 - h_i^2)), by hand
    model = _mlp("uniform")
    ids = [4, 9, 13, 22, 30]
    batch = make_batch([ids])
    (ours,) = gradient_scores(model, batch, torch.tensor([2]), {}, times_input=True)
    states = _states(model, ids)
    back = (_numpy(model.output.weight)[2] * (1 - states**2)) @ _numpy(model.token_layer.weight)
    embeddings = _numpy(model.embedding.weight)[ids]
    expected = (embeddings * back / len(ids)).sum(axis=1)
    np.testing.assert_allclose(ours.scores, expected, atol=1e-6)
