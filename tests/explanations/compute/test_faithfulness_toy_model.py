"""A model whose important token is known: the label is set by one planted token.

Texts are neutral noise; half of them hold one planted token (id 2) at a random
place and have label 1, the others have label 0. A BiLSTM learns this in about a
second. On held-out texts with the planted token, deleting it is the only way to
change the prediction, so gradient, integrated gradients, occlusion and omission
must rank it first, and their comprehensiveness must beat the seeded random
control's.
"""

from functools import partial

import numpy as np
import pytest

from explanations.compute.attribution import explain
from explanations.compute.batching import make_batch
from explanations.compute.faithfulness import faithfulness_scores
from explanations.compute.prediction import predict_proba
from explanations.compute.training import Example, train_classifier

PLANTED = 2
NOISE = range(3, 40)
CONFIG = {
    "architecture": "bilstm_attention",
    "vocab_size": 40,
    "num_labels": 2,
    "embedding_dim": 16,
    "hidden_dim": 16,
}
METHODS = ("gradient", "integrated_gradients", "occlusion", "omission")


def planted(count: int, seed: int, *, always: bool = False) -> tuple[list[Example], list[int]]:
    """Return ``count`` noise texts, every other one (or ``always``) with the planted token.

    Also return the planted token's position in each text (-1 where there is none).
    """
    rng = np.random.default_rng(seed)
    examples, positions = [], []
    for index in range(count):
        tokens = [int(t) for t in rng.choice(list(NOISE), size=int(rng.integers(6, 15)))]
        position = int(rng.integers(len(tokens)))
        label = 1 if always else index % 2
        if label:
            tokens[position] = PLANTED
        examples.append(Example(tokens=tokens, label=label))
        positions.append(position if label else -1)
    return examples, positions


@pytest.fixture(scope="module")
def trained():
    examples, _ = planted(400, seed=0)
    result = train_classifier(CONFIG, examples, seed=0, epochs=10)
    assert result.metrics["accuracy"] == pytest.approx(1.0)
    return result.model


@pytest.fixture(scope="module")
def explained(trained):
    examples, positions = planted(24, seed=1, always=True)
    seqs = [e.tokens for e in examples]
    batch = make_batch(seqs)
    scores = {
        method: [a.scores for a in explain(trained, batch, method)]
        for method in (*METHODS, "random")
    }
    return seqs, positions, scores


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_method_ranks_the_planted_token_first(explained, method):
    seqs, positions, scores = explained
    top = [int(np.argmax(s)) for s in scores[method]]
    assert top == positions


@pytest.mark.slow
def test_methods_beat_random_on_comprehensiveness(trained, explained):
    seqs, _, scores = explained
    results = faithfulness_scores(
        partial(predict_proba, trained), seqs, scores, metrics=["comprehensiveness"]
    )
    aopc = {
        method: np.mean([r.values["comprehensiveness_aopc"] for r in rows])
        for method, rows in results.items()
    }
    for method in METHODS:
        assert aopc[method] > aopc["random"] + 0.2, aopc


@pytest.mark.slow
def test_omission_is_the_leave_one_out_that_tau_loo_computes(trained, explained):
    # Omission (helper attribution code, exact BiLSTM path) and tau_loo's own
    # leave-one-out (deletions through predict_proba) are the same quantity, so
    # passing omission as the stored leave-one-out scores gives the same tau.
    seqs, _, scores = explained
    kwargs = {"metrics": ["tau_loo"]}
    probability = partial(predict_proba, trained)
    computed = faithfulness_scores(probability, seqs, scores, **kwargs)
    given = faithfulness_scores(
        probability, seqs, scores, leave_one_out=scores["omission"], **kwargs
    )
    for method in scores:
        assert [r.values["tau_loo"] for r in given[method]] == pytest.approx(
            [r.values["tau_loo"] for r in computed[method]], abs=1e-9
        )
    assert all(r.values["tau_loo"] == pytest.approx(1.0) for r in computed["omission"])
