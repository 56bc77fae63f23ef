"""Adversarial attention (Jain & Wallace 2019, section 4.2.2): other weights, same output.

The model is frozen and its hidden states fixed. For each instance, ``candidates``
(K = 5) attention distributions a'_k are searched that differ most from the
model's own weights a while keeping the output y' close to y. Following
successar/AttentionExplanation ``model/Binary_Classification.py::AdversaryMulti``:

* each candidate is a vector of logits over the instance's tokens, masked to its
  real tokens and softmaxed; it starts at log(1/n) plus ``init_scale`` (3) times
  standard normal noise;
* Adam (lr 0.01, amsgrad) minimises, for ``steps`` (500) steps with no early stop,
  sum_k [-JSD(a'_k, a) + penalty * ReLU(TVD(y'_k, y) - margin)] - mean_{k,l} JSD(a'_k, a'_l)
  with penalty 500 and margin 0.01; the last term is the mean over all K x K
  ordered pairs (the diagonal is 0), as their ``cross_jsd.sum(0).mean()``;
* afterwards, among the candidates with TVD(y', y) <= ``tvd_threshold`` (0.05),
  the one with the largest JSD from a is kept (``Trainers/PlottingBC.py::
  plot_multi_adversarial``). J&W add the original weights as a K+1-th candidate,
  so an instance always keeps something (JSD 0); here an instance with no feasible
  candidate is its own outcome (``feasible`` False, ``jsd`` NaN, nothing kept).

TVD is half the L1 distance of the output distributions (J&W's binary |dp|; their
QA adversary penalises the full L1 distance during the search, halved when
selecting); JSD is in nats without their 1e-10 smoothing. The loss is a sum of
per-instance terms and Adam updates each logit on its own, so optimising every
instance's candidates at once gives each instance the same trajectory as
optimising it alone; each instance's starting noise comes from its own generator.
The search runs on a float64 copy of the model by default
(``AdversarialSettings.double_precision``).
"""

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explanations.compute.architectures import BiLSTMAttentionClassifier, masked_softmax
from explanations.compute.batching import Batch
from explanations.compute.diagnostics.intervention import (
    BiLSTMIntervention,
    check_model_batch,
    evaluation_mode,
    instance_generator,
    instance_keys,
    require_bilstm,
)
from explanations.compute.diagnostics.metrics import jsd, tvd


@dataclass(frozen=True)
class AdversarialSettings:
    """The search's parameters; the defaults are J&W's.

    ``double_precision``: run the search on a float64 copy of the model (the model
    itself is not changed). In float32, 500 Adam steps amplify rounding: the same
    instance optimised alone and in a batch of 32 differed by 2e-6 in JSD, and by
    1.3e-6 with only the layers after attention in float64, the float32 encoder's
    batch-dependent rounding of the states being amplified too (measured).
    """

    candidates: int = 5
    steps: int = 500
    learning_rate: float = 0.01
    penalty: float = 500.0
    margin: float = 0.01
    tvd_threshold: float = 0.05
    init_scale: float = 3.0
    double_precision: bool = True

    def __post_init__(self) -> None:
        """Raise ValueError naming the first parameter out of range."""
        if self.candidates < 1:
            raise ValueError(f"candidates: expected at least 1, got {self.candidates}")
        if self.steps < 0:
            raise ValueError(f"steps: expected a non-negative count, got {self.steps}")
        for name in ("learning_rate", "penalty", "margin", "tvd_threshold", "init_scale"):
            value = getattr(self, name)
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{name}: expected a finite non-negative number, got {value}")


@dataclass(frozen=True)
class AdversarialResult:
    """Per instance: the kept adversarial distribution and its figures.

    ``feasible`` [N]: some candidate kept TVD <= threshold. ``jsd`` / ``tvd`` [N]:
    the kept candidate's JSD from the model's attention and its output TVD (NaN
    when none is feasible or the instance has no tokens). ``kept``: the kept
    distribution over the instance's tokens, or None. ``candidate_jsd`` /
    ``candidate_tvd``: every candidate's figures [K] per instance.
    """

    feasible: np.ndarray
    jsd: np.ndarray
    tvd: np.ndarray
    kept: list[np.ndarray | None]
    candidate_jsd: list[np.ndarray]
    candidate_tvd: list[np.ndarray]
    max_attention: np.ndarray
    predicted: np.ndarray


def initial_logits(
    lengths: Sequence[int],
    width: int,
    settings: AdversarialSettings,
    generators: Sequence[np.random.Generator],
) -> torch.Tensor:
    """Return the starting logits [B, K, width]: log(1/n) + init_scale * N(0, 1) on real tokens."""
    start = np.zeros((len(lengths), settings.candidates, width), dtype=np.float64)
    for row, (length, rng) in enumerate(zip(lengths, generators, strict=True)):
        if length:
            noise = rng.standard_normal((settings.candidates, length))
            start[row, :, :length] = np.log(1.0 / length) + settings.init_scale * noise
    return torch.from_numpy(start)


def adversarial_loss(
    weights: torch.Tensor,
    probabilities: torch.Tensor,
    intervention: BiLSTMIntervention,
    settings: AdversarialSettings,
) -> torch.Tensor:
    """Return J&W's objective summed over instances for candidates [B, K, T] and outputs [B, K, C]."""
    distance = tvd(probabilities, intervention.probabilities[:, None, :])
    divergence = jsd(weights, intervention.attention[:, None, :])
    per_candidate = -divergence + settings.penalty * torch.relu(distance - settings.margin)
    return per_candidate.sum() - _mean_cross_divergence(weights).sum()


def _mean_cross_divergence(weights: torch.Tensor) -> torch.Tensor:
    """Return the mean JSD over all K x K ordered pairs of candidates [B, K, T], per instance.

    JSD(p, q) = (sum p log p + sum q log q) / 2 - sum m log m with m = (p + q) / 2;
    the diagonal is 0 and JSD is symmetric, so the mean is 2 / K^2 times the sum over
    the K (K - 1) / 2 pairs i < j, and each candidate's sum p log p serves all its
    pairs: one logarithm per pair and token instead of four.
    """
    count = weights.shape[1]
    if count < 2:
        return weights.new_zeros(weights.shape[0])
    tiny = torch.finfo(weights.dtype).tiny
    negative_entropy = (weights * torch.log(weights.clamp_min(tiny))).sum(dim=-1)  # [B, K]
    first, second = torch.triu_indices(count, count, offset=1, device=weights.device)
    middle = 0.5 * (weights[:, first] + weights[:, second])  # [B, pairs, T]
    middle_term = (middle * torch.log(middle.clamp_min(tiny))).sum(dim=-1)
    pairs = 0.5 * (negative_entropy[:, first] + negative_entropy[:, second]) - middle_term
    return 2.0 * pairs.sum(dim=1) / count**2


def optimise_candidates(
    intervention: BiLSTMIntervention, start: torch.Tensor, settings: AdversarialSettings
) -> torch.Tensor:
    """Run the search from logits ``start`` [B, K, T]; return the final candidates [B, K, T].

    Only the logits get gradients (``torch.autograd.grad``), so the model's own
    parameters are neither changed nor given ``.grad`` values.
    """
    mask = intervention.mask[:, None, :].expand_as(start)
    states = intervention.states
    logits = start.to(device=states.device, dtype=states.dtype).clone().requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=settings.learning_rate, amsgrad=True)
    with torch.enable_grad():
        for _ in range(settings.steps):
            weights = masked_softmax(logits, mask)
            probabilities = intervention.probabilities_for(weights)
            loss = adversarial_loss(weights, probabilities, intervention, settings)
            (logits.grad,) = torch.autograd.grad(loss, [logits])
            optimiser.step()
    with torch.no_grad():
        return masked_softmax(logits, mask)


def search_model(
    model: BiLSTMAttentionClassifier, settings: AdversarialSettings
) -> BiLSTMAttentionClassifier:
    """Return the model the search runs on: a float64 copy unless told otherwise."""
    if not settings.double_precision or model.output.weight.dtype == torch.float64:
        return model
    return copy.deepcopy(model).to(torch.float64)


def adversarial_attention(
    model: BiLSTMAttentionClassifier,
    batch: Batch,
    *,
    settings: AdversarialSettings | None = None,
    seed: int = 0,
    keys: Sequence[int] | None = None,
    chunk_size: int | None = None,
) -> AdversarialResult:
    """Return the adversarial attention of every instance of ``batch``.

    All instances' candidates are optimised together, or ``chunk_size`` instances
    at a time (sorted by length) to bound memory. ``keys``: one non-negative
    integer per instance naming its random stream, default its row.
    """
    settings = settings or AdversarialSettings()
    require_bilstm(model, "adversarial attention")
    check_model_batch(model, batch)
    streams = instance_keys(keys, batch.size)
    size = batch.size
    result = _empty_result(size)
    searched = search_model(model, settings)
    with evaluation_mode(searched):
        for indices, piece in batch.chunks_by_length(chunk_size or size):
            intervention = BiLSTMIntervention(searched, piece)
            rows = indices.tolist()
            lengths = piece.lengths.tolist()
            generators = [instance_generator(seed, streams[row]) for row in rows]
            start = initial_logits(lengths, piece.input_ids.shape[1], settings, generators)
            final = optimise_candidates(intervention, start, settings)
            _select(result, rows, lengths, intervention, final, settings)
    return result


def _empty_result(size: int) -> AdversarialResult:
    return AdversarialResult(
        feasible=np.zeros(size, dtype=bool),
        jsd=np.full(size, np.nan),
        tvd=np.full(size, np.nan),
        kept=[None] * size,
        candidate_jsd=[np.zeros(0)] * size,
        candidate_tvd=[np.zeros(0)] * size,
        max_attention=np.full(size, np.nan),
        predicted=np.zeros(size, dtype=np.int64),
    )


def _select(
    result: AdversarialResult,
    rows: list[int],
    lengths: list[int],
    intervention: BiLSTMIntervention,
    final: torch.Tensor,
    settings: AdversarialSettings,
) -> None:
    """Fill ``result``'s rows with the best feasible candidate of each instance."""
    with torch.no_grad():
        probabilities = intervention.probabilities_for(final)
        # figures in float64 whatever precision the search ran in
        distances = tvd(
            probabilities.to(torch.float64), intervention.probabilities[:, None, :].double()
        )
        divergences = jsd(final.to(torch.float64), intervention.attention[:, None, :].double())
    distances_np = distances.cpu().numpy()
    divergences_np = divergences.cpu().numpy()
    candidates_np = final.to(torch.float64).cpu().numpy()
    attention = intervention.attention.to(torch.float64).cpu().numpy()
    labels = intervention.probabilities.argmax(dim=1).cpu().numpy()
    for position, (row, length) in enumerate(zip(rows, lengths, strict=True)):
        result.predicted[row] = labels[position]
        result.candidate_jsd[row] = divergences_np[position].copy()
        result.candidate_tvd[row] = distances_np[position].copy()
        if not length:
            continue
        result.max_attention[row] = attention[position, :length].max()
        feasible = distances_np[position] <= settings.tvd_threshold
        if not feasible.any():
            continue
        best = int(np.argmax(np.where(feasible, divergences_np[position], -np.inf)))
        result.feasible[row] = True
        result.jsd[row] = divergences_np[position, best]
        result.tvd[row] = distances_np[position, best]
        result.kept[row] = candidates_np[position, best, :length].copy()


__all__ = [
    "AdversarialResult",
    "AdversarialSettings",
    "adversarial_attention",
    "adversarial_loss",
    "initial_logits",
    "optimise_candidates",
    "search_model",
]
