"""Wiegreffe & Pinter's F1 table: the three MLP variants and the base model on held-out data."""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from explanations.compute.architectures import (
    as_classifier,
    build_model,
    device_of,
    resolve_config,
)
from explanations.compute.diagnostics.diagnostic_mlp.fitting import (
    MLPTraining,
    example_attention,
    examples_batch,
    train_diagnostic_mlp,
)
from explanations.compute.diagnostics.diagnostic_mlp.model import ATTENTION_MODES, DiagnosticMLP
from explanations.compute.diagnostics.recipe import Recipe
from explanations.compute.modes import evaluation_mode
from explanations.compute.training import Example, ProgressCallback, macro_f1

EMBEDDING_STARTS: tuple[str, ...] = ("initial", "trained")


@dataclass(frozen=True)
class MLPRow:
    """One row of the F1 table: a variant (or ``base``) on the held-out examples.

    ``predicted`` holds its predictions in the order of :attr:`MLPTable.held_out`;
    ``best_epoch`` and ``epochs_run`` are None for the base model (trained elsewhere).
    """

    variant: str
    macro_f1: float
    accuracy: float
    predicted: tuple[int, ...]
    best_epoch: int | None = None
    epochs_run: int | None = None


@dataclass(frozen=True)
class MLPTable:
    """W&P's diagnostic-MLP table: held-out macro-F1 and accuracy per variant and the base.

    ``held_out`` are the indices (into the recipe's examples) of the held-out
    examples, ``labels`` their gold labels; ``parameters`` say how the variants were
    trained; ``models`` are the trained MLPs (in eval mode), not part of the record.
    """

    rows: tuple[MLPRow, ...]
    held_out: tuple[int, ...]
    labels: tuple[int, ...]
    parameters: dict[str, Any]
    models: dict[str, DiagnosticMLP] = field(default_factory=dict, compare=False, repr=False)

    def row(self, variant: str) -> MLPRow:
        """Return the row of ``variant`` (``trained``, ``uniform``, ``imported`` or ``base``)."""
        for row in self.rows:
            if row.variant == variant:
                return row
        raise KeyError(f"no row {variant!r}; rows: {', '.join(r.variant for r in self.rows)}")

    def as_dict(self) -> dict[str, Any]:
        """Return the table as JSON-serialisable data (without the models)."""
        return {
            "rows": [
                {
                    "variant": row.variant,
                    "macro_f1": row.macro_f1,
                    "accuracy": row.accuracy,
                    "best_epoch": row.best_epoch,
                    "epochs_run": row.epochs_run,
                }
                for row in self.rows
            ],
            "held_out_size": len(self.held_out),
            "parameters": dict(self.parameters),
        }


def _scores(variant: str, labels: Sequence[int], predicted: Sequence[int], **extra: Any) -> MLPRow:
    accuracy = float(np.mean(np.asarray(labels) == np.asarray(predicted)))
    return MLPRow(
        variant=variant,
        macro_f1=macro_f1(labels, predicted),
        accuracy=accuracy,
        predicted=tuple(int(p) for p in predicted),
        **extra,
    )


def base_predictions(
    model: nn.Module, examples: Sequence[Example], batch_size: int = 128
) -> list[int]:
    """Return the base model's predicted class of each example (eval mode)."""
    device = device_of(model)
    predicted: list[int] = []
    with evaluation_mode(model), torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = examples_batch(examples[start : start + batch_size]).to(device)
            predicted.extend(model(batch).logits.argmax(dim=1).tolist())
    return predicted


def _check_choices(embeddings: str, variants: Sequence[str]) -> None:
    """Raise ValueError naming ``embeddings`` or ``variants`` if either is not a known choice."""
    if embeddings not in EMBEDDING_STARTS:
        raise ValueError(
            f"embeddings: expected one of {', '.join(EMBEDDING_STARTS)}, got {embeddings!r}"
        )
    unknown = [name for name in variants if name not in ATTENTION_MODES]
    if unknown or not variants:
        raise ValueError(
            f"variants: expected some of {', '.join(ATTENTION_MODES)}, got {list(variants)}"
        )


def _mlp_config(recipe: Recipe, hidden_dim: int | None) -> dict[str, Any]:
    """Return the MLP's sizes: the base model's, ``hidden_dim`` if given."""
    config = resolve_config(recipe.config)
    return {
        "vocab_size": config["vocab_size"],
        "num_labels": config["num_labels"],
        "embedding_dim": config["embedding_dim"],
        "hidden_dim": config["hidden_dim"] if hidden_dim is None else hidden_dim,
        "pair": config["pair"],
    }


def _training(recipe: Recipe, seed: int | None, epochs: int | None) -> MLPTraining:
    """Return the base model's training settings (``train_classifier``'s defaults if absent)."""
    settings = recipe.settings
    training = MLPTraining(
        epochs=int(settings.get("epochs", 20)) if epochs is None else epochs,
        batch_size=int(settings.get("batch_size", 32)),
        lr=float(settings.get("lr", 2e-3)),
        patience=int(settings.get("patience", 3)),
        seed=recipe.seed if seed is None else seed,
    )
    training.check()
    return training


def diagnostic_mlp_table(
    recipe: Recipe,
    base_model: nn.Module,
    *,
    seed: int | None = None,
    epochs: int | None = None,
    hidden_dim: int | None = None,
    embeddings: str = "initial",
    variants: Sequence[str] = ATTENTION_MODES,
    progress: ProgressCallback | None = None,
) -> MLPTable:
    """Train the diagnostic MLP's variants on the recipe's training split; return the F1 table.

    Defaults follow the base model: its seed, its ``hidden_dim`` and ``embedding_dim``,
    its training settings (``recipe.settings``: ``epochs``, ``batch_size``, ``lr``,
    ``patience``; ``train_classifier``'s defaults where absent). ``seed`` seeds the
    MLPs' weights and batch order; ``embeddings``: ``initial`` (drawn from the
    recipe's seed, as the base model's were) or ``trained`` (see the package
    docstring). ``progress(done, total, record)`` counts epochs over all variants
    (``total`` is their maximum number; early stopping may end a variant sooner).
    """
    classifier = as_classifier(base_model)
    _check_choices(embeddings, variants)
    mlp_config = _mlp_config(recipe, hidden_dim)
    training = _training(recipe, seed, epochs)
    train_index, held_index = recipe.split()
    train = [recipe.examples[i] for i in train_index]
    held_out = [recipe.examples[i] for i in held_index]
    labels = [e.label for e in held_out]
    start = starting_embeddings(recipe.config, recipe.seed, classifier, embeddings)
    rows = [_scores("base", labels, base_predictions(classifier, held_out))]
    models: dict[str, DiagnosticMLP] = {}
    total = len(variants) * training.epochs
    for number, variant in enumerate(variants):
        imported = variant == "imported"

        def report(epoch: int, _: int, record: dict[str, float], done: int = number) -> None:
            if progress is not None:
                progress(done * training.epochs + epoch, total, record)

        fitted = train_diagnostic_mlp(
            mlp_config,
            train,
            held_out,
            attention=variant,
            training=training,
            train_weights=example_attention(classifier, train) if imported else None,
            held_out_weights=example_attention(classifier, held_out) if imported else None,
            initial_embeddings=start,
            progress=report,
        )
        if imported:
            fitted.model.use_attention_of(classifier)
        models[variant] = fitted.model
        extra = {"best_epoch": fitted.best_epoch, "epochs_run": fitted.epochs_run}
        rows.append(_scores(variant, labels, fitted.predicted, **extra))
    parameters = {
        "variants": list(variants),
        "embeddings": embeddings,
        "embedding_seed": recipe.seed,
        **{key: mlp_config[key] for key in ("embedding_dim", "hidden_dim")},
        "attention_dim": max(1, int(mlp_config["hidden_dim"]) // 2),
        **asdict(training),
        "selection": "best epoch by held-out macro-F1 (ties: lower held-out loss)",
        "train_size": len(train),
        "held_out_size": len(held_out),
    }
    return MLPTable(tuple(rows), tuple(held_index), tuple(labels), parameters, models)


def starting_embeddings(
    config: Mapping[str, Any], seed: int, base_model: nn.Module, start: str
) -> torch.Tensor:
    """Return the embeddings the MLP starts from: the base model's initial or trained ones.

    ``initial``: those ``build_model(config)`` draws under ``torch.manual_seed(seed)``,
    which is how :func:`train_classifier` starts the base model (the caller's random
    state is left untouched).
    """
    if start == "trained":
        return as_classifier(base_model).embedding.weight.detach().clone().cpu()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return as_classifier(build_model(config)).embedding.weight.detach().clone()


__all__ = [
    "EMBEDDING_STARTS",
    "MLPRow",
    "MLPTable",
    "base_predictions",
    "diagnostic_mlp_table",
    "starting_embeddings",
]
