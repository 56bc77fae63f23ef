"""The explain() entry point: methods, parameters, targets, batching and controls."""

import subprocess
import sys

import numpy as np
import pytest
import torch

from explanations.compute.architectures import build_model
from explanations.compute.attribution import (
    METHOD_FAMILIES,
    METHODS,
    Attribution,
    bilstm_erasure,
    bilstm_gradients,
    erasure,
    explain,
    gradients,
    lrp,
    method_parameters,
    reinitialize,
    scheduling,
)
from explanations.compute.batching import Batch, make_batch
from explanations.compute.registry import supported_methods
from tests.explanations.compute.conftest import config

BILSTM_METHODS = supported_methods("bilstm_attention")
TRANSFORMER_METHODS = supported_methods("transformer")


def test_each_architecture_supports_every_method_but_one():
    assert tuple(m for m in METHODS if m != "attention_rollout") == BILSTM_METHODS
    assert tuple(m for m in METHODS if m != "lrp") == TRANSFORMER_METHODS


def test_method_names_are_the_design_documents():
    assert METHODS == (
        "attention",
        "attention_rollout",
        "gradient",
        "grad_input",
        "integrated_gradients",
        "occlusion",
        "omission",
        "lrp",
        "random",
    )


def test_every_method_has_a_design_family():
    assert set(METHOD_FAMILIES) == set(METHODS)
    assert set(METHOD_FAMILIES.values()) == {
        "attention",
        "gradient",
        "propagation",
        "occlusion",
        "random",
    }


def test_method_parameters_resolve_the_documented_defaults():
    assert method_parameters("integrated_gradients") == {
        "output": "logit",
        "n_steps": 50,
        "integration": "gausslegendre",
        "baseline": "zero",
    }
    assert method_parameters("integrated_gradients", n_steps=20)["n_steps"] == 20
    assert method_parameters("gradient") == {"output": "logit", "norm": "l2"}
    assert method_parameters("occlusion")["output"] == "probability"
    assert method_parameters("lrp") == {"output": "logit", "epsilon": 0.001, "bias_factor": 0.0}
    assert method_parameters("random") == {"seed": 0, "distribution": "uniform"}


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("saliency", {}, "unknown attribution method 'saliency'"),
        ("integrated_gradients", {"steps": 5}, "takes no parameter steps"),
        ("integrated_gradients", {"n_steps": 1}, "n_steps must be an integer >= 2"),
        ("integrated_gradients", {"baseline": "mask"}, "baseline must be one of"),
        ("lrp", {"epsilon": -1}, "epsilon must be a non-negative number"),
        ("lrp", {"eps": 0.01}, "lrp takes no parameter eps"),
        ("random", {"seed": "x"}, "seed must be an integer"),
    ],
)
def test_bad_methods_and_parameters_are_refused_with_a_clear_message(method, params, message):
    with pytest.raises(ValueError, match=message):
        method_parameters(method, **params)


@pytest.mark.parametrize(
    ("model_name", "method"),
    [("trained_transformer", "lrp"), ("trained_bilstm", "attention_rollout")],
)
def test_unsupported_method_for_architecture_names_both(
    request, model_name, method, sentiment_batch
):
    model = request.getfixturevalue(model_name).model
    with pytest.raises(ValueError, match=rf"{method}.*{model.architecture}"):
        explain(model, sentiment_batch, method)


def test_wrong_number_of_targets_is_refused(trained_bilstm, sentiment_batch):
    with pytest.raises(ValueError, match="2 targets for a batch of 12"):
        explain(trained_bilstm.model, sentiment_batch, "gradient", target=[0, 1])


def _check_shapes(results, batch):
    assert len(results) == batch.size
    for result, length in zip(results, batch.lengths.tolist(), strict=True):
        assert isinstance(result, Attribution)
        assert result.scores.dtype == np.float64
        assert result.scores.shape == (length,)
        assert np.isfinite(result.scores).all()


@pytest.mark.parametrize(
    ("model_name", "methods"),
    [("trained_bilstm", BILSTM_METHODS), ("trained_transformer", TRANSFORMER_METHODS)],
)
def test_every_method_gives_one_score_per_token_in_batch_order(
    request, model_name, methods, sentiment_batch
):
    model = request.getfixturevalue(model_name).model
    batch = sentiment_batch
    permutation = torch.randperm(batch.size, generator=torch.Generator().manual_seed(3))
    shuffled = make_batch(
        [batch.input_ids[i, : int(batch.lengths[i])].tolist() for i in permutation]
    )
    with torch.no_grad():
        predicted = model(batch).logits.argmax(dim=1).tolist()
    for method in methods:
        results = explain(model, batch, method)
        _check_shapes(results, batch)
        assert [r.target for r in results] == predicted
        again = explain(model, shuffled, method)
        for position, source in enumerate(permutation.tolist()):
            np.testing.assert_allclose(again[position].scores, results[source].scores, atol=1e-6)


@pytest.mark.parametrize(
    ("model_name", "methods"),
    [("trained_bilstm", BILSTM_METHODS), ("trained_transformer", TRANSFORMER_METHODS)],
)
def test_empty_sequences_get_empty_scores(request, model_name, methods):
    model = request.getfixturevalue(model_name).model
    batch = make_batch([[], [4, 15, 60], [33]])
    for method in methods:
        results = explain(model, batch, method)
        _check_shapes(results, batch)


def test_a_given_target_is_explained_instead_of_the_prediction(trained_bilstm, sentiment_batch):
    model = trained_bilstm.model
    predicted = [r.target for r in explain(model, sentiment_batch, "grad_input")]
    other = [1 - t for t in predicted]
    results = explain(model, sentiment_batch, "grad_input", target=other)
    assert [r.target for r in results] == other
    # the other class's logit has its own gradient, so the scores differ
    assert not np.allclose(
        results[0].scores, explain(model, sentiment_batch, "grad_input")[0].scores
    )


def test_explain_leaves_the_model_in_training_mode_if_it_was(trained_bilstm, sentiment_batch):
    model = trained_bilstm.model
    model.train()
    try:
        first = explain(model, sentiment_batch, "gradient")
        assert model.training
    finally:
        model.eval()
    np.testing.assert_allclose(
        first[0].scores, explain(model, sentiment_batch, "gradient")[0].scores
    )


def test_random_control_is_seeded_and_independent_of_the_batch(trained_bilstm, sentiment_batch):
    model = trained_bilstm.model
    first = explain(model, sentiment_batch, "random", seed=7)
    again = explain(model, sentiment_batch, "random", seed=7)
    other = explain(model, sentiment_batch, "random", seed=8)
    alone = explain(model, sentiment_batch.select(torch.tensor([3])), "random", seed=7)
    np.testing.assert_array_equal(first[0].scores, again[0].scores)
    np.testing.assert_array_equal(first[3].scores, alone[0].scores)
    assert not np.allclose(first[0].scores, other[0].scores)
    values = np.concatenate([r.scores for r in first])
    assert ((values >= 0) & (values < 1)).all()


@pytest.mark.parametrize("model_name", ["trained_bilstm", "trained_transformer"])
def test_reinitialize_returns_a_seeded_random_twin(request, model_name, sentiment_batch):
    model = request.getfixturevalue(model_name).model
    state = torch.get_rng_state()
    twin = reinitialize(model, seed=5)
    assert torch.equal(state, torch.get_rng_state())
    same = reinitialize(model, seed=5)
    assert twin.config == model.config
    assert not twin.training
    for (name, value), (_, original), (_, repeat) in zip(
        twin.state_dict().items(),
        model.state_dict().items(),
        same.state_dict().items(),
        strict=True,
    ):
        assert torch.equal(value, repeat), name
        if value.numel() > 1 and "norm" not in name:
            assert not torch.equal(value, original), name
    trained = explain(model, sentiment_batch, "gradient")
    randomised = explain(twin, sentiment_batch, "gradient")
    assert not np.allclose(trained[0].scores, randomised[0].scores)


def test_compute_package_does_not_import_django():
    code = (
        "import sys\n"
        "import explanations.compute.attribution, explanations.compute.training\n"
        "import explanations.compute.serialization, explanations.compute.prediction\n"
        "assert 'django' not in sys.modules, sorted(m for m in sys.modules if 'django' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.fixture
def two_threads():
    """Give torch two threads for one test (the suite runs on one)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def small_chunks(monkeypatch):
    """Make every method split the 12-instance batch into several chunks; record their counts."""
    for module, name in (
        (lrp, "LRP_CHUNK"),
        (bilstm_erasure, "MAX_INSTANCES"),
        (bilstm_gradients, "GRADIENT_CHUNK"),
        (gradients, "GRADIENT_CHUNK"),
        (erasure, "MAX_INSTANCES"),
    ):
        monkeypatch.setattr(module, name, 3)
    calls: list[tuple[int, int]] = []
    original = scheduling.run_chunks

    def counting(function, chunks):
        items = list(chunks)
        calls.append((len(items), torch.get_num_threads()))
        return original(function, items)

    monkeypatch.setattr(scheduling, "run_chunks", counting)
    return calls


@pytest.mark.parametrize(
    ("model_name", "method"),
    [
        ("trained_bilstm", "gradient"),
        ("trained_bilstm", "integrated_gradients"),
        ("trained_bilstm", "occlusion"),
        ("trained_bilstm", "lrp"),
        ("trained_transformer", "gradient"),
        ("trained_transformer", "occlusion"),
    ],
)
def test_chunks_on_two_worker_threads_give_the_sequential_results(
    request, sentiment_batch, model_name, method, two_threads, small_chunks
):
    model = request.getfixturevalue(model_name).model
    parallel = explain(model, sentiment_batch, method)
    # Several chunks with two threads: run_chunks really used its worker pool.
    assert small_chunks
    assert all(count > 1 and threads == 2 for count, threads in small_chunks)
    assert torch.get_num_threads() == 2
    torch.set_num_threads(1)
    sequential = explain(model, sentiment_batch, method)
    for ours, reference in zip(parallel, sequential, strict=True):
        np.testing.assert_allclose(ours.scores, reference.scores, rtol=1e-5, atol=1e-7)
        assert ours.target == reference.target


def test_explain_moves_the_batch_to_the_models_device(monkeypatch, trained_bilstm):
    moves: list[torch.device] = []
    original = Batch.to

    def recording(self, device):
        moves.append(torch.device(device))
        return original(self, device)

    monkeypatch.setattr(Batch, "to", recording)
    batch = make_batch([[4, 15, 60], [33]])
    results = explain(trained_bilstm.model, batch, "occlusion", target=[0, 1])
    assert moves == [torch.device("cpu")]
    assert [r.target for r in results] == [0, 1]


@pytest.mark.parametrize("architecture", ["bilstm_attention", "transformer"])
def test_reinitialize_keeps_the_models_device_and_dtype(architecture):
    # The meta device stands in for an accelerator: parameters move without data.
    model = build_model(config(architecture)).to(device="meta", dtype=torch.float64)
    twin = reinitialize(model, seed=1)
    parameter = next(twin.parameters())
    assert parameter.device.type == "meta"
    assert parameter.dtype == torch.float64
