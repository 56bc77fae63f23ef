"""Training: seeded and deterministic, stratified split, metrics checked against scikit-learn."""

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score

from explanations.compute.training import Example, macro_f1, stratified_split, train_classifier
from tests.explanations.compute.conftest import config, sentiment_examples


@pytest.mark.parametrize("seed", range(5))
def test_macro_f1_matches_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 4, size=30)
    predicted = rng.integers(0, 3, size=30)  # label 3 never predicted
    assert macro_f1(truth, predicted) == pytest.approx(f1_score(truth, predicted, average="macro"))


def test_stratified_split_holds_out_each_label_in_proportion_and_is_seeded():
    labels = [0] * 50 + [1] * 30 + [2] * 20
    train, val = stratified_split(labels, 0.2, seed=3)
    assert sorted(train + val) == list(range(100))
    assert [sum(labels[i] == k for i in val) for k in range(3)] == [10, 6, 4]
    assert stratified_split(labels, 0.2, seed=3) == (train, val)
    assert stratified_split(labels, 0.2, seed=4) != (train, val)
    with pytest.raises(ValueError, match="val_fraction"):
        stratified_split(labels, 1.0, seed=0)


def _tiny():
    return config("bilstm_attention", embedding_dim=8, hidden_dim=8)


def test_same_seed_gives_identical_weights_and_another_seed_does_not():
    examples = sentiment_examples(60, seed=5)
    first = train_classifier(_tiny(), examples, seed=1, epochs=2)
    again = train_classifier(_tiny(), examples, seed=1, epochs=2)
    other = train_classifier(_tiny(), examples, seed=2, epochs=2)
    for name, value in first.model.state_dict().items():
        assert torch.equal(value, again.model.state_dict()[name]), name
    assert not torch.equal(first.model.embedding.weight, other.model.embedding.weight)
    assert first.metrics == again.metrics


def test_progress_history_and_early_stopping():
    calls = []
    result = train_classifier(
        _tiny(),
        sentiment_examples(60, seed=5),
        seed=0,
        epochs=30,
        patience=1,
        lr=0.05,
        progress=lambda epoch, total, record: calls.append((epoch, total, record["val_loss"])),
    )
    metrics = result.metrics
    assert [c[0] for c in calls] == list(range(1, metrics["epochs_run"] + 1))
    assert all(c[1] == 30 for c in calls)
    assert metrics["epochs_run"] < 30
    assert metrics["epochs_run"] == metrics["best_epoch"] + 1
    best = result.history[metrics["best_epoch"] - 1]
    key = max((h["val_macro_f1"], -h["val_loss"]) for h in result.history)
    assert (best["val_macro_f1"], -best["val_loss"]) == key
    assert metrics["val_loss"] == best["val_loss"]
    assert metrics["accuracy"] == best["val_accuracy"]
    assert metrics["macro_f1"] == best["val_macro_f1"]
    assert metrics["train_size"] + metrics["val_size"] == 60


@pytest.mark.parametrize("architecture", ["bilstm_attention", "transformer"])
def test_trained_model_beats_the_majority_class_on_held_out_data(architecture):
    """The demo-size model (embedding 64, hidden 64) on 400 short synthetic texts."""
    examples = sentiment_examples(400, seed=11)
    result = train_classifier(
        config(architecture, embedding_dim=64, hidden_dim=64), examples, seed=0, epochs=10
    )
    metrics = result.metrics
    assert metrics["val_size"] == 80
    assert metrics["accuracy"] > metrics["majority_baseline"] + 0.2
    assert metrics["macro_f1"] > 0.7
    assert not result.model.training


@pytest.mark.parametrize(
    ("examples", "message"),
    [
        ([Example([3, 4], 5)], "label 5 outside 0..1"),
        ([Example([3, 400], 1)], "token id outside the vocabulary"),
        ([Example([3], 1, context=[4])], "must have no context"),
        ([], "no training examples"),
    ],
)
def test_bad_examples_are_refused(examples, message):
    with pytest.raises(ValueError, match=message):
        train_classifier(_tiny(), examples)
