"""Attribution speed: our batched methods against Captum's best batched settings, one run.

Workload (the explanations issue): the BiLSTM attention model with a 20,000-word
vocabulary, 300-dimensional embeddings and 128 hidden units per direction; 256
instances of 10 to 60 tokens in random order; 2 threads. Both sides get the same
model, the same instances in the same order and the same target classes (the
model's predictions, computed beforehand). For Captum every batched setting listed
below is timed and the fastest is reported; ours is ``explain(model, batch, method)``
on the whole batch. Each configuration is timed ``--repeats`` times, Captum and ours
alternating, and the best time kept (the machine is shared: the minimum is the
least disturbed run). The last column checks that both sides computed the same
scores (max |difference| / largest |score|).

Run: ``python -m bench.attribution`` (``--quick`` for a smoke run on 32 instances).
"""

import argparse
import os
import time
from collections.abc import Callable

import numpy as np
import torch
from captum.attr import FeatureAblation, InputXGradient, IntegratedGradients, Saliency

from explanations.compute.architectures import build_model
from explanations.compute.attribution import explain
from explanations.compute.batching import Batch, make_batch

TARGETS = {"gradient": 1.5, "grad_input": 1.5, "integrated_gradients": 3.0, "occlusion": 2.0}


def workload(instances: int, seed: int = 0) -> tuple[torch.nn.Module, Batch, torch.Tensor]:
    """Return the issue's model (random weights), a batch of instances and their targets."""
    torch.manual_seed(seed)
    model = build_model(
        {
            "architecture": "bilstm_attention",
            "vocab_size": 20_000,
            "num_labels": 2,
            "embedding_dim": 300,
            "hidden_dim": 128,
        }
    ).eval()
    rng = np.random.default_rng(seed)
    lengths = rng.integers(10, 61, size=instances)
    seqs = [rng.integers(2, 20_000, size=n).tolist() for n in lengths]
    batch = make_batch(seqs)
    with torch.no_grad():
        targets = model(batch).logits.argmax(dim=1)
    return model, batch, targets


def _forward(model: torch.nn.Module, batch: Batch) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return logits as a function of embeddings; Captum's stacked copies repeat the batch."""

    def forward(values: torch.Tensor) -> torch.Tensor:
        copies = values.shape[0] // batch.size
        rows = batch.select(torch.arange(batch.size).repeat(copies)) if copies > 1 else batch
        return model.forward_embeddings(values, rows).logits

    return forward


def _pieces(batch: Batch, size: int) -> list[tuple[torch.Tensor, Batch]]:
    """Split in the given order (no sorting: that is our method's trick, not Captum's)."""
    return [
        (
            torch.arange(start, min(start + size, batch.size)),
            batch.select(torch.arange(start, min(start + size, batch.size))),
        )
        for start in range(0, batch.size, size)
    ]


def captum_scores(
    model: torch.nn.Module, batch: Batch, targets: torch.Tensor, method: str, size: int
) -> np.ndarray:
    """Run Captum on pieces of ``size`` instances; return per-token scores [B, T]."""
    result = np.zeros(batch.input_ids.shape)
    for indices, piece in _pieces(batch, size):
        embeddings = model.embed(piece).detach().requires_grad_(True)
        forward = _forward(model, piece)
        target = targets[indices]
        width = embeddings.shape[1]
        if method == "gradient":
            scores = Saliency(forward).attribute(embeddings, target=target, abs=False).norm(dim=-1)
        elif method == "grad_input":
            scores = InputXGradient(forward).attribute(embeddings, target=target).sum(dim=-1)
        elif method == "integrated_gradients":
            scores = (
                IntegratedGradients(forward)
                .attribute(
                    embeddings,
                    baselines=torch.zeros_like(embeddings),
                    target=target,
                    method="gausslegendre",
                    n_steps=50,
                )
                .sum(dim=-1)
            )
        else:
            ablation = FeatureAblation(lambda v, f=forward: torch.softmax(f(v), dim=-1))
            mask = torch.arange(width)[None, :, None].expand_as(embeddings)
            scores = ablation.attribute(
                embeddings,
                baselines=0.0,
                target=target,
                feature_mask=mask,
                perturbations_per_eval=width,
            )[:, :, 0]
        result[indices.numpy(), :width] = scores.detach().numpy()
    return result


def ours_scores(
    model: torch.nn.Module, batch: Batch, targets: torch.Tensor, method: str
) -> np.ndarray:
    """Run ``explain`` on the whole batch; return per-token scores [B, T]."""
    result = np.zeros(batch.input_ids.shape)
    for row, attribution in enumerate(explain(model, batch, method, target=targets.tolist())):
        result[row, : len(attribution.scores)] = attribution.scores
    return result


def best_time(function: Callable[[], np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    """Return the fastest of ``repeats`` runs and the last result."""
    best, value = float("inf"), np.zeros(0)
    for _ in range(repeats):
        began = time.perf_counter()
        value = function()
        best = min(best, time.perf_counter() - began)
    return best, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="32 instances, one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default="gradient,grad_input,integrated_gradients,occlusion")
    parser.add_argument("--threads", type=int, default=2, help="the issue's workload uses 2")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    instances = 32 if args.quick else 256
    repeats = 1 if args.quick else args.repeats
    model, batch, targets = workload(instances)
    settings = {
        "gradient": [32, 64, 256],
        "grad_input": [32, 64, 256],
        "integrated_gradients": [1, 4],
        "occlusion": [1, 8, 32],
    }
    print(
        f"BiLSTM attention, vocab 20,000, emb 300, hidden 128x2; {instances} instances of 10-60 tokens; "
        f"{torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f}"
    )
    header = f"{'method':<22}{'captum best setting':<22}{'captum s':>9}{'ours s':>9}{'captum/s':>10}{'ours/s':>9}{'ratio':>7}{'target':>8}{'max rel diff':>14}"
    print(header)
    for method in args.methods.split(","):
        ours_time, ours_value = best_time(lambda m=method: ours_scores(model, batch, targets, m), 1)
        timings = {}
        reference = np.zeros(0)
        for size in settings[method][:1] if args.quick else settings[method]:
            timings[size], reference = best_time(
                lambda m=method, s=size: captum_scores(model, batch, targets, m, s), 1
            )
        best_size = min(timings, key=timings.__getitem__)
        captum_time = timings[best_size]
        for _ in range(repeats - 1):
            captum_time = min(
                captum_time,
                best_time(
                    lambda m=method, s=best_size: captum_scores(model, batch, targets, m, s), 1
                )[0],
            )
            ours_time = min(
                ours_time, best_time(lambda m=method: ours_scores(model, batch, targets, m), 1)[0]
            )
        difference = float(np.abs(ours_value - reference).max() / np.abs(reference).max())
        setting = f"{best_size} per call" + (
            "" if len(timings) == 1 else f" (of {sorted(timings)})"
        )
        print(
            f"{method:<22}{setting:<22}{captum_time:>9.3f}{ours_time:>9.3f}"
            f"{instances / captum_time:>10.1f}{instances / ours_time:>9.1f}"
            f"{captum_time / ours_time:>6.2f}x{TARGETS[method]:>7.1f}x{difference:>14.1e}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
