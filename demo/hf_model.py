"""Build the demo's Hugging Face model locally: no download, a minute or two on a CPU.

A WordPiece tokenizer is trained with ``tokenizers`` on the training texts (BERT's lowercasing
normaliser and pre-tokenizer, ``[CLS] A [SEP]`` template), wrapped as a fast
``BertTokenizer``; a two-layer ``BertForSequenceClassification`` is trained from scratch
on the same texts with AdamW, in length-sorted batches, and both are written with
``save_pretrained``. The folder is then what a researcher brings to ``import_model``.

The held-out split is the dataset's own when it has one (instances whose ``split`` is
``train`` against ``test``/``dev``/``validation``/``val``); otherwise the seeded, stratified
20% that the natively trained models hold out (:func:`stratified_split`), so their accuracies
compare on the same reviews.
"""

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional
from transformers import BertConfig, BertForSequenceClassification
from transformers.utils import logging as transformers_logging

from explanations.compute.hf.wordpiece import wordpiece_tokenizer
from explanations.compute.training import macro_f1, stratified_split
from explanations.models import Dataset, Instance
from explanations.services.progress import Progress, no_progress

HELD_OUT_SPLITS = ("test", "dev", "validation", "val")
# Architecture and training schedule, chosen for a few seconds of training on two CPU cores.
# Measured on demo-sentiment (held-out accuracy at seeds 0, 1, 2): vocabulary 800 gave
# 0.78, 0.73, 0.70; 1200 gave 0.73, 0.81, 0.68; 2000 gave 0.68, 0.67, 0.61. The small
# vocabulary also splits many words into several pieces, which the demo should show.
# On the 1,200-review demo corpus (seed 0): 10 epochs gave 0.82 and so did 5 (91 s on two
# shared cores), in half the build time.
VOCAB_SIZE = 800
MAX_LENGTH = 128
HIDDEN = 128
LAYERS = 2
HEADS = 4
DROPOUT = 0.1
EPOCHS = 5
BATCH_SIZE = 16
LEARNING_RATE = 5e-4
WEIGHT_DECAY = 0.01
WARMUP_FRACTION = 0.1
VAL_FRACTION = 0.2


@contextmanager
def _no_transformers_progress_bar() -> Iterator[None]:
    """Hide transformers' own progress bars (``save_pretrained``'s), which load_demo's would cross."""
    enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            transformers_logging.enable_progress_bar()


def _split(instances: Sequence[Instance], seed: int) -> tuple[list[int], list[int], str]:
    """Return (train, held-out) positions into ``instances`` and how the held-out set was chosen."""
    splits = [i.split.strip().lower() for i in instances]
    train = [k for k, s in enumerate(splits) if s == "train"]
    for name in HELD_OUT_SPLITS:
        held = [k for k, s in enumerate(splits) if s == name]
        if train and held:
            return train, held, f"the dataset's {name!r} split"
    labels = [int(i.gold_label) for i in instances]  # type: ignore[arg-type]  # labelled only
    train, held = stratified_split(labels, VAL_FRACTION, seed)
    return train, held, f"a seeded, stratified {VAL_FRACTION:.0%} of the labelled instances"


def _batches(
    positions: Sequence[int],
    ids: Sequence[list[int]],
    size: int,
    generator: torch.Generator | None = None,
) -> list[list[int]]:
    """Cut ``positions`` sorted by length into batches; shuffle the batches with ``generator``."""
    ordered = sorted(positions, key=lambda k: (len(ids[k]), k))
    batches = [ordered[s : s + size] for s in range(0, len(ordered), size)]
    if generator is not None:
        batches = [batches[j] for j in torch.randperm(len(batches), generator=generator).tolist()]
    return batches


def _pad(batch: Sequence[int], ids: Sequence[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(ids[k]) for k in batch)
    input_ids = torch.zeros(len(batch), width, dtype=torch.long)
    mask = torch.zeros(len(batch), width, dtype=torch.long)
    for row, k in enumerate(batch):
        input_ids[row, : len(ids[k])] = torch.tensor(ids[k])
        mask[row, : len(ids[k])] = 1
    return input_ids, mask


def _logits(
    model: BertForSequenceClassification,
    batch: Sequence[int],
    ids: Sequence[list[int]],
    type_ids: Sequence[list[int]],
) -> torch.Tensor:
    input_ids, mask = _pad(batch, ids)
    token_types, _ = _pad(batch, type_ids)
    logits: torch.Tensor = model(
        input_ids=input_ids, attention_mask=mask, token_type_ids=token_types
    ).logits
    return logits


def demo_bert_build(
    *, dataset: Dataset, folder: Path, seed: int = 0, progress: Progress = no_progress
) -> dict[str, Any]:
    """Train a small BERT classifier on ``dataset`` and save it with its tokenizer in ``folder``.

    Deterministic for a seed on one machine and thread count (weights, dropout and batch
    order are drawn from ``seed``; the caller's random state is left untouched). Return the
    held-out metrics: ``accuracy``, ``macro_f1``, ``majority_baseline``, ``held_out`` (how the
    held-out set was chosen), ``train_size``, ``val_size``, ``epochs``, ``train_loss`` (last
    epoch), ``vocab_size`` and the architecture.
    """
    instances = list(dataset.instances.filter(gold_label__isnull=False).order_by("position"))
    if len(instances) < 4:
        raise ValueError(
            f"dataset {dataset.name!r} has {len(instances)} labelled instances; at least 4 are needed"
        )
    labels = [int(i.gold_label) for i in instances]  # type: ignore[arg-type]  # labelled only
    train, held, held_out = _split(instances, seed)
    texts = [instances[k].text for k in train]
    if dataset.is_pair:
        texts += [instances[k].text_b for k in train]
    tokenizer = wordpiece_tokenizer(texts, vocab_size=VOCAB_SIZE, max_length=MAX_LENGTH)
    encoded = tokenizer(
        [i.text for i in instances],
        [i.text_b for i in instances] if dataset.is_pair else None,
        truncation=True,
    )
    ids = [list(row) for row in encoded["input_ids"]]
    type_ids = [list(row) for row in encoded["token_type_ids"]]
    names = list(dataset.label_names)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        intermediate_size=4 * HIDDEN,
        max_position_embeddings=MAX_LENGTH,
        hidden_dropout_prob=DROPOUT,
        attention_probs_dropout_prob=DROPOUT,
        pad_token_id=tokenizer.pad_token_id,
        id2label=dict(enumerate(names)),
        label2id={name: k for k, name in enumerate(names)},
    )
    steps = EPOCHS * math.ceil(len(train) / BATCH_SIZE)
    warmup = max(1, round(WARMUP_FRACTION * steps))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertForSequenceClassification(config)
        generator = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.AdamW(
            model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY
        )
        # Linear warm-up then linear decay to zero, as BERT fine-tuning schedules do.
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda step: min((step + 1) / warmup, (steps - step) / (steps - warmup))
        )
        train_loss = math.nan
        for epoch in range(1, EPOCHS + 1):
            model.train()
            total = 0.0
            for batch in _batches(train, ids, BATCH_SIZE, generator):
                target = torch.tensor([labels[k] for k in batch])
                loss = functional.cross_entropy(_logits(model, batch, ids, type_ids), target)
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                total += loss.item() * len(batch)
            train_loss = total / len(train)
            progress(epoch, EPOCHS, "epochs")
    model.eval()
    predicted: dict[int, int] = {}
    with torch.no_grad():
        for batch in _batches(held, ids, 64):
            predicted.update(
                zip(batch, _logits(model, batch, ids, type_ids).argmax(dim=1).tolist(), strict=True)
            )
    gold = [labels[k] for k in held]
    guess = [predicted[k] for k in held]
    majority = int(np.bincount([labels[k] for k in train], minlength=len(names)).argmax())
    folder.mkdir(parents=True, exist_ok=True)
    with _no_transformers_progress_bar():
        model.save_pretrained(folder)
        tokenizer.save_pretrained(folder)
    return {
        "accuracy": float(np.mean(np.asarray(gold) == np.asarray(guess))),
        "macro_f1": macro_f1(gold, guess),
        "majority_baseline": float(np.mean(np.asarray(gold) == majority)),
        "held_out": held_out,
        "train_size": len(train),
        "val_size": len(held),
        "epochs": EPOCHS,
        "train_loss": train_loss,
        "vocab_size": len(tokenizer),
        "architecture": {"layers": LAYERS, "hidden": HIDDEN, "heads": HEADS},
        "seed": seed,
    }
