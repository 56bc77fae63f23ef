"""Attention diagnostics speed: batched over instances against a per-instance loop.

Workload (issue #13): a BiLSTM attention model of the demo's size (the default
config: 64-dimensional embeddings, 64 hidden units per direction; 5,000-word
vocabulary, two classes; random weights: speed does not depend on them) and 200
instances of 10 to 60 tokens in random order; 2 threads.

The reference is a loop written the way the official code runs it, one instance at
a time: J&W's ``permute_attn`` reruns the decoder once per permutation on kept
states; S&S's ``get_dec_flip_info_for_batch`` zeroes one weight, renormalises and
reruns until the decision flips; J&W's ``AdversaryMulti`` optimises one
instance's K candidates for 500 Adam steps. Both sides use the same model, the same
instances, the same per-instance random streams and the same stopping rule (a fixed
500 steps), so their results must agree: ``max diff`` is the largest absolute
difference of the figures each diagnostic reports (median TVDs; flip items, masses
and single-weight JSDs; every candidate's JSD and TVD), ``flip mismatches`` the
instances whose flip count differs. Each side is timed ``--repeats`` times and the
best time kept (the machine is shared: the minimum is the least disturbed run).

Run: ``python -m bench.diagnostics`` (``--quick``: 32 instances, one run each).
"""

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from explanations.compute.architectures import BiLSTMAttentionClassifier, build_model
from explanations.compute.batching import Batch, make_batch
from explanations.compute.diagnostics.adversarial import (
    AdversarialSettings,
    adversarial_attention,
    initial_logits,
    optimise_candidates,
    search_model,
)
from explanations.compute.diagnostics.intervention import (
    BiLSTMIntervention,
    instance_generator,
)
from explanations.compute.diagnostics.metrics import jsd, tvd
from explanations.compute.diagnostics.permutation import permutation_test
from explanations.compute.diagnostics.zeroing import (
    ORDERS,
    order_positions,
    single_weight_zeroing,
    zeroing_diagnostics,
)

PERMUTATIONS = 100
SEED = 0
TARGET = 10.0


def workload(instances: int, seed: int = 0) -> tuple[BiLSTMAttentionClassifier, Batch]:
    """Return the demo-sized BiLSTM (random weights, eval mode) and a batch of instances."""
    torch.manual_seed(seed)
    config = {"architecture": "bilstm_attention", "vocab_size": 5_000, "num_labels": 2}
    model = build_model(config).eval()
    assert isinstance(model, BiLSTMAttentionClassifier)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(10, 61, size=instances)
    return model, make_batch([rng.integers(2, 5_000, size=n).tolist() for n in lengths])


def single(batch: Batch, row: int) -> Batch:
    """Return instance ``row`` alone."""
    return batch.select(torch.tensor([row]))


# ---- permutation -------------------------------------------------------------------


def permutation_ours(model: BiLSTMAttentionClassifier, batch: Batch) -> np.ndarray:
    return permutation_test(model, batch, permutations=PERMUTATIONS, seed=SEED).median_tvd


def permutation_loop(model: BiLSTMAttentionClassifier, batch: Batch) -> np.ndarray:
    """One instance, one permutation at a time (states kept, as J&W's ``permute_attn``)."""
    medians = np.zeros(batch.size)
    with torch.no_grad():
        for row in range(batch.size):
            alone = BiLSTMIntervention(model, single(batch, row))
            n = alone.attention.shape[1]
            rng = instance_generator(SEED, row)
            distances = []
            for _ in range(PERMUTATIONS):
                shuffle = np.argsort(rng.random(n), kind="stable")
                weights = alone.attention[:, torch.as_tensor(shuffle)]
                output = alone.probabilities_for(weights[:, None, :])[:, 0]
                distances.append(float(tvd(output, alone.probabilities)[0]))
            medians[row] = np.median(distances)
    return medians


# ---- zeroing -----------------------------------------------------------------------


def zeroing_ours(model: BiLSTMAttentionClassifier, batch: Batch) -> dict[str, np.ndarray]:
    result = zeroing_diagnostics(model, batch, seed=SEED)
    figures = {"top_jsd": result.single.top_jsd, "random_jsd": result.single.random_jsd}
    for name in ORDERS:
        figures[f"{name}_items"] = result.flips[name].items
        figures[f"{name}_mass"] = result.flips[name].mass
    return figures


def _zeroed_once(alone: BiLSTMIntervention, position: int) -> torch.Tensor:
    weights = alone.attention.clone()
    weights[0, position] = 0
    weights = weights / weights.sum()
    return alone.probabilities_for(weights[:, None, :])[:, 0]


def zeroing_loop(model: BiLSTMAttentionClassifier, batch: Batch) -> dict[str, np.ndarray]:
    """One instance, one zeroing at a time (S&S's loop: zero, renormalise, rerun, stop at a flip)."""
    figures = {name: np.full(batch.size, np.nan) for name in ("top_jsd", "random_jsd")}
    for name in ORDERS:
        figures[f"{name}_items"] = np.full(batch.size, np.nan)
        figures[f"{name}_mass"] = np.full(batch.size, np.nan)
    for row in range(batch.size):
        alone = BiLSTMIntervention(model, single(batch, row))
        rng = instance_generator(SEED, row)
        # the same draws in the same sequence as the batched run: one non-top pick, then orders
        picks = single_weight_zeroing(alone, [rng])
        positions = order_positions(alone, ORDERS, [rng])
        base = alone.probabilities.double()
        with torch.no_grad():
            for name, position in (
                ("top_jsd", picks.top_position[0]),
                ("random_jsd", picks.random_position[0]),
            ):
                output = _zeroed_once(alone, int(position)).double()
                figures[name][row] = float(jsd(output, base)[0])
            label = int(alone.probabilities.argmax())
            for name in ORDERS:
                weights = alone.attention.clone()
                order = positions[name][0]
                for count, position in enumerate(order, start=1):
                    weights[0, position] = 0
                    total = weights.sum()
                    weights = weights / total if total > 0 else weights
                    output = alone.probabilities_for(weights[:, None, :])
                    if int(output.argmax()) != label:
                        figures[f"{name}_items"][row] = count
                        figures[f"{name}_mass"][row] = float(
                            alone.attention[0, order[:count]].double().sum()
                        )
                        break
    return figures


# ---- adversarial -------------------------------------------------------------------


def adversarial_ours(
    model: BiLSTMAttentionClassifier, batch: Batch, settings: AdversarialSettings
) -> dict[str, np.ndarray]:
    result = adversarial_attention(model, batch, settings=settings, seed=SEED)
    return {
        "candidate_jsd": np.stack(result.candidate_jsd),
        "candidate_tvd": np.stack(result.candidate_tvd),
    }


def adversarial_loop(
    model: BiLSTMAttentionClassifier, batch: Batch, settings: AdversarialSettings
) -> dict[str, np.ndarray]:
    """One adversary at a time: each instance's K candidates optimised on their own."""
    jsds, tvds = [], []
    searched = search_model(model, settings)
    for row in range(batch.size):
        alone = BiLSTMIntervention(searched, single(batch, row))
        n = alone.attention.shape[1]
        start = initial_logits([n], n, settings, [instance_generator(SEED, row)])
        final = optimise_candidates(alone, start, settings)
        with torch.no_grad():
            output = alone.probabilities_for(final).double()
            tvds.append(tvd(output, alone.probabilities[:, None, :].double())[0].numpy())
            jsds.append(jsd(final.double(), alone.attention[:, None, :].double())[0].numpy())
    return {"candidate_jsd": np.stack(jsds), "candidate_tvd": np.stack(tvds)}


# ---- driver ------------------------------------------------------------------------


def best_time(function: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Return the fastest of ``repeats`` runs and the last result."""
    best, value = float("inf"), None
    for _ in range(repeats):
        began = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - began)
    return best, value


def difference(ours: Any, loop: Any) -> tuple[float, int]:
    """Return the largest |ours - loop| over matching figures, and the flip-count mismatches."""
    if isinstance(ours, np.ndarray):
        ours, loop = {"value": ours}, {"value": loop}
    worst, mismatches = 0.0, 0
    for name, values in ours.items():
        other = loop[name]
        both_nan = np.isnan(values) & np.isnan(other)
        one_nan = np.isnan(values) ^ np.isnan(other)
        if name.endswith("_items"):
            mismatches += int((one_nan | (~both_nan & (values != other))).sum())
            continue
        if one_nan.any():
            worst = float("inf")
        finite = ~np.isnan(values) & ~np.isnan(other)
        if finite.any():
            worst = max(worst, float(np.abs(values[finite] - other[finite]).max()))
    return worst, mismatches


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="32 instances, one repeat")
    parser.add_argument("--instances", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=500, help="adversarial Adam steps")
    parser.add_argument("--threads", type=int, default=2, help="the issue's workload uses 2")
    parser.add_argument("--diagnostics", default="permutation,zeroing,adversarial")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    instances = 32 if args.quick else args.instances
    repeats = 1 if args.quick else args.repeats
    model, batch = workload(instances)
    settings = AdversarialSettings(steps=args.steps)
    print(
        f"BiLSTM attention, embeddings 64, hidden 64 x 2; {instances} instances of 10-60 "
        f"tokens; {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f} "
        f"(the machine is shared: best of {repeats}); adversary {args.steps} steps"
    )
    print(
        f"{'diagnostic':<14}{'loop s':>9}{'ours s':>9}{'ratio':>8}{'target':>8}"
        f"{'max diff':>11}{'flip mismatches':>17}"
    )
    runs: dict[str, tuple[Callable[[], Any], Callable[[], Any]]] = {
        "permutation": (
            lambda: permutation_loop(model, batch),
            lambda: permutation_ours(model, batch),
        ),
        "zeroing": (lambda: zeroing_loop(model, batch), lambda: zeroing_ours(model, batch)),
        "adversarial": (
            lambda: adversarial_loop(model, batch, settings),
            lambda: adversarial_ours(model, batch, settings),
        ),
    }
    # one untimed pass of each side on two instances: first-call costs go to neither
    warm_batch = batch.select(torch.arange(2))
    warm_settings = AdversarialSettings(steps=2)
    permutation_loop(model, warm_batch)
    permutation_ours(model, warm_batch)
    zeroing_loop(model, warm_batch)
    zeroing_ours(model, warm_batch)
    adversarial_loop(model, warm_batch, warm_settings)
    adversarial_ours(model, warm_batch, warm_settings)
    for name in args.diagnostics.split(","):
        loop, ours = runs[name]
        loop_time, loop_value = best_time(loop, repeats)
        ours_time, ours_value = best_time(ours, repeats)
        worst, mismatches = difference(ours_value, loop_value)
        print(
            f"{name:<14}{loop_time:>9.2f}{ours_time:>9.2f}{loop_time / ours_time:>7.1f}x"
            f"{TARGET:>7.0f}x{worst:>11.2e}{mismatches:>17d}"
        )


if __name__ == "__main__":
    main()
