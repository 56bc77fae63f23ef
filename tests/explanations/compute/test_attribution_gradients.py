"""Gradient methods against Captum on the same trained models and inputs."""

import copy

import numpy as np
import pytest
import torch
from captum.attr import InputXGradient, IntegratedGradients, Saliency

from explanations.compute.attribution import bilstm_gradients, explain, gradients
from explanations.compute.attribution.gradients import quadrature
from explanations.compute.attribution.parameters import method_parameters
from explanations.compute.batching import make_batch
from tests.explanations.compute.conftest import (
    assert_matches,
    embedding_forward,
    predicted,
)

CASES = [
    ("trained_bilstm", "sentiment_batch"),
    ("trained_transformer", "sentiment_batch"),
    ("trained_pair_bilstm", "pair_batch"),
    ("trained_pair_transformer", "pair_batch"),
]


@pytest.fixture(params=CASES, ids=[case[0] for case in CASES])
def case(request):
    """Return (model, batch) for each architecture, single and pair."""
    model_name, batch_name = request.param
    return request.getfixturevalue(model_name).model, request.getfixturevalue(batch_name)


def test_gradient_matches_captum_saliency_l2(case):
    model, batch = case
    embeddings, forward = embedding_forward(model, batch)
    target = predicted(model, batch)
    grads = Saliency(forward).attribute(embeddings, target=target, abs=False)
    reference = grads.norm(dim=-1).detach().numpy()
    assert_matches(explain(model, batch, "gradient"), reference, batch)


def test_grad_input_matches_captum_input_x_gradient(case):
    model, batch = case
    embeddings, forward = embedding_forward(model, batch)
    target = predicted(model, batch)
    attributions = InputXGradient(forward).attribute(embeddings, target=target)
    reference = attributions.sum(dim=-1).detach().numpy()
    assert_matches(explain(model, batch, "grad_input"), reference, batch)


def test_integrated_gradients_match_captum_gauss_legendre(case):
    model, batch = case
    embeddings, forward = embedding_forward(model, batch)
    target = predicted(model, batch)
    attributions, delta = IntegratedGradients(forward).attribute(
        embeddings,
        baselines=torch.zeros_like(embeddings),
        target=target,
        method="gausslegendre",
        n_steps=50,
        return_convergence_delta=True,
    )
    ours = explain(model, batch, "integrated_gradients")
    largest = assert_matches(ours, attributions.sum(dim=-1).detach().numpy(), batch)
    gaps = np.array([a.extras["completeness_gap"] for a in ours])
    assert largest >= 0
    np.testing.assert_allclose(gaps, delta.detach().numpy(), atol=1e-5)


def test_integrated_gradients_with_pad_baseline_match_captum(trained_bilstm, sentiment_batch):
    model, batch = trained_bilstm.model, sentiment_batch
    embeddings, forward = embedding_forward(model, batch)
    pad = model.embedding.weight[0].detach().expand_as(embeddings)
    attributions = IntegratedGradients(forward).attribute(
        embeddings, baselines=pad, target=predicted(model, batch), n_steps=50
    )
    ours = explain(model, batch, "integrated_gradients", baseline="pad")
    assert_matches(ours, attributions.sum(dim=-1).detach().numpy(), batch)


def test_riemann_trapezoid_is_captums_times_its_step_factor(trained_bilstm, sentiment_batch):
    """Captum's trapezoid uses steps of 1/n, ours 1/(n-1): scores differ by (n-1)/n exactly."""
    model, batch = trained_bilstm.model, sentiment_batch
    embeddings, forward = embedding_forward(model, batch)
    attributions = IntegratedGradients(forward).attribute(
        embeddings,
        baselines=torch.zeros_like(embeddings),
        target=predicted(model, batch),
        method="riemann_trapezoid",
        n_steps=20,
    )
    ours = explain(
        model, batch, "integrated_gradients", integration="riemann_trapezoid", n_steps=20
    )
    reference = attributions.sum(dim=-1).detach().numpy() * 20 / 19
    assert_matches(ours, reference, batch)


def test_completeness_gap_is_under_one_percent_on_the_trained_model(
    trained_bilstm, sentiment_batch
):
    for result in explain(trained_bilstm.model, sentiment_batch, "integrated_gradients"):
        change = result.extras["f_x"] - result.extras["f_baseline"]
        assert abs(result.extras["completeness_gap"]) < 0.01 * abs(change)
        assert result.scores.sum() - change == pytest.approx(
            result.extras["completeness_gap"], abs=1e-6
        )


def test_gauss_legendre_nodes_integrate_a_polynomial_exactly():
    """By hand: the integral of 5 a^4 over [0, 1] is 1; 3 nodes are exact up to degree 5."""
    nodes, weights = quadrature(3, "gausslegendre")
    assert float(np.sum(weights * 5 * nodes**4)) == pytest.approx(1.0, abs=1e-12)
    nodes, weights = quadrature(5, "riemann_trapezoid")
    np.testing.assert_allclose(nodes, [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(weights, [0.125, 0.25, 0.25, 0.25, 0.125])


def _double_with_an_empty_instance(request, model_name, batch_name):
    """Return the model in float64 and its batch with an empty instance appended."""
    model = copy.deepcopy(request.getfixturevalue(model_name).model).double().eval()
    batch = request.getfixturevalue(batch_name)
    contexts = None
    if batch.context_ids is not None:
        contexts = [
            ids[mask].tolist()
            for ids, mask in zip(batch.context_ids, batch.context_mask, strict=True)
        ]
        contexts.append(contexts[0])
    sequences = [
        ids[mask].tolist() for ids, mask in zip(batch.input_ids, batch.mask, strict=True)
    ] + [[]]
    return model, make_batch(sequences, contexts)


BILSTMS = pytest.mark.parametrize(
    ("model_name", "batch_name"),
    [("trained_bilstm", "sentiment_batch"), ("trained_pair_bilstm", "pair_batch")],
)


@BILSTMS
@pytest.mark.parametrize("baseline", ["zero", "pad"])
def test_bilstm_integrated_gradients_equal_autograd_in_double_precision(
    request, model_name, batch_name, baseline
):
    """The BiLSTM's hand-written backward (kernels in float64) against autograd through the
    model, the path taken off the CPU; an empty instance and padding are in the batch."""
    model, batch = _double_with_an_empty_instance(request, model_name, batch_name)
    params = method_parameters("integrated_gradients", baseline=baseline)
    with torch.enable_grad():
        fast = bilstm_gradients.integrated_gradients(model, batch, None, params)
        slow = gradients.integrated_gradients(model, batch, None, params)
    assert len(fast[-1].scores) == 0
    for ours, reference in zip(fast, slow, strict=True):
        assert ours.target == reference.target
        np.testing.assert_allclose(ours.scores, reference.scores, rtol=0, atol=1e-10)
        for key in ("completeness_gap", "f_x", "f_baseline"):
            assert ours.extras[key] == pytest.approx(reference.extras[key], abs=1e-10)


@BILSTMS
@pytest.mark.parametrize("times_input", [False, True], ids=["gradient", "grad_input"])
@pytest.mark.parametrize("given_targets", [False, True], ids=["predicted", "given"])
def test_bilstm_gradients_equal_autograd_in_double_precision(
    request, model_name, batch_name, times_input, given_targets
):
    model, batch = _double_with_an_empty_instance(request, model_name, batch_name)
    # Given targets: the class the model does not predict, so the choice matters.
    targets = None
    if given_targets:
        with torch.no_grad():
            targets = 1 - model(batch).logits.argmax(dim=1)
    with torch.enable_grad():
        fast = bilstm_gradients.gradient_scores(model, batch, targets, {}, times_input=times_input)
        slow = gradients.gradient_scores(model, batch, targets, {}, times_input=times_input)
    assert len(fast[-1].scores) == 0
    for ours, reference in zip(fast, slow, strict=True):
        assert ours.target == reference.target
        np.testing.assert_allclose(ours.scores, reference.scores, rtol=0, atol=1e-10)


@pytest.mark.parametrize("method", ["integrated_gradients", "gradient", "grad_input"])
def test_bilstm_kernels_give_the_same_scores_on_worker_threads(
    trained_pair_bilstm, pair_batch, method, monkeypatch
):
    """Chunks run on two worker threads at once (the compiled kernels release the GIL);
    the scores are those of one thread, chunk by chunk."""
    monkeypatch.setattr(bilstm_gradients, "GRADIENT_CHUNK", 3)  # several chunks
    assert pair_batch.size > 3 * bilstm_gradients.INSTANCES_PER_CHUNK
    model = trained_pair_bilstm.model
    one = explain(model, pair_batch, method)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        two = explain(model, pair_batch, method)
    finally:
        torch.set_num_threads(previous)
    for a, b in zip(one, two, strict=True):
        np.testing.assert_allclose(a.scores, b.scores, rtol=0, atol=1e-6)
