"""Training one diagnostic MLP, the way the base model was trained (seeded, best held-out epoch)."""

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from explanations.compute.architectures import device_of
from explanations.compute.batching import Batch, make_batch
from explanations.compute.diagnostics.diagnostic_mlp.model import DiagnosticMLP, attention_of
from explanations.compute.training import Example, ProgressCallback, macro_f1


@dataclass
class MLPTraining:
    """How to train a diagnostic MLP: the base model's settings by default."""

    epochs: int = 20
    batch_size: int = 32
    lr: float = 2e-3
    patience: int = 3
    seed: int = 0

    def check(self) -> None:
        """Raise ValueError naming the first setting no training can have."""
        for name in ("epochs", "batch_size", "patience"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if not (isinstance(self.lr, int | float) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr: expected a positive number, got {self.lr!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed: expected a non-negative integer, got {self.seed!r}")


@dataclass
class Fitted:
    """A trained diagnostic MLP (best epoch, eval mode), its held-out predictions and epochs."""

    model: DiagnosticMLP
    predicted: list[int]
    best_epoch: int
    epochs_run: int


Weights = Sequence[np.ndarray] | None
"""Per example, the imported attention weights over its tokens (None for other modes)."""


def examples_batch(examples: Sequence[Example]) -> Batch:
    """Return the padded batch of ``examples`` (with their contexts for pair examples)."""
    contexts = [e.context or [] for e in examples] if examples[0].context is not None else None
    return make_batch([e.tokens for e in examples], contexts)


def _padded(weights: Sequence[np.ndarray], batch: Batch) -> torch.Tensor:
    padded = torch.zeros(batch.input_ids.shape, dtype=torch.float32)
    for row, values in enumerate(weights):
        padded[row, : len(values)] = torch.as_tensor(np.asarray(values), dtype=torch.float32)
    return padded


def _run(
    model: DiagnosticMLP, examples: Sequence[Example], weights: Weights, batch_size: int = 128
) -> tuple[float, list[int]]:
    """Return the mean cross-entropy and the predictions of ``model`` on ``examples``."""
    model.eval()
    loss, predicted = 0.0, []
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            chunk = examples[start : start + batch_size]
            batch = examples_batch(chunk)
            given = None if weights is None else _padded(weights[start : start + batch_size], batch)
            logits = model(batch, given).logits
            target = torch.tensor([e.label for e in chunk])
            loss += functional.cross_entropy(logits, target, reduction="sum").item()
            predicted.extend(logits.argmax(dim=1).tolist())
    return loss / len(examples), predicted


MLP_CONFIG_KEYS: tuple[str, ...] = (
    "vocab_size",
    "num_labels",
    "embedding_dim",
    "hidden_dim",
    "pair",
)


def build_mlp(
    config: Mapping[str, Any], attention: str, initial_embeddings: torch.Tensor | None
) -> DiagnosticMLP:
    """Return an untrained MLP of ``config`` (:data:`MLP_CONFIG_KEYS`), embeddings as given."""
    missing = [key for key in MLP_CONFIG_KEYS if key not in config]
    if missing:
        raise ValueError(f"config: missing {', '.join(missing)}")
    model = DiagnosticMLP(
        vocab_size=config["vocab_size"],
        num_labels=config["num_labels"],
        embedding_dim=config["embedding_dim"],
        hidden_dim=config["hidden_dim"],
        attention=attention,
        pair=bool(config["pair"]),
    )
    if initial_embeddings is not None:
        if initial_embeddings.shape != model.embedding.weight.shape:
            raise ValueError(
                f"initial_embeddings: expected shape {tuple(model.embedding.weight.shape)}, "
                f"got {tuple(initial_embeddings.shape)}"
            )
        with torch.no_grad():
            model.embedding.weight.copy_(initial_embeddings)
    return model


def _check_weights(
    attention: str,
    train: Sequence[Example],
    held_out: Sequence[Example],
    train_weights: Weights,
    held_out_weights: Weights,
) -> None:
    """Raise ValueError unless imported weights come, one per example, exactly in imported mode."""
    if not train or not held_out:
        raise ValueError("train and held_out: expected at least one example each")
    imported = attention == "imported"
    if imported != (train_weights is not None) or imported != (held_out_weights is not None):
        raise ValueError("train_weights and held_out_weights: expected them in imported mode only")
    if train_weights is not None and len(train_weights) != len(train):
        raise ValueError(f"train_weights: expected {len(train)} (one per example)")
    if held_out_weights is not None and len(held_out_weights) != len(held_out):
        raise ValueError(f"held_out_weights: expected {len(held_out)} (one per example)")


def _train_epoch(
    model: DiagnosticMLP,
    optimizer: torch.optim.Optimizer,
    train: Sequence[Example],
    weights: Weights,
    order: list[int],
    batch_size: int,
) -> None:
    """Run one epoch of Adam on the cross-entropy over ``train`` in ``order``."""
    model.train()
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        chunk = [train[i] for i in rows]
        batch = examples_batch(chunk)
        given = None if weights is None else _padded([weights[i] for i in rows], batch)
        target = torch.tensor([e.label for e in chunk])
        loss = functional.cross_entropy(model(batch, given).logits, target)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optimizer.step()


def train_diagnostic_mlp(
    config: Mapping[str, Any],
    train: Sequence[Example],
    held_out: Sequence[Example],
    *,
    attention: str,
    training: MLPTraining | None = None,
    train_weights: Weights = None,
    held_out_weights: Weights = None,
    initial_embeddings: torch.Tensor | None = None,
    progress: ProgressCallback | None = None,
) -> Fitted:
    """Train one diagnostic MLP on ``train``; keep its best epoch by held-out macro-F1.

    ``config`` holds :data:`MLP_CONFIG_KEYS`. ``*_weights``: the imported weights
    per example (imported mode only). ``initial_embeddings`` [V, E] replace the
    MLP's own random ones. Adam and gradient clipping as ``train_classifier``; the
    best epoch by (held-out macro-F1, lower held-out loss), stopping after
    ``patience`` epochs without a better one. Deterministic: seeded weights and
    batch order; the caller's global random state is left untouched.
    ``progress(epoch, epochs, record)`` after every epoch.
    """
    settings = training or MLPTraining()
    settings.check()
    _check_weights(attention, train, held_out, train_weights, held_out_weights)
    labels = [e.label for e in held_out]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)
        model = build_mlp(config, attention, initial_embeddings)
        order_generator = torch.Generator().manual_seed(settings.seed)
        optimizer = torch.optim.Adam(model.parameters(), lr=settings.lr)
        best_key = (-math.inf, -math.inf)
        best_state = copy.deepcopy(model.state_dict())
        best_epoch, best_predicted, epochs_run = 0, [0] * len(held_out), 0
        for epoch in range(1, settings.epochs + 1):
            order = torch.randperm(len(train), generator=order_generator).tolist()
            _train_epoch(model, optimizer, train, train_weights, order, settings.batch_size)
            epochs_run = epoch
            loss, predicted = _run(model, held_out, held_out_weights)
            f1 = macro_f1(labels, predicted)
            if progress is not None:
                progress(epoch, settings.epochs, {"val_loss": loss, "val_macro_f1": f1})
            if (f1, -loss) > best_key:
                best_key = (f1, -loss)
                best_state = copy.deepcopy(model.state_dict())
                best_epoch, best_predicted = epoch, predicted
            elif epoch - best_epoch >= settings.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return Fitted(
        model=model, predicted=best_predicted, best_epoch=best_epoch, epochs_run=epochs_run
    )


def example_attention(
    model: nn.Module, examples: Sequence[Example], batch_size: int = 128
) -> list[np.ndarray]:
    """Return ``model``'s attention on each example (see :func:`attention_of`), float32."""
    source = attention_of(model)
    device = device_of(model)
    result: list[np.ndarray] = []
    for start in range(0, len(examples), batch_size):
        chunk = examples[start : start + batch_size]
        weights = source(examples_batch(chunk).to(device)).to(torch.float32).cpu().numpy()
        result.extend(weights[row, : len(e.tokens)].copy() for row, e in enumerate(chunk))
    return result


__all__ = [
    "MLP_CONFIG_KEYS",
    "Fitted",
    "MLPTraining",
    "Weights",
    "build_mlp",
    "example_attention",
    "examples_batch",
    "train_diagnostic_mlp",
]
