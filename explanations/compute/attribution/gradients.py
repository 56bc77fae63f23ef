"""Gradient methods through autograd, for any model with ``embed``/``forward_embeddings``.

All three differentiate the target class's logit ``f_c`` with respect to the
embeddings ``x_i`` of the explained tokens and reduce over the embedding dimension:

* gradient (sensitivity; Simonyan et al. 2014, Li et al. 2016):
  ``||d f_c / d x_i||_2``;
* gradient x input (Shrikumar et al. 2017): ``sum_e x_ie * d f_c / d x_ie``;
* integrated gradients (Sundararajan et al. 2017, eq. 1):
  ``sum_e (x_ie - b_ie) * int_0^1 d f_c(b + a (x - b)) / d x_ie da``, the integral
  taken by a quadrature ``sum_k w_k g(a_k)``; completeness says the scores add up
  to ``f_c(x) - f_c(b)``, and the difference (the completeness gap) is kept.

Instances are processed longest first in chunks of similar length (less padding);
integrated gradients stacks its steps into the batch, several instances per chunk.
"""

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch

from explanations.compute.architectures import Classifier
from explanations.compute.attribution.result import Attribution, chunk_targets, per_instance
from explanations.compute.attribution.scheduling import attribute_in_chunks
from explanations.compute.batching import PAD_INDEX, Batch

GRADIENT_CHUNK = 16
INTEGRATION_ROWS = 512


def quadrature(n_steps: int, integration: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the nodes ``a_k`` in [0, 1] and weights ``w_k`` of the path integral.

    ``gausslegendre``: the Gauss-Legendre rule mapped from [-1, 1] to [0, 1]
    (``a = (1 + z) / 2``, ``w = v / 2``), exact for polynomials of degree
    ``2 n - 1``; Captum's default. ``riemann_trapezoid``: ``n`` equally spaced
    nodes from 0 to 1, weights ``h / 2, h, ..., h, h / 2`` with ``h = 1 / (n - 1)``,
    so the weights sum to 1. (Captum's ``riemann_trapezoid`` uses ``h = 1 / n``,
    whose weights sum to ``(n - 1) / n``; its scores are ours times that factor.)
    """
    if integration == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return 0.5 * (1.0 + nodes), 0.5 * weights
    if integration == "riemann_trapezoid":
        step = 1.0 / (n_steps - 1)
        weights = np.full(n_steps, step)
        weights[[0, -1]] = step / 2
        return np.linspace(0.0, 1.0, n_steps), weights
    raise ValueError(f"unknown integration {integration!r}")


def target_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Return ``logits[b, targets[b]]`` for every row, [B]."""
    return logits.gather(1, targets[:, None]).squeeze(1)


def baseline_embeddings(model: Classifier, embeddings: torch.Tensor, baseline: str) -> torch.Tensor:
    """Return the baseline embeddings: all zero, or the PAD token's embedding at every position."""
    if baseline == "zero":
        return torch.zeros_like(embeddings)
    pad = model.embedding.weight[PAD_INDEX].detach().to(embeddings.dtype)
    return pad.expand_as(embeddings).clone()


def gradient_scores(
    model: Classifier,
    batch: Batch,
    targets: torch.Tensor | None,
    params: Mapping[str, Any],
    *,
    times_input: bool,
) -> list[Attribution]:
    """Return the gradient (L2 norm) or gradient x input scores of every instance."""
    del params

    def chunk(indices: torch.Tensor, sub: Batch) -> list[Attribution]:
        embeddings = model.embed(sub).detach().requires_grad_(True)
        logits = model.forward_embeddings(embeddings, sub).logits
        chosen = chunk_targets(targets, indices, logits)
        (grads,) = torch.autograd.grad(target_logits(logits, chosen).sum(), embeddings)
        scores = (grads * embeddings.detach()).sum(dim=-1) if times_input else grads.norm(dim=-1)
        return list(per_instance(scores, sub.lengths, chosen))

    return attribute_in_chunks(batch, GRADIENT_CHUNK, chunk)


def integrated_gradients(
    model: Classifier, batch: Batch, targets: torch.Tensor | None, params: Mapping[str, Any]
) -> list[Attribution]:
    """Return integrated gradients with their completeness gap, steps stacked in the batch."""
    nodes, weights = quadrature(params["n_steps"], params["integration"])
    steps = len(nodes)

    def chunk(indices: torch.Tensor, sub: Batch) -> list[Attribution]:
        embeddings = model.embed(sub).detach()
        dtype = embeddings.dtype
        alphas = torch.as_tensor(nodes, dtype=dtype, device=embeddings.device)
        step_weights = torch.as_tensor(weights, dtype=dtype, device=embeddings.device)
        base = baseline_embeddings(model, embeddings, params["baseline"])
        size = sub.size
        with torch.no_grad():
            ends = sub.select(torch.arange(size, device=sub.device).repeat(2))
            end_logits = model.forward_embeddings(torch.cat([embeddings, base]), ends).logits
        chosen = chunk_targets(targets, indices, end_logits[:size])
        f_x = target_logits(end_logits[:size], chosen)
        f_b = target_logits(end_logits[size:], chosen)
        delta = embeddings - base
        path = base[:, None] + alphas[None, :, None, None] * delta[:, None]
        path = path.reshape(size * steps, *embeddings.shape[1:]).requires_grad_(True)
        rows = sub.select(torch.arange(size, device=sub.device).repeat_interleave(steps))
        logits = model.forward_embeddings(path, rows).logits
        selected = target_logits(logits, chosen.repeat_interleave(steps))
        (grads,) = torch.autograd.grad(selected.sum(), path)
        grads = grads.view(size, steps, *embeddings.shape[1:])
        averaged = torch.einsum("k,bkte->bte", step_weights, grads)
        scores = (delta * averaged).sum(dim=-1)
        gap = (scores * sub.mask).sum(dim=1) - (f_x - f_b)
        extras = {"completeness_gap": gap, "f_x": f_x, "f_baseline": f_b}
        return list(per_instance(scores, sub.lengths, chosen, extras))

    return attribute_in_chunks(batch, max(1, INTEGRATION_ROWS // steps), chunk)
