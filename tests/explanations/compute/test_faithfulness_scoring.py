"""The batched runner: one shared pass of variants, contexts, empty instances, errors."""

import subprocess
import sys
from fractions import Fraction as F

import numpy as np
import pytest

from explanations.compute.faithfulness import MODEL_METRICS, faithfulness_scores
from tests.explanations.compute.toy_probabilities import CountingModel, LogisticModel

ALL = [*MODEL_METRICS, "agreement_tau", "agreement_jsd"]


def test_every_variant_of_the_batch_goes_through_one_call_without_duplicates():
    model = CountingModel()
    faithfulness_scores(
        model,
        [[5, 6, 7, 8]],  # distinct ids, so distinct kept positions give distinct sequences
        {"a": [[0.4, 0.3, 0.2, 0.1]], "b": [[0.1, 0.2, 0.3, 0.4]]},
        metrics=ALL,
    )
    assert len(model.calls) == 1
    ((sent, contexts),) = model.calls
    assert contexts is None
    # Kept positions of the distinct variants, by hand. Bins give k = 1, 1, 1, 1, 2.
    # whole {0123}; single deletions {123} {023} {013} {012};
    # a (order 0,1,2,3): prefix deletions {123} {23} {3} {}, selections {0} {01};
    # b (order 3,2,1,0): prefix deletions {012} {01} {0} {}, selections {3} {23}.
    # Every one of b's is already there: 1 + 4 + 3 + 2 = 10 distinct variants.
    assert len(sent) == 10
    assert len({tuple(s) for s in sent}) == len(sent)


def test_dedupe_reuses_rows_for_a_single_method():
    # One method on four tokens: whole (1) + single deletions (4) + prefixes of 2..4 (3)
    # + selections of top 1 and top 2 (2; bins give k = 1, 1, 1, 1, 2) = 10.
    model = CountingModel()
    faithfulness_scores(model, [[1, 0, 1, 1]], {"a": [[0.4, 0.3, 0.2, 0.1]]}, metrics=ALL)
    assert len(model.calls[0][0]) == 10
    model = CountingModel()
    faithfulness_scores(model, [[1, 0, 1, 1]], {"a": [[0.4, 0.3, 0.2, 0.1]]}, metrics=["tau_loo"])
    assert len(model.calls[0][0]) == 5


def test_batch_results_equal_one_instance_at_a_time():
    rng = np.random.default_rng(0)
    seqs = [rng.integers(0, 3, n).tolist() for n in (3, 8, 1, 12)]
    explanations = {m: [rng.normal(size=len(s)) for s in seqs] for m in ("x", "y")}
    together = faithfulness_scores(LogisticModel(), seqs, explanations, metrics=ALL)
    for i, seq in enumerate(seqs):
        alone = faithfulness_scores(
            LogisticModel(), [seq], {m: [v[i]] for m, v in explanations.items()}, metrics=ALL
        )
        for m in explanations:
            assert together[m][i].values == pytest.approx(alone[m][0].values)
            assert together[m][i].reasons == alone[m][0].reasons


def test_chunked_evaluation_gives_the_same_scores():
    seqs = [[1, 0, 1, 1, 0], [0, 0, 1]]
    explanations = {"m": [[0.5, 0.1, 0.4, 0.3, 0.2], [0.3, 0.2, 0.1]]}
    model = CountingModel()
    chunked = faithfulness_scores(model, seqs, explanations, metrics=ALL, chunk_size=4)
    assert len(model.calls) > 1
    assert all(len(sent) <= 4 for sent, _ in model.calls)
    whole = faithfulness_scores(CountingModel(), seqs, explanations, metrics=ALL)
    assert chunked["m"][0].values == whole["m"][0].values
    assert chunked["m"][1].values == whole["m"][1].values


def test_contexts_go_with_their_instance_and_are_never_erased():
    # Pair task: p1 counts the context's tokens too. Context [1, 1] with text [0, 1]:
    # p1 = (1 + 3) / (2 + 4) = 2/3. Deleting the top token (position 1, the one):
    # p1 = (1 + 2) / (2 + 3) = 3/5. Keeping only it: p1 = (1 + 3) / (2 + 3) = 4/5.
    model = CountingModel()
    result = faithfulness_scores(
        model,
        [[0, 1], [5, 5, 5]],
        {"m": [[0.1, 0.9], [0.3, 0.2, 0.1]]},
        contexts=[[1, 1], [7]],
        metrics=["comprehensiveness", "sufficiency"],
        bins=[0.5],
    )
    values = result["m"][0].values
    assert values["comprehensiveness@50"] == pytest.approx(float(F(2, 3) - F(3, 5)))
    assert values["sufficiency@50"] == pytest.approx(float(F(2, 3) - F(4, 5)))
    ((sent, contexts),) = model.calls
    assert len(sent) == 6  # per instance: the whole, one deletion, one selection
    for seq, context in zip(sent, contexts, strict=True):
        assert context == ([7] if 5 in seq else [1, 1])


def test_empty_instances_get_none_with_a_reason():
    result = faithfulness_scores(
        CountingModel(), [[], [1, 0]], {"m": [[], [0.2, 0.1]]}, metrics=ALL
    )["m"]
    empty = result[0]
    assert empty.values["comprehensiveness_aopc"] is None
    assert empty.values["decision_flip"] is None
    assert empty.values["tau_loo"] is None
    assert empty.reasons["tau_loo"] == "the instance has no tokens"
    assert result[1].values["comprehensiveness_aopc"] is not None
    assert not any(isinstance(v, float) and np.isnan(v) for r in result for v in r.values.values())


def test_bad_input_is_refused_with_a_clear_message():
    model = CountingModel()
    with pytest.raises(ValueError, match=r"explanations\['m'\]\[0\]: expected 3 scores"):
        faithfulness_scores(model, [[1, 0, 1]], {"m": [[0.1, 0.2]]})
    with pytest.raises(ValueError, match=r"explanations\['m'\]: 1 score vectors for 2 instances"):
        faithfulness_scores(model, [[1], [0]], {"m": [[0.1]]})
    with pytest.raises(ValueError, match="unknown"):
        faithfulness_scores(model, [[1]], {"m": [[0.1]]}, metrics=["aopc"])
    with pytest.raises(ValueError, match="targets"):
        faithfulness_scores(model, [[1]], {"m": [[0.1]]}, targets=[0, 1])
    with pytest.raises(ValueError, match="targets"):
        faithfulness_scores(model, [[1]], {"m": [[0.1]]}, base_probs=[[0.5, 0.5]], targets=[2])
    with pytest.raises(ValueError, match="probability function returned shape"):
        faithfulness_scores(lambda seqs, ctx: np.ones((1, 2)), [[1, 0]], {"m": [[0.1, 0.2]]})
    assert model.calls == []


def test_compute_modules_do_not_load_django():
    code = (
        "import sys, explanations.compute.faithfulness, explanations.compute.plausibility;"
        "assert 'django' not in sys.modules, 'django imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
