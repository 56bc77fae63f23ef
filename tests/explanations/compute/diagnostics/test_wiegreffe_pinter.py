"""Wiegreffe & Pinter's tests: uniform attention, shared splits, seed statistics, the adversary.

References are independent of the code under test: 1/length written out, scipy's
Jensen-Shannon distance and entropy (KL), and sums worked out here.
"""

import json

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from scipy.stats import entropy

from explanations.compute.architectures import ClassifierOutput, build_model, resolve_config
from explanations.compute.attribution import bilstm_gradients, gradients
from explanations.compute.attribution.bilstm_layers import Readout
from explanations.compute.batching import make_batch
from explanations.compute.diagnostics.recipe import Recipe
from explanations.compute.diagnostics.wiegreffe_pinter import (
    HeldOutOutputs,
    adversary_loss,
    adversary_loss_fn,
    held_out_outputs,
    model_consistent_adversary,
    seed_list,
    seed_statistics,
    seed_variance,
    uniform_baseline,
)
from explanations.compute.serialization import load_model, save_model
from explanations.compute.training import Example, stratified_split, train_classifier
from explanations.compute.vocab import Vocabulary

VOCAB = 30
CONFIG = {
    "architecture": "bilstm_attention",
    "vocab_size": VOCAB,
    "num_labels": 2,
    "embedding_dim": 8,
    "hidden_dim": 8,
    "dropout": 0.0,
}
SETTINGS = {"epochs": 2, "batch_size": 8, "lr": 0.01, "patience": 2}


def planted(count: int, seed: int = 0) -> list[Example]:
    """Return examples of neutral tokens (10-29) with one planted token: 2 -> label 0, 3 -> 1."""
    rng = np.random.default_rng(seed)
    examples = []
    for position in range(count):
        label = position % 2
        tokens = rng.integers(10, VOCAB, size=int(rng.integers(3, 8))).tolist()
        tokens[int(rng.integers(len(tokens)))] = 2 + label
        examples.append(Example(tokens=tokens, label=label))
    return examples


def uniform_rows(lengths: list[int], width: int) -> torch.Tensor:
    """Return 1/length on each row's real tokens and 0 on its padding, written out."""
    rows = [[1.0 / n] * n + [0.0] * (width - n) for n in lengths]
    return torch.tensor(rows, dtype=torch.float32)


@pytest.fixture(scope="module")
def recipe() -> Recipe:
    return Recipe(config=CONFIG, examples=planted(40), seed=3, settings=SETTINGS)


@pytest.fixture(scope="module")
def base(recipe):
    return recipe.train()


# Uniform attention ---------------------------------------------------------------------


def test_uniform_attention_is_one_over_length_on_real_tokens_and_zero_on_padding():
    model = build_model({**CONFIG, "attention": "uniform"}).eval()
    batch = make_batch([[4, 5, 6], [7], [8, 9, 10, 11, 12], [13, 14]])
    with torch.no_grad():
        attention = model(batch).attention
    assert torch.equal(attention, uniform_rows([3, 1, 5, 2], 5))


def test_a_trained_uniform_model_keeps_exactly_uniform_attention():
    examples = planted(24)
    result = train_classifier({**CONFIG, "attention": "uniform"}, examples, seed=1, epochs=2)
    model = result.model
    assert float(model.attention_vector.weight.abs().sum()) == 0.0
    assert not any(p.requires_grad for p in model.attention_hidden.parameters())
    batch = make_batch([e.tokens for e in examples])
    with torch.no_grad():
        attention = model(batch).attention
    assert torch.equal(attention, uniform_rows(batch.lengths.tolist(), attention.shape[1]))


def test_the_fast_readout_of_the_attribution_methods_sees_uniform_attention_too():
    model = build_model({**CONFIG, "attention": "uniform"}).eval()
    with torch.no_grad():
        model.attention_hidden.weight.normal_()  # a stray W_h must not matter: v is zero
        batch = make_batch([[4, 5, 6], [7], [8, 9, 10, 11, 12]])
        states = model.encode(model.embed(batch), batch.lengths)
        hidden = model.hidden_dim
        forward = states[..., :hidden].transpose(0, 1).contiguous()
        backward = states[..., hidden:].transpose(0, 1).contiguous()
        fast = Readout(model).logits(forward, backward, batch.mask.T, None)
        assert torch.allclose(fast, model(batch).logits, atol=1e-6)


def test_the_hand_written_gradient_of_a_uniform_model_matches_autograd():
    torch.manual_seed(0)
    model = build_model({**CONFIG, "attention": "uniform"}).eval()
    with torch.no_grad():
        model.attention_hidden.weight.normal_()
    batch = make_batch([[4, 5, 6], [7], [8, 9, 10, 11, 12]])
    fast = bilstm_gradients.gradient_scores(model, batch, None, {}, times_input=True)
    reference = gradients.gradient_scores(model, batch, None, {}, times_input=True)
    for mine, theirs in zip(fast, reference, strict=True):
        assert np.allclose(mine.scores, theirs.scores, atol=1e-6)


def test_uniform_and_learned_models_of_one_seed_start_from_the_same_encoder():
    torch.manual_seed(5)
    learned = build_model(CONFIG)
    torch.manual_seed(5)
    uniform = build_model({**CONFIG, "attention": "uniform"})
    assert torch.equal(learned.embedding.weight, uniform.embedding.weight)
    assert torch.equal(learned.output.weight, uniform.output.weight)


def test_configs_without_the_attention_key_resolve_to_learned_and_bad_values_are_named():
    assert resolve_config(CONFIG)["attention"] == "learned"
    with pytest.raises(ValueError, match="attention must be one of learned, uniform, got 'flat'"):
        resolve_config({**CONFIG, "attention": "flat"})
    transformer = {"architecture": "transformer", "vocab_size": 9, "num_labels": 2}
    with pytest.raises(ValueError, match="bilstm_attention only: the transformer has no single"):
        resolve_config({**transformer, "attention": "uniform"})


def test_a_model_saved_before_the_attention_key_existed_still_loads(tmp_path):
    model = build_model(CONFIG)
    vocab = Vocabulary.build([[f"w{i}" for i in range(VOCAB - 2)]])
    save_model(model, CONFIG, vocab, ["a", "b"], tmp_path)
    card_path = tmp_path / "model.json"
    card = json.loads(card_path.read_text())
    del card["config"]["attention"]
    card_path.write_text(json.dumps(card))
    loaded, config, _, _ = load_model(tmp_path)
    assert config["attention"] == "learned"
    assert not loaded.uniform_attention
    assert torch.equal(loaded.attention_vector.weight, model.attention_vector.weight)


# The shared split ----------------------------------------------------------------------


def test_split_seed_draws_the_held_out_split_and_seed_alone_still_draws_both():
    examples = planted(30)
    labels = [e.label for e in examples]
    shared = train_classifier(CONFIG, examples, seed=7, split_seed=2, epochs=1)
    own = train_classifier(CONFIG, examples, seed=2, epochs=1)
    assert shared.held_out == own.held_out == stratified_split(labels, 0.2, 2)[1]
    default = train_classifier(CONFIG, examples, seed=7, epochs=1)
    assert default.held_out == stratified_split(labels, 0.2, 7)[1]
    assert default.held_out != shared.held_out  # seeds 2 and 7 draw different splits here
    # seed 7 drew the weights, split seed 2 only the split
    assert not torch.equal(shared.model.embedding.weight, own.model.embedding.weight)


def test_recipe_training_keeps_the_base_split_whatever_the_seed(recipe):
    assert recipe.train(seed=11, epochs=1).held_out == recipe.split()[1]


def test_recipe_settings_are_checked_by_name():
    with pytest.raises(ValueError, match="recipe settings lr_decay unknown"):
        Recipe(config=CONFIG, examples=planted(10), settings={"lr_decay": 0.5})


# Seed statistics -----------------------------------------------------------------------


def _outputs(probabilities, attention) -> HeldOutOutputs:
    probabilities = np.asarray(probabilities, dtype=float)
    attention = np.asarray(attention, dtype=float)
    return HeldOutOutputs(
        probabilities=probabilities,
        attention=attention,
        lengths=(attention > 0).sum(axis=1),
        predicted=probabilities.argmax(axis=1),
        labels=np.zeros(len(probabilities), dtype=int),
    )


def test_seed_statistics_are_the_median_jsd_and_the_mean_tvd_over_seeds():
    base = _outputs([[0.9, 0.1], [0.3, 0.7]], [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    seeds = [
        _outputs([[0.8, 0.2], [0.3, 0.7]], [[1.0, 0.0, 0.0], [0.2, 0.3, 0.5]]),
        _outputs([[0.5, 0.5], [0.1, 0.9]], [[0.5, 0.5, 0.0], [0.5, 0.3, 0.2]]),
        _outputs([[0.9, 0.1], [0.6, 0.4]], [[0.25, 0.75, 0.0], [1 / 3, 1 / 3, 1 / 3]]),
    ]
    divergences, distances, median, mean = seed_statistics(seeds, base)
    # TVD of two-class distributions is |p_0 - q_0|: instance 0: .1, .4, 0; instance 1: 0, .2, .3.
    assert np.allclose(distances, [[0.1, 0.0], [0.4, 0.2], [0.0, 0.3]])
    assert np.allclose(mean, [0.5 / 3, 0.5 / 3])
    expected = np.array(
        [[jensenshannon(s.attention[i], base.attention[i]) ** 2 for i in range(2)] for s in seeds]
    )
    assert np.allclose(divergences, expected, atol=1e-12)
    # Seed 1, instance 0: p = (1, 0), q = (.5, .5), m = (.75, .25); JSD = (KL(p||m) + KL(q||m)) / 2.
    by_hand = 0.5 * (np.log(1 / 0.75)) + 0.5 * (0.5 * np.log(0.5 / 0.75) + 0.5 * np.log(0.5 / 0.25))
    assert np.isclose(divergences[0, 0], by_hand)
    assert divergences[1, 0] == 0.0
    assert divergences[0, 1] == 0.0
    assert np.allclose(median, np.median(expected, axis=0))
    assert np.isclose(median[0], expected[2, 0])  # the middle of 0, by_hand and seed 3's


def test_seed_variance_compares_each_seed_with_the_base_on_the_held_out_split(recipe, base):
    calls: list[tuple[int, int, str]] = []
    result = seed_variance(
        recipe, base.model, seeds=2, progress=lambda d, t, w: calls.append((d, t, w))
    )
    assert result.seeds == (4, 5)
    assert result.held_out.tolist() == recipe.split()[1] == base.held_out
    held_out = recipe.held_out()
    reference = held_out_outputs(base.model, held_out)
    assert np.array_equal(result.base_max_attention, reference.attention.max(axis=1))
    assert np.array_equal(result.base_predicted, reference.probabilities.argmax(axis=1))
    assert np.isclose(result.base_f1, base.metrics["macro_f1"])
    seed_model = recipe.train(seed=5).model
    again = held_out_outputs(seed_model, held_out)
    assert np.isclose(result.seed_f1[1], again.macro_f1)
    tvd_by_hand = 0.5 * np.abs(again.probabilities - reference.probabilities).sum(axis=1)
    assert np.allclose(result.output_tvd[1], tvd_by_hand)
    assert np.allclose(result.mean_tvd, result.output_tvd.mean(axis=0))
    assert calls[-1][0] == calls[-1][1] == 2 * SETTINGS["epochs"]
    assert [c[0] for c in calls] == sorted(c[0] for c in calls)
    summary = result.to_json(instances=True)
    assert json.loads(json.dumps(summary)) == summary
    assert summary["seeds"] == [4, 5]
    assert len(summary["instances"]["median_jsd"]) == 8


def test_seeds_must_differ_from_the_base_seed(recipe):
    assert seed_list(recipe, 3) == (4, 5, 6)
    assert seed_list(recipe, [10, 20]) == (10, 20)
    with pytest.raises(ValueError, match="differ from the base model's seed 3"):
        seed_list(recipe, [3, 4])
    with pytest.raises(ValueError, match="at least one seed"):
        seed_list(recipe, 0)


def test_seed_variance_is_deterministic(recipe, base):
    first = seed_variance(recipe, base.model, seeds=[8])
    second = seed_variance(recipe, base.model, seeds=[8])
    assert np.array_equal(first.attention_jsd, second.attention_jsd)
    assert np.array_equal(first.output_tvd, second.output_tvd)
    assert np.array_equal(first.seed_f1, second.seed_f1)


# Uniform baseline ----------------------------------------------------------------------


def test_uniform_baseline_measures_both_models_on_the_base_split(recipe, base):
    result = uniform_baseline(recipe, base_model=base.model)
    assert result.held_out.tolist() == base.held_out
    assert result.model.uniform_attention
    lengths = result.uniform.lengths
    width = result.uniform.attention.shape[1]
    expected = np.array([[1.0 / n] * n + [0.0] * (width - n) for n in lengths])
    assert np.allclose(result.uniform.attention, expected, atol=1e-7)
    assert result.base is not None
    assert np.isclose(result.base.macro_f1, base.metrics["macro_f1"])
    assert np.isclose(result.uniform.macro_f1, result.metrics["macro_f1"])
    summary = result.to_json()
    assert summary["f1_difference"] == pytest.approx(
        base.metrics["macro_f1"] - result.metrics["macro_f1"]
    )
    assert json.loads(json.dumps(summary)) == summary


def test_the_tests_refuse_a_transformer_or_a_uniform_model_under_test():
    examples = planted(10)
    transformer = {"architecture": "transformer", "vocab_size": VOCAB, "num_labels": 2}
    with pytest.raises(ValueError, match="need the BiLSTM with additive attention"):
        uniform_baseline(Recipe(config=transformer, examples=examples))
    with pytest.raises(ValueError, match="uniform attention already"):
        uniform_baseline(Recipe(config={**CONFIG, "attention": "uniform"}, examples=examples))


# Model-consistent adversary ------------------------------------------------------------


def test_adversary_loss_matches_a_hand_computation_for_one_batch():
    logits = torch.tensor([[0.0, 1.0], [2.0, -1.0]])
    base_logits = torch.tensor([[1.0, 0.0], [0.5, 0.5]])
    attention = torch.tensor([[0.7, 0.2, 0.1], [0.5, 0.5, 0.0]])
    base_attention = torch.tensor([[0.2, 0.3, 0.5], [0.9, 0.1, 0.0]])
    lam = 0.3
    value = adversary_loss(
        ClassifierOutput(logits=logits, attention=attention),
        ClassifierOutput(logits=base_logits, attention=base_attention),
        lam,
    )
    p = np.exp(logits.numpy()) / np.exp(logits.numpy()).sum(axis=1, keepdims=True)
    q = np.exp(base_logits.numpy()) / np.exp(base_logits.numpy()).sum(axis=1, keepdims=True)
    distances = 0.5 * np.abs(p - q).sum(axis=1)
    divergences = [
        entropy(attention[0], base_attention[0]),
        entropy(attention[1, :2], base_attention[1, :2]),
    ]
    expected = np.mean(distances - lam * np.array(divergences))
    assert float(value) == pytest.approx(expected, abs=1e-6)


def test_adversary_loss_fn_compares_with_the_frozen_base_model_on_the_same_batch(base):
    adversary = build_model(CONFIG).eval()
    batch = make_batch([[2, 11, 12], [3, 14]])
    before = [None if p.grad is None else p.grad.clone() for p in base.model.parameters()]
    loss = adversary_loss_fn(base.model, 0.5)(adversary(batch), batch, torch.tensor([0, 1]))
    with torch.no_grad():
        expected = adversary_loss(adversary(batch), base.model(batch), 0.5)
    assert torch.isclose(loss, expected)
    loss.backward()
    after = [p.grad for p in base.model.parameters()]
    assert all(
        (a is None and b is None) or (a is not None and b is not None and torch.equal(a, b))
        for a, b in zip(before, after, strict=True)
    )  # the base model is frozen: no gradient reaches it


def test_an_adversary_with_lambda_zero_reproduces_the_base_outputs():
    examples = planted(60, seed=1)
    recipe = Recipe(config=CONFIG, examples=examples, seed=0, settings=SETTINGS | {"epochs": 6})
    base = recipe.train()
    (run,) = model_consistent_adversary(recipe, base.model, lambdas=[0.0], epochs=12, patience=3)
    assert run.mean_tvd < 0.05
    assert run.outputs.macro_f1 == pytest.approx(base.metrics["macro_f1"], abs=0.1)
    strong = model_consistent_adversary(recipe, base.model, lambdas=[1.0], epochs=4)[0]
    assert strong.mean_jsd > run.mean_jsd


def test_adversary_runs_report_per_lambda_and_are_deterministic(recipe, base):
    calls: list[tuple[int, int, str]] = []
    runs = model_consistent_adversary(
        recipe,
        base.model,
        lambdas=[0.01, 0.1],
        epochs=2,
        progress=lambda d, t, w: calls.append((d, t, w)),
    )
    again = model_consistent_adversary(recipe, base.model, lambdas=[0.01, 0.1], epochs=2)
    assert [r.lam for r in runs] == [0.01, 0.1]
    for run, rerun in zip(runs, again, strict=True):
        assert np.array_equal(run.tvd, rerun.tvd)
        assert np.array_equal(run.jsd, rerun.jsd)
        assert run.outputs.macro_f1 == rerun.outputs.macro_f1
        reference = held_out_outputs(base.model, recipe.held_out())
        expected = [
            jensenshannon(a, b) ** 2
            for a, b in zip(run.outputs.attention, reference.attention, strict=True)
        ]
        assert np.allclose(run.jsd, expected, atol=1e-9)
        assert run.metrics["best_epoch"] == 1 + int(
            np.argmin([h["train_loss"] for h in run.metrics["history"]])
        )
        summary = run.to_json(instances=True)
        assert json.loads(json.dumps(summary)) == summary
    assert calls[-1][:2] == (4, 4)
    with pytest.raises(ValueError, match="lambdas must be finite numbers >= 0"):
        model_consistent_adversary(recipe, base.model, lambdas=[-1.0])
