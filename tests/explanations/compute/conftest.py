"""Small trained models on synthetic data, shared by the compute tests (session-scoped).

The single-text task: ids 2-11 are positive words, 12-21 negative ones, the rest
neutral; the label says which kind occurs more often. The pair task: the context
holds one key word (id 22 or 23); the label says whether the explained text holds
the same key (half the negatives hold the other key, half none). Both are learnt in a few epochs, so a trained model exists in seconds.
"""

from collections.abc import Callable

import numpy as np
import pytest
import torch

from explanations.compute.attribution import Attribution
from explanations.compute.batching import Batch, make_batch
from explanations.compute.training import Example, TrainResult, train_classifier

VOCAB_SIZE = 120
POSITIVE = range(2, 12)
NEGATIVE = range(12, 22)
KEYS = range(22, 24)
NEUTRAL = range(32, VOCAB_SIZE)


def sentiment_examples(count: int, seed: int) -> list[Example]:
    """Return ``count`` single-text examples of the counting task."""
    rng = np.random.default_rng(seed)
    examples: list[Example] = []
    while len(examples) < count:
        length = int(rng.integers(4, 16))
        tokens = [int(t) for t in rng.choice(list(NEUTRAL), size=length)]
        positives = int(rng.integers(0, 3))
        negatives = int(rng.integers(0, 3))
        if positives == negatives:
            continue
        for _ in range(positives):
            tokens[int(rng.integers(length))] = int(rng.choice(list(POSITIVE)))
        for _ in range(negatives):
            tokens[int(rng.integers(length))] = int(rng.choice(list(NEGATIVE)))
        pos = sum(t in POSITIVE for t in tokens)
        neg = sum(t in NEGATIVE for t in tokens)
        if pos == neg:
            continue
        examples.append(Example(tokens=tokens, label=int(pos > neg)))
    return examples


def pair_examples(count: int, seed: int) -> list[Example]:
    """Return ``count`` pair examples of the key-matching task."""
    rng = np.random.default_rng(seed)
    examples: list[Example] = []
    for index in range(count):
        key = int(rng.choice(list(KEYS)))
        context = [int(t) for t in rng.choice(list(NEUTRAL), size=int(rng.integers(3, 8)))]
        context[int(rng.integers(len(context)))] = key
        label = index % 2
        other = int(rng.choice([k for k in KEYS if k != key]))
        tokens = [int(t) for t in rng.choice(list(NEUTRAL), size=int(rng.integers(3, 10)))]
        if label or index % 4 == 0:  # half the negatives hold the other key, half no key
            tokens[int(rng.integers(len(tokens)))] = key if label else other
        examples.append(Example(tokens=tokens, label=label, context=context))
    return examples


def config(architecture: str, *, pair: bool = False, **extra: object) -> dict[str, object]:
    """Return a small model config for the synthetic vocabulary."""
    return {
        "architecture": architecture,
        "vocab_size": VOCAB_SIZE,
        "num_labels": 2,
        "pair": pair,
        "embedding_dim": 32,
        "hidden_dim": 32,
        **extra,
    }


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Run these tests on one thread: on a shared 2-core machine, two OpenMP threads that
    wait for each other while other processes hold the cores make small models 10-50x
    slower (measured); results do not depend on the thread count beyond float rounding."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def trained_bilstm() -> TrainResult:
    """Return a BiLSTM attention model trained on the counting task."""
    return train_classifier(
        config("bilstm_attention"), sentiment_examples(400, seed=1), seed=0, epochs=8
    )


@pytest.fixture(scope="session")
def trained_transformer() -> TrainResult:
    """Return a transformer trained on the counting task."""
    return train_classifier(
        config("transformer"), sentiment_examples(400, seed=1), seed=0, epochs=8
    )


@pytest.fixture(scope="session")
def trained_pair_bilstm() -> TrainResult:
    """Return a BiLSTM attention model trained (briefly) on the pair task."""
    return train_classifier(
        config("bilstm_attention", pair=True), pair_examples(300, seed=2), seed=0, epochs=10
    )


@pytest.fixture(scope="session")
def trained_pair_transformer() -> TrainResult:
    """Return a transformer trained (briefly) on the pair task."""
    return train_classifier(
        config("transformer", pair=True), pair_examples(300, seed=2), seed=0, epochs=4
    )


@pytest.fixture(scope="session")
def sentiment_batch() -> Batch:
    """Return unseen single-text instances of varied length, unsorted."""
    examples = sentiment_examples(12, seed=99)
    return make_batch([e.tokens for e in examples])


@pytest.fixture(scope="session")
def pair_batch() -> Batch:
    """Return unseen pair instances."""
    examples = pair_examples(8, seed=98)
    return make_batch([e.tokens for e in examples], [e.context or [] for e in examples])


# Helpers that run Captum (the independent reference) on our models' embedding input.


def embedding_forward(
    model, batch: Batch
) -> tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]:
    """Return the batch's embeddings and a logits function of the embeddings.

    Captum stacks copies of the inputs (e.g. integrated gradients' steps) along
    the batch dimension, batch after batch; the function repeats the batch to match.
    """
    embeddings = model.embed(batch).detach().requires_grad_(True)

    def forward(values: torch.Tensor) -> torch.Tensor:
        copies = values.shape[0] // batch.size
        rows = batch.select(torch.arange(batch.size).repeat(copies)) if copies > 1 else batch
        return model.forward_embeddings(values, rows).logits

    return embeddings, forward


def predicted(model, batch: Batch) -> torch.Tensor:
    """Return the predicted class of every instance."""
    with torch.no_grad():
        return model(batch).logits.argmax(dim=1)


def assert_matches(ours: list[Attribution], reference: np.ndarray, batch: Batch) -> float:
    """Assert max |ours - reference| <= 1e-5 * the largest |score|; return that difference."""
    lengths = batch.lengths.tolist()
    assert [len(a.scores) for a in ours] == lengths
    largest = max(float(np.abs(a.scores).max()) for a in ours if len(a.scores))
    assert largest > 0
    worst = max(
        float(np.abs(a.scores - reference[row, :n]).max())
        for row, (a, n) in enumerate(zip(ours, lengths, strict=True))
        if n
    )
    assert worst <= 1e-5 * largest, f"max difference {worst:.3g} vs largest score {largest:.3g}"
    return worst
