"""Attribution speed: our batched methods against Captum's best batched settings, one run.

Workload (the explanations issue): the BiLSTM attention model with a 20,000-word
vocabulary, 300-dimensional embeddings and 128 hidden units per direction (random
weights: speed does not depend on them); 256 instances of 10 to 60 tokens in random
order; 2 threads. Both sides get the same model, the same instances in the same
order and the same target classes (the model's predictions, computed beforehand).
Captum runs on the model's own ``forward_embeddings`` (which already uses the fast
unpacked BiLSTM of DESIGN.md's performance notes); every batched setting listed in
SETTINGS is timed and the fastest is reported. Ours is ``explain(model, batch,
method)`` on the whole batch. Captum and ours alternate, each timed ``--repeats``
times, and the best time is kept (the machine is shared: the minimum is the least
disturbed run). ``rel diff`` checks that both computed the same scores (max
|difference| / largest |score|). ``captum sorted`` reruns Captum's best setting on
instances sorted by length, to show what sorting alone gives a Captum user.

Run: ``python -m bench.attribution`` (``--quick``: 32 instances, one run each).
"""

import argparse
import os
import time
from collections.abc import Callable
from functools import partial

import numpy as np
import torch
from captum.attr import FeatureAblation, InputXGradient, IntegratedGradients, Saliency

from explanations.compute.architectures import BiLSTMAttentionClassifier, build_model
from explanations.compute.attribution import explain
from explanations.compute.batching import Batch, make_batch

SETTINGS = {
    "gradient": [32, 64, 256],
    "grad_input": [32, 64, 256],
    "integrated_gradients": [1, 4],
    "occlusion": [1, 8, 32],
}
TARGETS = {"gradient": 1.5, "grad_input": 1.5, "integrated_gradients": 3.0, "occlusion": 2.0}


def workload(
    instances: int, seed: int = 0
) -> tuple[BiLSTMAttentionClassifier, Batch, torch.Tensor]:
    """Return the issue's model (random weights), a batch of instances and their targets."""
    torch.manual_seed(seed)
    config = {
        "architecture": "bilstm_attention",
        "vocab_size": 20_000,
        "num_labels": 2,
        "embedding_dim": 300,
        "hidden_dim": 128,
    }
    model = build_model(config).eval()
    assert isinstance(model, BiLSTMAttentionClassifier)
    rng = np.random.default_rng(seed)
    lengths = rng.integers(10, 61, size=instances)
    seqs = [rng.integers(2, 20_000, size=n).tolist() for n in lengths]
    batch = make_batch(seqs)
    with torch.no_grad():
        targets = model(batch).logits.argmax(dim=1)
    return model, batch, targets


def _forward(
    model: BiLSTMAttentionClassifier, batch: Batch
) -> Callable[[torch.Tensor], torch.Tensor]:
    """Return logits as a function of embeddings; Captum's stacked copies repeat the batch."""

    def forward(values: torch.Tensor) -> torch.Tensor:
        copies = values.shape[0] // batch.size
        rows = batch.select(torch.arange(batch.size).repeat(copies)) if copies > 1 else batch
        return model.forward_embeddings(values, rows).logits

    return forward


def _pieces(
    batch: Batch, size: int, order: torch.Tensor | None
) -> list[tuple[torch.Tensor, Batch]]:
    """Split into pieces of ``size`` in the given order (or in ``order``)."""
    order = torch.arange(batch.size) if order is None else order
    pieces = []
    for start in range(0, batch.size, size):
        indices = order[start : start + size]
        pieces.append((indices, batch.select(indices)))
    return pieces


def captum_scores(
    model: BiLSTMAttentionClassifier,
    batch: Batch,
    targets: torch.Tensor,
    method: str,
    size: int,
    order: torch.Tensor | None = None,
) -> np.ndarray:
    """Run Captum on pieces of ``size`` instances; return per-token scores [B, T]."""
    result = np.zeros(batch.input_ids.shape)
    for indices, piece in _pieces(batch, size, order):
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
    model: BiLSTMAttentionClassifier, batch: Batch, targets: torch.Tensor, method: str
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
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="32 instances, one repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default="gradient,grad_input,integrated_gradients,occlusion")
    parser.add_argument("--threads", type=int, default=2, help="the issue's workload uses 2")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    instances = 32 if args.quick else 256
    repeats = 1 if args.quick else args.repeats
    model, batch, targets = workload(instances)
    by_length = torch.sort(batch.lengths, descending=True, stable=True).indices
    print(
        f"BiLSTM attention, vocabulary 20,000, embeddings 300, hidden 128 x 2; {instances} "
        f"instances of 10-60 tokens; {torch.get_num_threads()} threads; "
        f"load average {os.getloadavg()[0]:.2f} (the machine is shared: best of {repeats})"
    )
    print(
        f"{'method':<22}{'captum setting':<16}{'captum s':>9}{'ours s':>8}{'captum/s':>9}"
        f"{'ours/s':>8}{'ratio':>7}{'target':>7}{'rel diff':>9}{'captum sorted s':>16}"
    )
    for method in args.methods.split(","):
        ours = partial(ours_scores, model, batch, targets, method)
        sizes = SETTINGS[method][:1] if args.quick else SETTINGS[method]
        timings: dict[int, float] = {}
        ours_time, ours_value = best_time(ours, 1)
        reference = np.zeros(0)
        for size in sizes:
            timings[size], reference = best_time(
                partial(captum_scores, model, batch, targets, method, size), 1
            )
        # settings within 1.3x of the fastest first run are all repeated: one noisy run
        # must not pick the setting
        contenders = [s for s in sizes if timings[s] <= 1.3 * min(timings.values())]
        for _ in range(repeats - 1):
            ours_time = min(ours_time, best_time(ours, 1)[0])
            for candidate in contenders:
                again = best_time(
                    partial(captum_scores, model, batch, targets, method, candidate), 1
                )
                timings[candidate] = min(timings[candidate], again[0])
        size = min(timings, key=timings.__getitem__)
        captum_time = timings[size]
        sorted_time = (
            best_time(
                partial(captum_scores, model, batch, targets, method, size, by_length), repeats
            )[0]
            if size > 1
            else captum_time  # one instance per call: no padding, sorting changes nothing
        )
        difference = float(np.abs(ours_value - reference).max() / np.abs(reference).max())
        print(
            f"{method:<22}{f'{size} per call':<16}{captum_time:>9.3f}{ours_time:>8.3f}"
            f"{instances / captum_time:>9.1f}{instances / ours_time:>8.1f}"
            f"{captum_time / ours_time:>6.2f}x{TARGETS[method]:>6.1f}x{difference:>9.1e}"
            f"{sorted_time:>16.3f}"
        )
    print(
        "captum setting: the fastest of "
        + "; ".join(f"{m} {SETTINGS[m]}" for m in args.methods.split(","))
        + " instances per call, in the given order. captum sorted: the same setting on"
        " instances sorted by length (a trick a Captum user can apply by hand)."
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
