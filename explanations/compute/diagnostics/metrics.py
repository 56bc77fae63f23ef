"""Distances between distributions used by the attention diagnostics, on batches.

* total variation distance, TVD(p, q) = 1/2 sum_i |p_i - q_i|, in [0, 1]. Jain &
  Wallace's binary models report |sigmoid(y') - sigmoid(y)|, which is this number
  for a two-class distribution (successar/AttentionExplanation,
  ``Trainers/PlottingBC.py::plot_permutations``); their multi-class code halves the
  L1 distance (``Trainers/PlottingQA.py``).
* Jensen-Shannon divergence in nats, JSD(p, q) = KL(p || m) / 2 + KL(q || m) / 2
  with m = (p + q) / 2, in [0, ln 2], terms with p_i = 0 counted as 0. J&W's
  ``model/modelUtils.py::jsd`` is the same formula with natural logarithms but adds
  1e-10 inside each logarithm; Serrano & Smith's ``test_model.py::get_js_div_of_dists``
  uses natural logarithms too. We compute it exactly.

Both work on the last dimension and broadcast over the others, so [B, R, T]
candidates compare with a [B, 1, T] reference in one call. They are differentiable
(the adversarial search optimises the JSD).
"""

import torch


def tvd(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Return 1/2 sum |p - q| over the last dimension (shape: the broadcast shape minus it)."""
    return 0.5 * (p - q).abs().sum(dim=-1)


def jsd(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Return the Jensen-Shannon divergence (natural log) over the last dimension.

    Written as 1/2 sum [p (log p - log m) + q (log q - log m)], one logarithm of m
    for both terms. Clamping before each logarithm keeps the value and its gradient
    finite where p_i = 0 (the term is 0 * finite = 0), so padding positions and
    masked candidates never produce NaN; where p_i > 0, m_i >= p_i / 2 > 0.
    """
    tiny = torch.finfo(p.dtype).tiny
    log_m = torch.log((0.5 * (p + q)).clamp_min(tiny))
    terms = p * (torch.log(p.clamp_min(tiny)) - log_m) + q * (torch.log(q.clamp_min(tiny)) - log_m)
    return (0.5 * terms.sum(dim=-1)).clamp_min(0.0)


__all__ = ["jsd", "tvd"]
