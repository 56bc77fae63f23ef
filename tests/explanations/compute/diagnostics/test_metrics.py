"""TVD and JSD against worked examples and scipy."""

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon

from explanations.compute.diagnostics.metrics import jsd, tvd


def test_tvd_is_half_the_l1_distance():
    p = torch.tensor([0.5, 0.5, 0.0])
    q = torch.tensor([1.0, 0.0, 0.0])
    assert float(tvd(p, q)) == pytest.approx(0.5)
    assert float(tvd(torch.tensor([0.2, 0.8]), torch.tensor([0.5, 0.5]))) == pytest.approx(0.3)


def test_jsd_worked_example_in_nats():
    # m = (0.75, 0.25); KL(p||m) = 0.5 ln(2/3) + 0.5 ln 2; KL(q||m) = ln(4/3)
    expected = 0.5 * (0.5 * np.log(2 / 3) + 0.5 * np.log(2)) + 0.5 * np.log(4 / 3)
    value = jsd(torch.tensor([0.5, 0.5], dtype=torch.float64), torch.tensor([1.0, 0.0]).double())
    assert float(value) == pytest.approx(expected, abs=1e-12)
    assert float(jsd(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0]))) == pytest.approx(
        np.log(2)
    )


def test_jsd_matches_scipy_on_a_batch_and_broadcasts():
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(6), size=(4, 3))
    q = rng.dirichlet(np.ones(6), size=(4, 1))
    ours = jsd(torch.from_numpy(p), torch.from_numpy(q)).numpy()
    assert ours.shape == (4, 3)
    reference = np.array(
        [[jensenshannon(p[i, j], q[i, 0]) ** 2 for j in range(3)] for i in range(4)]
    )
    np.testing.assert_allclose(ours, reference, atol=1e-12)


def test_jsd_gradient_is_finite_with_zero_entries():
    logits = torch.tensor([[0.3, -1.0, 2.0]], requires_grad=True)
    p = torch.softmax(logits, dim=-1) * torch.tensor([1.0, 1.0, 0.0])
    value = jsd(p, torch.tensor([[0.0, 1.0, 0.0]]))
    (gradient,) = torch.autograd.grad(value.sum(), logits)
    assert torch.isfinite(gradient).all()
    assert gradient.abs().sum() > 0
