"""Wiegreffe & Pinter's (2019) tests of attention: uniform baseline, seeds, adversary.

"Attention is not not Explanation" asks what a model's attention should be compared
with, and answers with models trained the same way but for one change, all measured
on the same held-out instances (our reading of sarahwie/attention, written anew):

* **uniform baseline** (section 3.1): the same architecture with attention frozen to
  1/length over the real tokens (``--attention frozen``, ``FrozenAttnDecoder``). If
  its F1 is close to the base model's, attention is not needed for the task and its
  weights cannot be expected to explain much.
* **seed variance** (section 3.2, ``run_seeds.sh`` and ``seed_graphs.py``): models
  trained from other seeds on the same split. Per held-out instance: the median over
  seeds of JSD(attention_seed, attention_base), the mean over seeds of the output
  distance, the base model's maximum attention weight and predicted label. Their
  output distance is |sigmoid_seed - sigmoid_base| of a one-logit binary model, which
  is the total variation distance of the two-class distributions; we use the TVD of
  the softmax outputs, the same number for two classes and defined for more.
* **model-consistent adversary** (section 4, ``Binary_Classification.py::train``): a
  model trained, from the same initialisation (their runs share the default seed),
  on the loss TVD(y_adv, y_base) - lambda * KL(a_adv || a_base) against the frozen
  base model's outputs and attention on the same instances, for up to 80 epochs
  (``run_adversarial.sh``: ``--n_iters 80``), stopped after 10 epochs without a
  lower training loss and kept at the epoch with the lowest training loss
  (``TrainerBC.py::train_adversarial``). Reported per lambda: held-out F1 and
  accuracy, and per instance TVD(y_adv, y_base) and JSD(a_adv, a_base).

Every model here is trained by :func:`explanations.compute.training.train_classifier`
with the base model's held-out split (``split_seed`` = the base seed), so every
number is measured on instances none of the models trained on.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from explanations.compute.architectures import ClassifierOutput, device_of
from explanations.compute.batching import Batch
from explanations.compute.diagnostics.metrics import jsd, tvd
from explanations.compute.diagnostics.recipe import Recipe, StepProgress
from explanations.compute.training import (
    Example,
    LossFunction,
    ProgressCallback,
    TrainResult,
    examples_batch,
    macro_f1,
)

DEFAULT_LAMBDAS: tuple[float, ...] = (0.0001, 0.001, 0.01, 0.1, 1.0)
"""The adversary's default lambda grid, ours: a log grid from output-consistent to attention-led.

The official code trains one lambda per run (``run_adversarial.sh [dataset]
[lambda_value]``; ``train_and_run_experiments_bc.py`` refuses to run without
``--lmbda``) and ships no grid; the paper sweeps lambda (Figure 5's adversarial
points "with varying lambda"). This grid spans the same range of behaviour: at
1e-4 the TVD term dominates and the adversary copies the base model's outputs;
at 1 the KL term dominates.
"""
ADVERSARY_EPOCHS = 80
"""W&P's adversary trains for up to 80 epochs (``run_adversarial.sh``: ``--n_iters 80``)."""
ADVERSARY_PATIENCE = 10
"""W&P stop the adversary after 10 epochs without a lower training loss (``TrainerBC.py``)."""
DEFAULT_SEEDS = 8
"""W&P train eight seeds (``seeds.txt``); the issue's default too."""

UNIFORM_DEFINITION = (
    "The same architecture and training with attention frozen to 1/length over the real "
    "tokens (Wiegreffe & Pinter 2019, section 3.1); macro-F1 and accuracy on the base "
    "model's held-out split, for both models."
)
SEED_DEFINITION = (
    "Models trained from other seeds on the base model's split (Wiegreffe & Pinter 2019, "
    "section 3.2). Per held-out instance: median over seeds of JSD(attention_seed, "
    "attention_base) (natural log) and mean over seeds of TVD(output_seed, output_base), "
    "against the base model's maximum attention weight, by its predicted label."
)
ADVERSARY_DEFINITION = (
    "A model trained from the base model's initialisation on the loss TVD(y_adv, y_base) - "
    "lambda * KL(a_adv || a_base), the base model frozen (Wiegreffe & Pinter 2019, "
    "section 4); best epoch by training loss. Per held-out instance: TVD of the outputs "
    "and JSD of the attention (natural log) against the base model."
)


@dataclass(frozen=True, eq=False)
class HeldOutOutputs:
    """A model's outputs on held-out examples, in their order.

    ``probabilities`` [N, C] (softmax), ``attention`` [N, T] over the explained
    tokens, zero beyond each instance's ``lengths`` [N], ``predicted`` [N] and the
    gold ``labels`` [N].
    """

    probabilities: np.ndarray
    attention: np.ndarray
    lengths: np.ndarray
    predicted: np.ndarray
    labels: np.ndarray

    @property
    def macro_f1(self) -> float:
        """Return the macro-F1 of the predictions against the gold labels."""
        return macro_f1(self.labels.tolist(), self.predicted.tolist())

    @property
    def accuracy(self) -> float:
        """Return the share of predictions equal to the gold label."""
        return float(np.mean(self.predicted == self.labels))

    @property
    def max_attention(self) -> np.ndarray:
        """Return each instance's largest attention weight [N]."""
        return np.asarray(self.attention.max(axis=1, initial=0.0))

    def scores(self) -> dict[str, float]:
        """Return ``{"macro_f1", "accuracy"}``."""
        return {"macro_f1": self.macro_f1, "accuracy": self.accuracy}


@dataclass(frozen=True, eq=False)
class UniformBaseline:
    """The uniform-attention model against the base model, on the base model's held-out split.

    ``held_out`` are the indices (into the recipe's examples) of the instances the
    outputs are aligned with; ``base`` is None when no base model was given.
    ``model`` is the trained uniform-attention model, ``metrics`` its training metrics.
    """

    held_out: np.ndarray
    uniform: HeldOutOutputs
    base: HeldOutOutputs | None
    model: nn.Module
    metrics: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Return the F1 table and its definition (JSON-serialisable)."""
        base = None if self.base is None else self.base.scores()
        uniform = self.uniform.scores()
        return {
            "experiment": "uniform_baseline",
            "definition": UNIFORM_DEFINITION,
            "held_out_size": len(self.held_out),
            "uniform": uniform,
            "base": base,
            "f1_difference": None if base is None else base["macro_f1"] - uniform["macro_f1"],
            "epochs_run": self.metrics.get("epochs_run"),
            "best_epoch": self.metrics.get("best_epoch"),
        }


@dataclass(frozen=True, eq=False)
class SeedVariance:
    """Attention and output distances between seed models and the base model, per instance.

    Arrays over seeds are [S, N] in the order of ``seeds``; over instances [N] in
    the order of ``held_out`` (indices into the recipe's examples).
    """

    seeds: tuple[int, ...]
    held_out: np.ndarray
    attention_jsd: np.ndarray
    output_tvd: np.ndarray
    median_jsd: np.ndarray
    mean_tvd: np.ndarray
    base_max_attention: np.ndarray
    base_predicted: np.ndarray
    seed_f1: np.ndarray
    seed_accuracy: np.ndarray
    base_f1: float
    base_accuracy: float

    def to_json(self, *, instances: bool = False) -> dict[str, Any]:
        """Return the summary (and, with ``instances``, the per-instance arrays)."""
        summary: dict[str, Any] = {
            "experiment": "seed_variance",
            "definition": SEED_DEFINITION,
            "seeds": list(self.seeds),
            "held_out_size": len(self.held_out),
            "base": {"macro_f1": self.base_f1, "accuracy": self.base_accuracy},
            "seed_macro_f1": self.seed_f1.tolist(),
            "seed_accuracy": self.seed_accuracy.tolist(),
            "mean_median_jsd": float(self.median_jsd.mean()),
            "mean_mean_tvd": float(self.mean_tvd.mean()),
        }
        if instances:
            summary["instances"] = {
                "held_out": self.held_out.tolist(),
                "median_jsd": self.median_jsd.tolist(),
                "mean_tvd": self.mean_tvd.tolist(),
                "base_max_attention": self.base_max_attention.tolist(),
                "base_predicted": self.base_predicted.tolist(),
            }
        return summary


@dataclass(frozen=True, eq=False)
class AdversaryRun:
    """One model-consistent adversary (one lambda) against the base model.

    ``tvd`` and ``jsd`` [N] are per held-out instance (order of ``held_out``);
    ``model`` is the trained adversary, ``metrics`` its training metrics.
    """

    lam: float
    held_out: np.ndarray
    outputs: HeldOutOutputs
    tvd: np.ndarray
    jsd: np.ndarray
    model: nn.Module
    metrics: dict[str, Any] = field(default_factory=dict)

    @property
    def mean_tvd(self) -> float:
        """Return the mean over held-out instances of TVD(y_adv, y_base)."""
        return float(self.tvd.mean())

    @property
    def mean_jsd(self) -> float:
        """Return the mean over held-out instances of JSD(a_adv, a_base)."""
        return float(self.jsd.mean())

    def to_json(self, *, instances: bool = False) -> dict[str, Any]:
        """Return this lambda's row (and, with ``instances``, the per-instance arrays)."""
        summary: dict[str, Any] = {
            "experiment": "model_consistent_adversary",
            "definition": ADVERSARY_DEFINITION,
            "lambda": self.lam,
            "held_out_size": len(self.held_out),
            **self.outputs.scores(),
            "mean_tvd": self.mean_tvd,
            "mean_jsd": self.mean_jsd,
            "epochs_run": self.metrics.get("epochs_run"),
            "best_epoch": self.metrics.get("best_epoch"),
        }
        if instances:
            summary["instances"] = {
                "held_out": self.held_out.tolist(),
                "tvd": self.tvd.tolist(),
                "jsd": self.jsd.tolist(),
            }
        return summary


def held_out_outputs(
    model: nn.Module, examples: Sequence[Example], *, batch_size: int = 128
) -> HeldOutOutputs:
    """Return ``model``'s outputs on ``examples`` (eval mode, no gradient), in their order."""
    if not examples:
        raise ValueError("no held-out examples to measure")
    model.eval()
    device = device_of(model)
    width = max(1, max(len(e.tokens) for e in examples))
    probabilities: list[torch.Tensor] = []
    attention = torch.zeros(len(examples), width, dtype=torch.float64)
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            chunk = examples[start : start + batch_size]
            output = model(examples_batch(chunk).to(device))
            probabilities.append(torch.softmax(output.logits.double().cpu(), dim=-1))
            weights = output.attention.double().cpu()
            attention[start : start + len(chunk), : weights.shape[1]] = weights
    stacked = torch.cat(probabilities).numpy()
    return HeldOutOutputs(
        probabilities=stacked,
        attention=attention.numpy(),
        lengths=np.array([len(e.tokens) for e in examples]),
        predicted=stacked.argmax(axis=1),
        labels=np.array([e.label for e in examples]),
    )


def output_tvd(first: HeldOutOutputs, second: HeldOutOutputs) -> np.ndarray:
    """Return TVD of the two models' output distributions per instance [N]."""
    return tvd(
        torch.from_numpy(first.probabilities), torch.from_numpy(second.probabilities)
    ).numpy()


def attention_jsd(first: HeldOutOutputs, second: HeldOutOutputs) -> np.ndarray:
    """Return JSD (natural log) of the two models' attention per instance [N]."""
    return jsd(torch.from_numpy(first.attention), torch.from_numpy(second.attention)).numpy()


def seed_statistics(
    seeds: Sequence[HeldOutOutputs], base: HeldOutOutputs
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return per-seed JSD [S, N], per-seed TVD [S, N], median JSD [N] and mean TVD [N].

    As W&P's ``seed_graphs.py``: the median over seeds of the attention JSD, the
    mean over seeds of the output distance.
    """
    if not seeds:
        raise ValueError("seed variance needs at least one seed model")
    divergences = np.stack([attention_jsd(s, base) for s in seeds])
    distances = np.stack([output_tvd(s, base) for s in seeds])
    return divergences, distances, np.median(divergences, axis=0), distances.mean(axis=0)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Return KL(p || q) = sum p (log p - log q) over the last dimension (natural log).

    Terms with p_i = 0 (padding) count 0; q is clamped to the smallest positive
    float before its logarithm, so a vanishing base weight gives a large but
    finite value, and gradients stay finite.
    """
    tiny = torch.finfo(p.dtype).tiny
    return (p * (torch.log(p.clamp_min(tiny)) - torch.log(q.clamp_min(tiny)))).sum(dim=-1)


def adversary_loss(
    output: ClassifierOutput, base_output: ClassifierOutput, lam: float
) -> torch.Tensor:
    """Return mean over the batch of TVD(y_adv, y_base) - lam * KL(a_adv || a_base).

    ``y`` are softmax distributions, ``a`` the attention over the explained tokens.
    W&P sum both terms over the batch (and their trainer multiplies by the batch
    size); the mean has the same minimiser and the same balance between the terms.
    Their binary TVD is 0.5 |sigmoid_adv - sigmoid_base|, half the two-class TVD
    used here, so the same trade-off takes a lambda here twice theirs.
    """
    distance = tvd(torch.softmax(output.logits, dim=-1), torch.softmax(base_output.logits, dim=-1))
    divergence = kl_divergence(output.attention, base_output.attention)
    return (distance - lam * divergence).mean()


def adversary_loss_fn(base_model: nn.Module, lam: float) -> LossFunction:
    """Return the training loss of the adversary against ``base_model`` (frozen, eval mode).

    The base model may sit on another device than the adversary (a stored model on
    a GPU): its outputs are moved to the batch's device.
    """
    base_model.eval()
    device = device_of(base_model)

    def loss(output: ClassifierOutput, batch: Batch, _labels: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            base_output = base_model(batch.to(device))
        target = ClassifierOutput(
            logits=base_output.logits.to(batch.device),
            attention=base_output.attention.to(batch.device),
        )
        return adversary_loss(output, target, lam)

    return loss


class _Counter:
    """Epoch-level progress over several trainings: ``done`` of the sum of epoch budgets."""

    def __init__(self, progress: StepProgress | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0

    def report(self, done: int, what: str) -> None:
        if self.progress is not None:
            self.progress(done, self.total, what)

    def epochs(self, what: str) -> ProgressCallback:
        """Return a ``train_classifier`` progress callback for the next training."""
        start = self.done

        def on_epoch(epoch: int, epochs: int, _record: dict[str, float]) -> None:
            self.report(start + epoch, f"{what}: epoch {epoch}/{epochs}")

        return on_epoch

    def finish(self, what: str, budget: int) -> None:
        """Count a training as done, whether or not it stopped early."""
        self.done += budget
        self.report(self.done, f"{what}: done")


def _train(recipe: Recipe, counter: _Counter, what: str, **changes: Any) -> TrainResult:
    budget = int(changes.get("epochs", recipe.epochs))
    result = recipe.train(progress=counter.epochs(what), **changes)
    counter.finish(what, budget)
    return result


def _check_base(recipe: Recipe, base_model: nn.Module | None) -> None:
    """Refuse a recipe (or base model) these tests are not defined for."""
    config = recipe.resolved_config()
    if config["architecture"] != "bilstm_attention":
        raise ValueError(
            f"Wiegreffe & Pinter's tests need the BiLSTM with additive attention; "
            f"the model under test is a {config['architecture']}"
        )
    if config["attention"] != "learned":
        raise ValueError(
            "the model under test has uniform attention already: nothing to compare its "
            "attention with"
        )
    if base_model is not None and getattr(base_model, "config", None) != config:
        raise ValueError("base_model was not built from the recipe's config")


def uniform_baseline(
    recipe: Recipe, *, base_model: nn.Module | None = None, progress: StepProgress | None = None
) -> UniformBaseline:
    """Train the recipe with uniform attention (same seed and split) and measure both models.

    ``base_model``, when given, is measured on the same held-out examples by the
    same code, so the two F1 differ only by the models.
    """
    _check_base(recipe, base_model)
    counter = _Counter(progress, recipe.epochs)
    config = {**recipe.config, "attention": "uniform"}
    result = _train(recipe, counter, "uniform attention", config=config)
    held_out = recipe.held_out()
    return UniformBaseline(
        held_out=np.array(recipe.split()[1]),
        uniform=held_out_outputs(result.model, held_out),
        base=None if base_model is None else held_out_outputs(base_model, held_out),
        model=result.model,
        metrics=result.metrics,
    )


def seed_list(recipe: Recipe, seeds: int | Sequence[int]) -> tuple[int, ...]:
    """Return the seeds to train: ``seeds`` given, or the ``seeds`` after the base seed."""
    chosen = (
        tuple(range(recipe.seed + 1, recipe.seed + 1 + seeds))
        if isinstance(seeds, int)
        else tuple(seeds)
    )
    if not chosen:
        raise ValueError("seeds must name at least one seed (or be a count >= 1)")
    if recipe.seed in chosen or len(set(chosen)) != len(chosen):
        raise ValueError(
            f"seeds must be distinct and differ from the base model's seed {recipe.seed}, "
            f"got {list(chosen)}"
        )
    return chosen


def seed_variance(
    recipe: Recipe,
    base_model: nn.Module,
    *,
    seeds: int | Sequence[int] = DEFAULT_SEEDS,
    progress: StepProgress | None = None,
) -> SeedVariance:
    """Train the recipe from other seeds on the base split; compare each with ``base_model``.

    ``seeds`` is a count (the seeds after the base seed: base + 1, ..., base + n) or
    the seeds themselves. Every instance of the held-out split is measured, as W&P
    measure their whole test set.
    """
    _check_base(recipe, base_model)
    chosen = seed_list(recipe, seeds)
    counter = _Counter(progress, recipe.epochs * len(chosen))
    held_out = recipe.held_out()
    base = held_out_outputs(base_model, held_out)
    outputs = []
    for position, seed in enumerate(chosen, start=1):
        result = _train(recipe, counter, f"seed {seed} ({position}/{len(chosen)})", seed=seed)
        outputs.append(held_out_outputs(result.model, held_out))
    divergences, distances, median, mean = seed_statistics(outputs, base)
    return SeedVariance(
        seeds=chosen,
        held_out=np.array(recipe.split()[1]),
        attention_jsd=divergences,
        output_tvd=distances,
        median_jsd=median,
        mean_tvd=mean,
        base_max_attention=base.max_attention,
        base_predicted=base.predicted,
        seed_f1=np.array([o.macro_f1 for o in outputs]),
        seed_accuracy=np.array([o.accuracy for o in outputs]),
        base_f1=base.macro_f1,
        base_accuracy=base.accuracy,
    )


def model_consistent_adversary(
    recipe: Recipe,
    base_model: nn.Module,
    *,
    lambdas: Sequence[float] = DEFAULT_LAMBDAS,
    epochs: int = ADVERSARY_EPOCHS,
    patience: int = ADVERSARY_PATIENCE,
    progress: StepProgress | None = None,
) -> list[AdversaryRun]:
    """Train one adversary per lambda against the frozen ``base_model``; measure each.

    Each adversary starts from the base model's initialisation (the recipe's seed),
    trains on the base model's training split with :func:`adversary_loss`, and keeps
    the epoch with the lowest training loss (W&P's protocol; ``epochs`` and
    ``patience`` default to theirs). ``base_model`` is put in eval mode.
    """
    _check_base(recipe, base_model)
    grid = [float(lam) for lam in lambdas]
    if not grid or any(not np.isfinite(lam) or lam < 0 for lam in grid):
        raise ValueError(f"lambdas must be finite numbers >= 0 (at least one), got {list(lambdas)}")
    counter = _Counter(progress, epochs * len(grid))
    held_out = recipe.held_out()
    base = held_out_outputs(base_model, held_out)
    runs = []
    for position, lam in enumerate(grid, start=1):
        result = _train(
            recipe,
            counter,
            f"adversary lambda={lam:g} ({position}/{len(grid)})",
            epochs=epochs,
            patience=patience,
            loss_fn=adversary_loss_fn(base_model, lam),
            select_on="train_loss",
        )
        outputs = held_out_outputs(result.model, held_out)
        runs.append(
            AdversaryRun(
                lam=lam,
                held_out=np.array(recipe.split()[1]),
                outputs=outputs,
                tvd=output_tvd(outputs, base),
                jsd=attention_jsd(outputs, base),
                model=result.model,
                metrics=result.metrics,
            )
        )
    return runs


__all__ = [
    "ADVERSARY_EPOCHS",
    "ADVERSARY_PATIENCE",
    "DEFAULT_LAMBDAS",
    "DEFAULT_SEEDS",
    "AdversaryRun",
    "HeldOutOutputs",
    "SeedVariance",
    "UniformBaseline",
    "adversary_loss",
    "adversary_loss_fn",
    "attention_jsd",
    "held_out_outputs",
    "kl_divergence",
    "model_consistent_adversary",
    "output_tvd",
    "seed_list",
    "seed_statistics",
    "seed_variance",
    "uniform_baseline",
]
