"""Deterministic training of a classifier with a seeded, stratified held-out split.

Adam on the cross-entropy, mini-batches in a seeded order, early stopping on the
held-out macro-F1 (ties broken by the lower held-out loss): training stops after
``patience`` epochs without a better epoch and the weights of the best epoch are
kept. (Selecting on the loss alone stopped too early on small data: the held-out
loss rises with over-confidence while accuracy still improves.) Reported on the held-out split:
accuracy, macro-F1 and the majority-class baseline (the accuracy of always
predicting the training set's most frequent label), so a reader sees at once
whether the model learnt anything.

Two hooks serve Wiegreffe & Pinter's (2019) tests: ``split_seed`` draws the held-out
split independently of the training seed (several seeds share the base model's
split), and ``loss_fn`` with ``select_on="train_loss"`` trains their model-consistent
adversary (its loss compares outputs with the base model's, not with the labels, so
its best epoch is the one with the lowest training loss, as in their
``Trainers/TrainerBC.py::train_adversarial``).
"""

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from explanations.compute.architectures import ClassifierOutput, build_model, resolve_config
from explanations.compute.batching import Batch, make_batch

ProgressCallback = Callable[[int, int, dict[str, float]], None]
LossFunction = Callable[[ClassifierOutput, Batch, torch.Tensor], torch.Tensor]
"""``loss_fn(output, batch, labels)``: the scalar loss of one training batch, to minimise."""
Selection = Literal["held_out_f1", "train_loss"]
SELECTIONS: tuple[str, ...] = ("held_out_f1", "train_loss")


@dataclass
class Example:
    """One training instance: token ids, gold label, and the context ids of a pair."""

    tokens: list[int]
    label: int
    context: list[int] | None = None


@dataclass
class TrainResult:
    """The trained model (best epoch, eval mode) and its held-out metrics.

    ``metrics`` holds ``accuracy``, ``macro_f1``, ``majority_baseline``,
    ``val_loss``, ``epochs_run``, ``best_epoch``, ``train_size``, ``val_size`` and
    ``history``, the list of per-epoch dicts (``epoch``, ``train_loss``,
    ``val_loss``, ``val_accuracy``, ``val_macro_f1``); the whole dict is
    JSON-serialisable.
    """

    model: nn.Module
    metrics: dict[str, Any] = field(default_factory=dict)
    held_out: list[int] = field(default_factory=list)
    """Indices (into the examples) of the held-out split: never trained on."""

    @property
    def history(self) -> list[dict[str, float]]:
        """Return the per-epoch history."""
        return list(self.metrics.get("history", []))


def macro_f1(y_true: Sequence[int], y_pred: Sequence[int]) -> float:
    """Return the unweighted mean over labels of ``F1 = 2 TP / (2 TP + FP + FN)``.

    The labels averaged over are those present in either ``y_true`` or
    ``y_pred`` (scikit-learn's ``f1_score(average="macro")`` convention); a label
    with no true and no predicted instance cannot occur, so no 0/0 arises.
    """
    true = np.asarray(y_true)
    pred = np.asarray(y_pred)
    if true.shape != pred.shape or true.size == 0:
        raise ValueError("macro_f1 needs two equally long, non-empty label sequences")
    scores = []
    for label in np.union1d(true, pred):
        tp = np.sum((true == label) & (pred == label))
        fp = np.sum((true != label) & (pred == label))
        fn = np.sum((true == label) & (pred != label))
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores))


def stratified_split(
    labels: Sequence[int], val_fraction: float, seed: int
) -> tuple[list[int], list[int]]:
    """Return (train, validation) indices, ``round(val_fraction * n_label)`` held out per label.

    Each label keeps at least one training instance; the shuffle is seeded.
    """
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction}")
    rng = np.random.default_rng(seed)
    label_array = np.asarray(labels)
    train: list[int] = []
    val: list[int] = []
    for label in np.unique(label_array):
        members = np.flatnonzero(label_array == label)
        rng.shuffle(members)
        held = min(int(round(val_fraction * len(members))), len(members) - 1)
        val.extend(int(i) for i in members[:held])
        train.extend(int(i) for i in members[held:])
    if not val:
        raise ValueError("the held-out split is empty: too few examples for val_fraction")
    return sorted(train), sorted(val)


def _check_examples(config: Mapping[str, Any], examples: Sequence[Example]) -> None:
    if not examples:
        raise ValueError("no training examples")
    for position, example in enumerate(examples):
        if not 0 <= example.label < config["num_labels"]:
            raise ValueError(
                f"example {position}: label {example.label} outside 0..{config['num_labels'] - 1}"
            )
        if (example.context is not None) != bool(config["pair"]):
            wanted = "needs a context (pair model)" if config["pair"] else "must have no context"
            raise ValueError(f"example {position} {wanted}")
        for ids in (example.tokens, example.context or []):
            if ids and not 0 <= min(ids) <= max(ids) < config["vocab_size"]:
                raise ValueError(
                    f"example {position}: token id outside the vocabulary (size "
                    f"{config['vocab_size']})"
                )


def examples_batch(examples: Sequence[Example]) -> Batch:
    """Return the padded batch of ``examples`` (with their contexts for pair examples)."""
    contexts = [e.context or [] for e in examples] if examples[0].context is not None else None
    return make_batch([e.tokens for e in examples], contexts)


def _logits(model: nn.Module, examples: Sequence[Example]) -> torch.Tensor:
    logits: torch.Tensor = model(examples_batch(examples)).logits
    return logits


def cross_entropy_loss(
    output: ClassifierOutput, batch: Batch, labels: torch.Tensor
) -> torch.Tensor:
    """Return the mean cross-entropy of the batch's logits against its gold labels."""
    return functional.cross_entropy(output.logits, labels)


def _evaluate(
    model: nn.Module, examples: Sequence[Example], batch_size: int
) -> tuple[float, list[int]]:
    model.eval()
    losses: list[float] = []
    predicted: list[int] = []
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            chunk = examples[start : start + batch_size]
            logits = _logits(model, chunk)
            target = torch.tensor([e.label for e in chunk])
            losses.append(functional.cross_entropy(logits, target, reduction="sum").item())
            predicted.extend(logits.argmax(dim=1).tolist())
    return sum(losses) / len(examples), predicted


def train_classifier(
    config: Mapping[str, Any],
    examples: Sequence[Example],
    *,
    seed: int = 0,
    epochs: int = 20,
    val_fraction: float = 0.2,
    patience: int = 3,
    batch_size: int = 32,
    lr: float = 2e-3,
    progress: ProgressCallback | None = None,
    split_seed: int | None = None,
    loss_fn: LossFunction | None = None,
    select_on: Selection = "held_out_f1",
) -> TrainResult:
    """Train a classifier and return the best epoch's model with its held-out metrics.

    Deterministic: the same config, examples and seeds give bit-identical weights
    on the same machine and thread count (weights and batch order are drawn from
    ``seed``, the held-out split from ``split_seed``, which defaults to ``seed``; the
    caller's global random state is left untouched).
    ``progress(epoch, epochs, epoch_metrics)`` is called after every epoch.
    ``loss_fn`` replaces the cross-entropy (:data:`LossFunction`); ``select_on``
    picks the best epoch by held-out macro-F1 (ties: lower held-out loss) or by the
    lowest training loss, and ``patience`` counts epochs without a better one. The
    held-out metrics are always accuracy and macro-F1 against the gold labels, with
    the cross-entropy as ``val_loss``.
    """
    resolved = resolve_config(config)
    _check_examples(resolved, examples)
    if epochs < 1 or patience < 1 or batch_size < 1:
        raise ValueError("epochs, patience and batch_size must be positive")
    if select_on not in SELECTIONS:
        raise ValueError(f"select_on must be one of {', '.join(SELECTIONS)}, got {select_on!r}")
    batch_loss = loss_fn or cross_entropy_loss
    labels = [e.label for e in examples]
    train_index, val_index = stratified_split(
        labels, val_fraction, seed if split_seed is None else split_seed
    )
    train_set = [examples[i] for i in train_index]
    val_set = [examples[i] for i in val_index]
    val_labels = [e.label for e in val_set]
    majority = int(np.bincount([e.label for e in train_set]).argmax())
    majority_baseline = float(np.mean(np.asarray(val_labels) == majority))

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = build_model(resolved)
        order_generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
        best_key = (-math.inf, -math.inf)
        best_loss = math.inf
        best_state = copy.deepcopy(model.state_dict())
        best_epoch = 0
        best_scores = (0.0, 0.0)
        history: list[dict[str, float]] = []
        for epoch in range(1, epochs + 1):
            model.train()
            order = torch.randperm(len(train_set), generator=order_generator).tolist()
            total = 0.0
            for start in range(0, len(order), batch_size):
                chunk = [train_set[i] for i in order[start : start + batch_size]]
                target = torch.tensor([e.label for e in chunk])
                batch = examples_batch(chunk)
                loss = batch_loss(model(batch), batch, target)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 5.0)
                optimizer.step()
                total += loss.item() * len(chunk)
            val_loss, predicted = _evaluate(model, val_set, batch_size=128)
            accuracy = float(np.mean(np.asarray(predicted) == np.asarray(val_labels)))
            f1 = macro_f1(val_labels, predicted)
            record = {
                "epoch": float(epoch),
                "train_loss": total / len(train_set),
                "val_loss": val_loss,
                "val_accuracy": accuracy,
                "val_macro_f1": f1,
            }
            history.append(record)
            if progress is not None:
                progress(epoch, epochs, record)
            key = (f1, -val_loss) if select_on == "held_out_f1" else (-record["train_loss"], 0.0)
            if key > best_key:
                best_key = key
                best_loss, best_epoch, best_scores = val_loss, epoch, (accuracy, f1)
                best_state = copy.deepcopy(model.state_dict())
            elif epoch - best_epoch >= patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    metrics: dict[str, Any] = {
        "accuracy": best_scores[0],
        "macro_f1": best_scores[1],
        "majority_baseline": majority_baseline,
        "val_loss": best_loss,
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "train_size": len(train_set),
        "val_size": len(val_set),
        "history": history,
    }
    return TrainResult(model=model, metrics=metrics, held_out=list(val_index))
