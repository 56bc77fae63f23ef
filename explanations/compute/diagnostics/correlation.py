"""Correlation of attention with other importance measures (Jain & Wallace 2019, Table 2).

Per instance, Kendall's tau-b between the attention weights and another measure
over the instance's real tokens, with its two-sided p-value
(``scipy.stats.kendalltau``, as J&W's ``Trainers/PlottingBC.py::plot_grads`` in
successar/AttentionExplanation). The other measure is either one the platform
already stores (our gradient and leave-one-out explanations, passed in as arrays)
or one of J&W's own definitions, computed here:

* :func:`jain_wallace_gradient`: |sum_d dp_c/dx_{i,d} x_{i,d}| with the attention
  weights held constant (detached), p_c the softmax probability of the predicted
  class (``model/Binary_Classification.py::gradient_mem`` with ``detach = True``:
  the gradient of sigmoid(y) times the embedding, summed over the embedding and
  its absolute value taken in ``process_grads``; ``model/Question_Answering.py``
  differentiates the predicted class's softmax probability as here).
* :func:`jain_wallace_leave_one_out`: the total variation distance between the
  output distributions with and without token i, the token deleted and the
  sequence shortened (``remove_and_run``; their |y' - y| is the TVD of the two
  Bernoulli outputs).

J&W's inputs carry <SOS> and <EOS> tokens that they leave out of every
correlation; ours have none, so all real tokens count. :func:`summarise` gives the
mean, the standard deviation (population, ``np.std`` as their table) and the share
of instances with p <= 0.05, per predicted class and overall. Instances where tau
is undefined (fewer than two tokens, or a constant vector) are counted apart.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from scipy.stats import kendalltau

from explanations.compute.architectures import BiLSTMAttentionClassifier
from explanations.compute.attention_debate import JAIN_WALLACE_REFERENCE, ReferenceFigure
from explanations.compute.batching import Batch
from explanations.compute.diagnostics.intervention import (
    as_rows,
    check_model_batch,
    evaluation_mode,
    require_bilstm,
)
from explanations.compute.faithfulness.variants import VariantPool
from explanations.compute.prediction import predict_proba


@dataclass(frozen=True)
class Correlation:
    """Per-instance Kendall tau-b and two-sided p-value [N] (NaN where undefined)."""

    tau: np.ndarray
    p_value: np.ndarray


@dataclass(frozen=True)
class CorrelationSummary:
    """One row of the correlation table: a predicted class (or all instances).

    ``label`` is the class index, or None for the row over all instances;
    ``instances`` counts those with a defined tau, ``undefined`` the others.
    ``mean`` and ``sd`` are NaN when no instance has a defined tau.
    """

    label: int | None
    instances: int
    undefined: int
    mean: float
    sd: float
    share_significant: float


def kendall_per_instance(
    attention: Sequence[np.ndarray], other: Sequence[np.ndarray], *, label: str = "other"
) -> Correlation:
    """Return tau-b and its p-value between ``attention[i]`` and ``other[i]`` per instance.

    Both hold one array per instance over its real tokens. Raises ValueError naming
    ``label`` and the instance when lengths differ or values are not finite.
    """
    if len(attention) != len(other):
        raise ValueError(f"{label}: expected {len(attention)} instances, got {len(other)}")
    taus = np.full(len(attention), np.nan)
    p_values = np.full(len(attention), np.nan)
    for row, (weights, scores) in enumerate(zip(attention, other, strict=True)):
        weights = np.asarray(weights, dtype=np.float64)
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != weights.shape:
            raise ValueError(
                f"{label}: instance {row} has {scores.shape[0] if scores.ndim else 0} scores "
                f"for {weights.shape[0]} tokens"
            )
        if not (np.all(np.isfinite(scores)) and np.all(np.isfinite(weights))):
            raise ValueError(f"{label}: instance {row} has NaN or infinite values")
        if weights.shape[0] < 2 or np.ptp(weights) == 0 or np.ptp(scores) == 0:
            continue
        result = kendalltau(weights, scores)
        taus[row], p_values[row] = float(result.statistic), float(result.pvalue)
    return Correlation(tau=taus, p_value=p_values)


def summarise(
    correlation: Correlation, predicted: np.ndarray, *, significance: float = 0.05
) -> list[CorrelationSummary]:
    """Return the overall row, then one row per predicted class present, in class order."""
    predicted = np.asarray(predicted)
    if predicted.shape != correlation.tau.shape:
        raise ValueError(
            f"predicted: expected {correlation.tau.shape[0]} labels, got {predicted.shape}"
        )
    rows = [_summary_row(None, correlation, np.ones_like(predicted, dtype=bool), significance)]
    for label in np.unique(predicted):
        rows.append(_summary_row(int(label), correlation, predicted == label, significance))
    return rows


def _summary_row(
    label: int | None, correlation: Correlation, selected: np.ndarray, significance: float
) -> CorrelationSummary:
    taus = correlation.tau[selected]
    p_values = correlation.p_value[selected]
    defined = np.isfinite(taus)
    count = int(defined.sum())
    return CorrelationSummary(
        label=label,
        instances=count,
        undefined=int((~defined).sum()),
        mean=float(np.mean(taus[defined])) if count else float("nan"),
        sd=float(np.std(taus[defined])) if count else float("nan"),
        share_significant=float(np.mean(p_values[defined] <= significance))
        if count
        else float("nan"),
    )


def jain_wallace_gradient(
    model: BiLSTMAttentionClassifier, batch: Batch, *, target: Sequence[int] | None = None
) -> list[np.ndarray]:
    """Return J&W's gradient importance per instance, |sum_d dp_c/dx_{i,d} x_{i,d}|.

    The attention weights are computed from the states and then detached, so the
    gradient reaches the embeddings through the encoder and the pooled states
    only. ``target``: one class per instance, default the predicted class. One
    backward pass serves the whole batch (instances do not interact).
    """
    require_bilstm(model, "J&W's gradient")
    check_model_batch(model, batch)
    with evaluation_mode(model), torch.enable_grad():
        embeddings = model.embed(batch).detach().requires_grad_(True)
        states = model.encode(embeddings, batch.lengths)
        query = model.encode_query(batch)
        # J&W's ``detach``: the weights are constants, the states keep their gradient
        weights = model.attend(states, batch.mask, query)[1].detach()
        pooled = torch.bmm(weights.unsqueeze(1), states).squeeze(1)
        probabilities = torch.softmax(model.classify(pooled, query), dim=-1)
        classes = _targets(target, probabilities)
        chosen = probabilities.gather(1, classes[:, None]).sum()
        (gradient,) = torch.autograd.grad(chosen, embeddings)
    scores = (gradient * embeddings.detach()).sum(dim=-1).abs()
    return as_rows(scores, batch.lengths)


def _targets(target: Sequence[int] | None, probabilities: torch.Tensor) -> torch.Tensor:
    if target is None:
        return probabilities.argmax(dim=1)
    if len(target) != probabilities.shape[0]:
        raise ValueError(f"target: expected {probabilities.shape[0]} classes, got {len(target)}")
    classes = torch.as_tensor(list(target), dtype=torch.long, device=probabilities.device)
    if bool(((classes < 0) | (classes >= probabilities.shape[1])).any()):
        raise ValueError(f"target: classes must lie in 0..{probabilities.shape[1] - 1}")
    return classes


def jain_wallace_leave_one_out(
    model: torch.nn.Module,
    seqs: Sequence[Sequence[int]],
    contexts: Sequence[Sequence[int]] | None = None,
    *,
    batch_size: int = 128,
) -> list[np.ndarray]:
    """Return J&W's leave-one-out importance per instance: TVD(p(x), p(x without token i)).

    Every deletion of every instance goes through the model in length-sorted
    batches (``predict_proba``); a pair's context is never changed. Works for any
    model built by ``build_model``.
    """
    pool = VariantPool(seqs, contexts)
    full_rows = [pool.add(row, np.arange(pool.length(row))) for row in range(len(seqs))]
    deletion_rows = [
        [pool.add(row, np.delete(np.arange(pool.length(row)), i)) for i in range(pool.length(row))]
        for row in range(len(seqs))
    ]
    probabilities = pool.evaluate(partial(predict_proba, model, batch_size=batch_size))
    result: list[np.ndarray] = []
    for full, deletions in zip(full_rows, deletion_rows, strict=True):
        if not deletions:  # an instance without tokens has nothing to delete
            result.append(np.zeros(0))
            continue
        deleted = probabilities[np.asarray(deletions, dtype=np.int64)]
        result.append(0.5 * np.abs(deleted - probabilities[full]).sum(axis=1))
    return result


__all__ = [
    "JAIN_WALLACE_REFERENCE",
    "Correlation",
    "CorrelationSummary",
    "ReferenceFigure",
    "jain_wallace_gradient",
    "jain_wallace_leave_one_out",
    "kendall_per_instance",
    "summarise",
]
