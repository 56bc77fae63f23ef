"""Train classifier models on a dataset and store their predictions."""

import shutil
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction

from explanations.compute.serialization import save_model
from explanations.compute.training import Example, train_classifier
from explanations.compute.vocab import Vocabulary
from explanations.models import ClassifierModel, Dataset

from .model_store import model_name_check, model_store_path
from .predictions import predictions_store
from .progress import Progress, no_progress
from .runtime import runtime_for


def model_train(
    *,
    dataset: Dataset,
    name: str,
    architecture: str,
    epochs: int = 20,
    seed: int = 0,
    config: dict[str, Any] | None = None,
    owner: User | None = None,
    progress: Progress = no_progress,
) -> ClassifierModel:
    """Train a model on the dataset's labelled instances and store it with its sha256.

    The vocabulary comes from the dataset's tokens; the held-out split, early stopping
    and reported metrics are those of :func:`explanations.compute.training.train_classifier`.
    Re-training under an existing name is refused (models are referenced by studies), and
    so is a name whose store folder exists: the name is checked and the folder is created
    by this run before anything is written, and only that folder is removed on failure.
    An unknown architecture or a config value no model can have raises ValueError
    (:func:`explanations.compute.architectures.resolve_config`) before any training.
    """
    model_name_check(name)
    if ClassifierModel.objects.filter(name=name).exists():
        raise ValueError(f"a model named {name!r} exists already; choose another name")
    directory = model_store_path(name)
    if directory.exists() or directory.is_symlink():
        raise ValueError(_folder_exists(name))
    instances = list(dataset.instances.filter(gold_label__isnull=False).order_by("position"))
    if len(instances) < 4:
        raise ValueError(
            f"dataset {dataset.name!r} has {len(instances)} labelled instances; at least 4 are needed"
        )
    texts = [(i.explained_tokens, i.context_tokens) for i in instances]
    vocab = Vocabulary.build(
        [t for tokens, ctx in texts for t in ([tokens] + ([ctx] if ctx else []))]
    )
    examples = [
        Example(
            tokens=vocab.encode(tokens),
            label=int(i.gold_label),  # type: ignore[arg-type]  # filtered to labelled instances
            context=vocab.encode(ctx) if ctx else None,
        )
        for i, (tokens, ctx) in zip(instances, texts, strict=True)
    ]
    full_config: dict[str, Any] = {
        "architecture": architecture,
        "vocab_size": len(vocab),
        "num_labels": len(dataset.label_names),
        "pair": dataset.is_pair,
        **(config or {}),
    }

    def on_epoch(epoch: int, total: int, _metrics: dict[str, float]) -> None:
        progress(epoch, total, "epochs")

    result = train_classifier(full_config, examples, seed=seed, epochs=epochs, progress=on_epoch)
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Created here, exclusively: the cleanup below may only delete what this run made.
        directory.mkdir()
    except FileExistsError:
        raise ValueError(_folder_exists(name)) from None
    try:
        sha256 = save_model(result.model, full_config, vocab, dataset.label_names, directory)
        with transaction.atomic():
            model = ClassifierModel(
                name=name,
                dataset=dataset,
                architecture=architecture,
                config=full_config,
                weights_path=name,
                weights_sha256=sha256,
                vocabulary=vocab.to_dict(),
                label_names=list(dataset.label_names),
                # which instances were held out, so pages can show scores on those only
                training_metrics={
                    **result.metrics,
                    # the epoch budget: Wiegreffe & Pinter's tests retrain with the same
                    "epochs": epochs,
                    ClassifierModel.HELD_OUT_KEY: [instances[i].pk for i in result.held_out],
                },
                seed=seed,
                owner=owner,
            )
            model.full_clean()
            model.save()
    except Exception:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return model


def _folder_exists(name: str) -> str:
    return (
        f"a folder named {name!r} exists already in the model store, with no model of that "
        "name; it is left untouched: choose another name (or move the folder away)"
    )


def model_predict(
    *,
    model: ClassifierModel,
    dataset: Dataset,
    batch_size: int = 128,
    progress: Progress = no_progress,
) -> int:
    """Predict every instance of ``dataset`` with ``model``; re-runs replace. Return the count."""
    runtime = runtime_for(model)
    instances = list(dataset.instances.order_by("position"))
    total = len(instances)
    done = 0
    step = 2000
    for start in range(0, total, step):
        chunk = instances[start : start + step]
        probs = runtime.predict(chunk)
        predictions_store(
            model=model, instance_ids=[i.pk for i in chunk], probabilities=probs.tolist()
        )
        done += len(chunk)
        progress(done, total, "predictions")
    return total
