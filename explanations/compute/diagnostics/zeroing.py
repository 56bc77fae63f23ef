"""Zeroing attention weights (Serrano & Smith 2019, "Is Attention Interpretable?").

Definitions follow serrano-s/attn-tests, ``test_model.py``; the hidden states stay
fixed, the chosen weights are set to 0 and the rest renormalised to sum to one
(``torch.nn.functional.normalize(p=1)``), and the layers after attention rerun.

(a) Single weight (``get_first_v_second_stats_for_batch``,
``get_dec_flip_stats_for_rand_nontop``): zero the highest weight, then separately a
random weight other than the highest; record the Jensen-Shannon divergence (nats)
of each output distribution from the original one, whether the decision (argmax)
flips, and the difference JSD(top) - JSD(random). S&S's code draws a random
*position* in 1..n-1, which can be the top one when it is not first; we draw
uniformly among the positions other than the top one, as their paper describes.

(b) Until the decision flips (``get_dec_flip_info_for_batch``): zero the weights
one at a time in a ranked order, renormalising, until the argmax changes; record
how many items were zeroed, their fraction of the instance's tokens and the
original attention mass they carried. An instance whose decision survives the
removal of every item (all weights 0, the output of a zero context) "never flips"
(``flipped`` False, the figures NaN). Orders (highest first):

* ``attention``; ``reverse_attention`` (that list reversed);
* ``random_1`` .. ``random_5``: shuffles of the tokens (S&S take 5);
* ``gradient``: dp_c/da_i, the gradient of the predicted class's probability with
  respect to the (renormalised) attention weights, states fixed (their
  ``GradientReportingClassifierFromAttnAndInputVects`` with
  ``exp_highest_val_over_sum_exp_all_vals``);
* ``gradient_x_attention``: a_i dp_c/da_i;
* ``sign_gradient_x_attention``: sign(dp_c/da_i) a_i (S&S's code meant this; its
  chained assignment ``multipliers = ...[grads < 0] = -1`` makes every multiplier -1).

Ties are broken by position, lower first (stable sort). S&S zero and renormalise
the already-renormalised weights step by step; zeroing the first k items of the
original weights and renormalising once is the same distribution, and every
prefix k = 1..n of an order is evaluated in one batched call instead of a loop.

The native transformer gets (a) and the attention and random orders of (b) on its
last layer's CLS row (see :class:`~.intervention.TransformerIntervention`); the
gradient orders need the weights as one vector the output is a function of, which
the transformer's per-head rows are not, so they are skipped with that reason.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explanations.compute.architectures import TransformerClassifier
from explanations.compute.attention_debate import GRADIENT_ORDERS_SKIPPED
from explanations.compute.batching import Batch
from explanations.compute.diagnostics.intervention import (
    BiLSTMIntervention,
    Intervention,
    check_model_batch,
    evaluation_mode,
    instance_generator,
    instance_keys,
    intervention_for,
    real_positions,
)
from explanations.compute.diagnostics.metrics import jsd

RANDOM_ORDERS = 5
GRADIENT_ORDERS: tuple[str, ...] = ("gradient", "gradient_x_attention", "sign_gradient_x_attention")
ORDERS: tuple[str, ...] = (
    "attention",
    "reverse_attention",
    *(f"random_{number}" for number in range(1, RANDOM_ORDERS + 1)),
    *GRADIENT_ORDERS,
)
SKIPPED_FOR_TRANSFORMER = GRADIENT_ORDERS_SKIPPED


@dataclass(frozen=True)
class SingleZeroing:
    """Per instance [N]: zeroing the top weight against zeroing a random non-top one.

    Positions are token indices (-1 when undefined); JSDs and weights are NaN when
    undefined (no tokens; a single token has no non-top weight).
    """

    top_position: np.ndarray
    top_weight: np.ndarray
    top_jsd: np.ndarray
    top_flipped: np.ndarray
    random_position: np.ndarray
    random_weight: np.ndarray
    random_jsd: np.ndarray
    random_flipped: np.ndarray
    jsd_difference: np.ndarray


@dataclass(frozen=True)
class FlipSearch:
    """Per instance [N], for one order: zeroing until the decision flips.

    ``flipped`` False means it never flips (then ``items``, ``fraction`` and
    ``mass`` are NaN). ``items``: number zeroed, the flipping one included.
    """

    order: str
    flipped: np.ndarray
    items: np.ndarray
    fraction: np.ndarray
    mass: np.ndarray


@dataclass(frozen=True)
class ZeroingResult:
    """Both zeroing diagnostics, the predicted classes [N], and the orders skipped (with why)."""

    single: SingleZeroing
    flips: dict[str, FlipSearch]
    predicted: np.ndarray
    skipped: dict[str, str]


def order_positions(
    intervention: Intervention, orders: Sequence[str], generators: Sequence[np.random.Generator]
) -> dict[str, list[np.ndarray]]:
    """Return, per order, each instance's positions from first to last zeroed.

    Random orders draw ``rng.permutation(n)`` from each instance's generator, in
    the order ``random_1``, ``random_2``, ...
    """
    lengths = intervention.lengths.tolist()
    attention = intervention.attention.to(torch.float64).cpu().numpy()
    by_attention = [_descending(attention[row, :n]) for row, n in enumerate(lengths)]
    gradients = _gradient_rankings(intervention, orders)
    result: dict[str, list[np.ndarray]] = {}
    for name in orders:
        if name == "attention":
            result[name] = by_attention
        elif name == "reverse_attention":
            result[name] = [order[::-1].copy() for order in by_attention]
        elif name.startswith("random_"):
            result[name] = [rng.permutation(n) for rng, n in zip(generators, lengths, strict=True)]
        else:
            result[name] = [_descending(gradients[name][row, :n]) for row, n in enumerate(lengths)]
    return result


def _descending(scores: np.ndarray) -> np.ndarray:
    """Return positions by decreasing score, ties by increasing position."""
    return np.argsort(-scores, kind="stable")


def _gradient_rankings(intervention: Intervention, orders: Sequence[str]) -> dict[str, np.ndarray]:
    """Return the gradient-based ranking scores [B, T] the requested orders need."""
    wanted = [name for name in orders if name in GRADIENT_ORDERS]
    if not wanted:
        return {}
    if not isinstance(intervention, BiLSTMIntervention):
        raise ValueError(f"orders {', '.join(wanted)}: {SKIPPED_FOR_TRANSFORMER}")
    weights = intervention.attention.clone().requires_grad_(True)
    with torch.enable_grad():
        probabilities = intervention.probabilities_for(weights[:, None, :])[:, 0]
        predicted = intervention.probabilities.argmax(dim=1, keepdim=True)
        (gradient,) = torch.autograd.grad(probabilities.gather(1, predicted).sum(), weights)
    attention = intervention.attention
    scores = {
        "gradient": gradient,
        "gradient_x_attention": gradient * attention,
        "sign_gradient_x_attention": torch.sign(gradient) * attention,
    }
    return {name: scores[name].to(torch.float64).cpu().numpy() for name in wanted}


def single_weight_zeroing(
    intervention: Intervention, generators: Sequence[np.random.Generator]
) -> SingleZeroing:
    """Return (a) for the intervention's instances; draws one integer per instance with n >= 2."""
    lengths = intervention.lengths.tolist()
    size, width = intervention.attention.shape
    attention = intervention.attention.masked_fill(
        ~real_positions(intervention.lengths, width), -1.0
    )
    top = attention.argmax(dim=1).tolist()
    chosen = []
    for rng, n, first in zip(generators, lengths, top, strict=True):
        if n < 2:
            chosen.append(-1)
            continue
        pick = int(rng.integers(n - 1))
        chosen.append(pick + (pick >= first))  # skip the top position
    keep = torch.ones(size, 2, width, dtype=torch.bool, device=attention.device)
    rows = torch.arange(size, device=attention.device)
    keep[rows, 0, torch.as_tensor(top, device=attention.device)] = False
    others = torch.as_tensor([max(position, 0) for position in chosen], device=attention.device)
    keep[rows, 1, others] = False
    with torch.no_grad():
        probabilities = intervention.zeroed_probabilities(keep).to(torch.float64)
        base = intervention.probabilities.to(torch.float64)
        divergence = jsd(probabilities, base[:, None, :]).cpu().numpy()
        flipped = (probabilities.argmax(dim=2) != base.argmax(dim=1)[:, None]).cpu().numpy()
    weights = intervention.attention.to(torch.float64).cpu().numpy()
    has_top = np.asarray(lengths) > 0
    has_other = np.asarray(chosen) >= 0
    top_position = np.where(has_top, np.asarray(top), -1)
    top_jsd = np.where(has_top, divergence[:, 0], np.nan)
    random_jsd = np.where(has_other, divergence[:, 1], np.nan)
    return SingleZeroing(
        top_position=top_position,
        top_weight=np.where(has_top, weights[np.arange(size), np.maximum(top_position, 0)], np.nan),
        top_jsd=top_jsd,
        top_flipped=has_top & flipped[:, 0],
        random_position=np.asarray(chosen),
        random_weight=np.where(has_other, weights[np.arange(size), others.cpu().numpy()], np.nan),
        random_jsd=random_jsd,
        random_flipped=has_other & flipped[:, 1],
        jsd_difference=top_jsd - random_jsd,
    )


def flip_searches(
    intervention: Intervention, positions: Mapping[str, list[np.ndarray]]
) -> dict[str, FlipSearch]:
    """Return (b) for every order in ``positions``: all prefixes of all orders at once.

    Row k of an order zeroes its first k + 1 positions; every order's every prefix
    of every instance goes through the layers after attention in one call. Rows
    past an instance's length are padding and never count as a flip.
    """
    names = list(positions)
    size, width = intervention.attention.shape
    device = intervention.attention.device
    ranks = np.full((size, len(names), width), width, dtype=np.int64)
    for column, name in enumerate(names):
        for row, order_row in enumerate(positions[name]):
            ranks[row, column, order_row] = np.arange(order_row.shape[0])
    rank = torch.as_tensor(ranks, device=device)
    steps = torch.arange(width, device=device)
    keep = rank[:, :, None, :] > steps[None, None, :, None]  # [B, orders, prefixes, T]
    with torch.no_grad():
        flat = keep.reshape(size, len(names) * width, width)
        predictions = intervention.zeroed_probabilities(flat).argmax(dim=2)
        predictions = predictions.reshape(size, len(names), width)
        base = intervention.probabilities.argmax(dim=1)
        valid = real_positions(intervention.lengths, width)
        changed = ((predictions != base[:, None, None]) & valid[:, None, :]).cpu().numpy()
    attention = intervention.attention.to(torch.float64).cpu().numpy()
    lengths = np.maximum(intervention.lengths.cpu().numpy(), 1)
    flipped = np.asarray(changed.any(axis=2), dtype=bool)  # [B, orders]
    first = changed.argmax(axis=2)
    removed = ranks <= first[:, :, None]  # the positions zeroed up to the flip
    mass = (attention[:, None, :] * removed).sum(axis=2)
    result: dict[str, FlipSearch] = {}
    for column, name in enumerate(names):
        hit = flipped[:, column]
        items = np.where(hit, first[:, column] + 1.0, np.nan)
        result[name] = FlipSearch(
            order=name,
            flipped=hit.copy(),
            items=items,
            fraction=np.where(hit, items / lengths, np.nan),
            mass=np.where(hit, mass[:, column], np.nan),
        )
    return result


def flip_search(intervention: Intervention, order: str, positions: list[np.ndarray]) -> FlipSearch:
    """Return (b) for one order (see :func:`flip_searches`)."""
    return flip_searches(intervention, {order: positions})[order]


def supported_orders(model: nn.Module) -> tuple[tuple[str, ...], dict[str, str]]:
    """Return the orders defined for ``model`` and the skipped ones with the reason."""
    if isinstance(model, TransformerClassifier):
        kept = tuple(name for name in ORDERS if name not in GRADIENT_ORDERS)
        return kept, {name: SKIPPED_FOR_TRANSFORMER for name in GRADIENT_ORDERS}
    return ORDERS, {}


def zeroing_diagnostics(
    model: nn.Module,
    batch: Batch,
    *,
    orders: Sequence[str] | None = None,
    seed: int = 0,
    keys: Sequence[int] | None = None,
    chunk_size: int = 64,
    max_tokens: int = 2048,
) -> ZeroingResult:
    """Return (a) and (b) for every instance of ``batch`` (a BiLSTM or native transformer).

    ``orders``: default every order defined for the architecture. Each instance's
    generator first draws its random non-top position, then its random orders.
    Instances go in length-sorted chunks of at most ``chunk_size`` instances and
    ``max_tokens`` instances x tokens: a chunk evaluates orders x tokens prefixes of
    each instance, so memory grows with ``max_tokens`` x tokens x orders.
    """
    defined, skipped = supported_orders(model)
    chosen_orders = tuple(defined if orders is None else orders)
    unknown = [name for name in chosen_orders if name not in ORDERS]
    if unknown:
        raise ValueError(
            f"orders: unknown {', '.join(unknown)}; expected some of {', '.join(ORDERS)}"
        )
    not_defined = [name for name in chosen_orders if name in skipped]
    if not_defined:
        raise ValueError(f"orders {', '.join(not_defined)}: {SKIPPED_FOR_TRANSFORMER}")
    check_model_batch(model, batch)
    streams = instance_keys(keys, batch.size)
    parts: list[tuple[list[int], SingleZeroing, dict[str, FlipSearch], np.ndarray]] = []
    with evaluation_mode(model):
        for indices, piece in batch.chunks_by_length(chunk_size, max_tokens=max_tokens):
            rows = indices.tolist()
            intervention = intervention_for(model, piece)
            generators = [instance_generator(seed, streams[row]) for row in rows]
            single = single_weight_zeroing(intervention, generators)
            positions = order_positions(intervention, chosen_orders, generators)
            flips = flip_searches(intervention, positions)
            labels = intervention.probabilities.argmax(dim=1).cpu().numpy()
            parts.append((rows, single, flips, labels))
    return _assemble(batch.size, parts, chosen_orders, skipped)


def _assemble(
    size: int,
    parts: list[tuple[list[int], SingleZeroing, dict[str, FlipSearch], np.ndarray]],
    orders: Sequence[str],
    skipped: dict[str, str],
) -> ZeroingResult:
    """Put the chunks' results back in the batch's row order."""
    order = np.concatenate([np.asarray(rows, dtype=np.int64) for rows, *_ in parts])
    inverse = np.empty(size, dtype=np.int64)
    inverse[order] = np.arange(size)

    def joined(values: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(values)[inverse]

    fields = SingleZeroing.__dataclass_fields__
    single = SingleZeroing(
        **{name: joined([getattr(part[1], name) for part in parts]) for name in fields}
    )
    flips = {
        name: FlipSearch(
            order=name,
            flipped=joined([part[2][name].flipped for part in parts]),
            items=joined([part[2][name].items for part in parts]),
            fraction=joined([part[2][name].fraction for part in parts]),
            mass=joined([part[2][name].mass for part in parts]),
        )
        for name in orders
    }
    predicted = joined([part[3] for part in parts])
    return ZeroingResult(single=single, flips=flips, predicted=predicted, skipped=skipped)


__all__ = [
    "GRADIENT_ORDERS",
    "ORDERS",
    "RANDOM_ORDERS",
    "SKIPPED_FOR_TRANSFORMER",
    "FlipSearch",
    "SingleZeroing",
    "ZeroingResult",
    "flip_search",
    "flip_searches",
    "order_positions",
    "single_weight_zeroing",
    "supported_orders",
    "zeroing_diagnostics",
]
