"""Tiny Hugging Face classifiers built from a config in a folder: no download, ever.

``bert_folder`` writes a BERT sequence classifier with a WordPiece tokenizer trained on
the given texts (the platform's builder, whose vocabulary is the same from run to run); ``roberta_folder`` a RoBERTa classifier with a byte-level BPE tokenizer.
Both are saved with ``save_pretrained``, exactly as a researcher's fine-tuned model is.
(In transformers 5 ``BertTokenizer`` and ``RobertaTokenizer`` are the fast, Rust-backed
tokenizers; the ``...Fast`` names are aliases of them.)
"""

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from tokenizers import (
    Tokenizer,
    decoders,
    models,
    pre_tokenizers,
    processors,
    trainers,
)
from transformers import (
    BertConfig,
    BertForSequenceClassification,
    RobertaConfig,
    RobertaForSequenceClassification,
    RobertaTokenizer,
)

from explanations.compute.hf.wordpiece import wordpiece_tokenizer

TEXTS: tuple[str, ...] = (
    "The movie wasn't good, and the acting was unbelievably wooden.",
    "A wonderful, heart-warming film; I loved every minute.",
    "Not bad at all: surprisingly funny and well paced.",
    "Terrible plot. Boring characters. I'd never watch it again!",
    "An extraordinary performance by the lead, truly remarkable.",
    "It was fine, I guess, though the ending dragged.",
)


def _labels(labels: Sequence[str]) -> dict[str, Any]:
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {label: i for i, label in enumerate(labels)},
    }


def bpe_tokenizer(
    texts: Sequence[str], *, vocab_size: int = 400, max_length: int = 64
) -> RobertaTokenizer:
    """Return a fast RoBERTa tokenizer whose byte-level BPE is trained on ``texts``."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tokenizer.train_from_iterator(
        list(texts),
        trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=specials,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    ids = {token: tokenizer.token_to_id(token) for token in ("<s>", "</s>")}
    assert None not in ids.values(), "the special tokens were trained into the vocabulary"
    tokenizer.post_processor = processors.RobertaProcessing(
        ("</s>", int(ids["</s>"])),  # type: ignore[arg-type]  # checked not None above
        ("<s>", int(ids["<s>"])),  # type: ignore[arg-type]  # checked not None above
        trim_offsets=True,
        add_prefix_space=False,
    )
    tokenizer.decoder = decoders.ByteLevel()
    return RobertaTokenizer(
        tokenizer_object=tokenizer,
        bos_token="<s>",
        eos_token="</s>",
        sep_token="</s>",
        cls_token="<s>",
        unk_token="<unk>",
        pad_token="<pad>",
        mask_token="<mask>",
        model_max_length=max_length,
    )


def _encoder(hidden: int, layers: int, heads: int, labels: Sequence[str]) -> dict[str, Any]:
    """Return the config fields both tiny encoders share: sizes, no dropout, the labels."""
    return {
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": 2 * hidden,
        "hidden_dropout_prob": 0.0,
        "attention_probs_dropout_prob": 0.0,
        **_labels(labels),
    }


def bert_folder(
    folder: Path,
    *,
    texts: Sequence[str] = TEXTS,
    labels: Sequence[str] = ("NEGATIVE", "POSITIVE"),
    hidden: int = 16,
    layers: int = 2,
    heads: int = 2,
    max_length: int = 64,
    seed: int = 0,
) -> Path:
    """Save a tiny randomly initialised BERT classifier and its tokenizer into ``folder``."""
    tokenizer = wordpiece_tokenizer(texts, vocab_size=800, max_length=max_length)
    torch.manual_seed(seed)
    config = BertConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=max_length,
        **_encoder(hidden, layers, heads, labels),
    )
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def roberta_folder(
    folder: Path,
    *,
    texts: Sequence[str] = TEXTS,
    labels: Sequence[str] = ("NEGATIVE", "POSITIVE"),
    hidden: int = 16,
    layers: int = 2,
    heads: int = 2,
    max_length: int = 64,
    seed: int = 0,
) -> Path:
    """Save a tiny randomly initialised RoBERTa classifier and its BPE tokenizer into ``folder``."""
    tokenizer = bpe_tokenizer(texts, max_length=max_length)
    torch.manual_seed(seed)
    config = RobertaConfig(
        vocab_size=len(tokenizer),
        # RoBERTa's positions start after the padding index.
        max_position_embeddings=max_length + 2,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        type_vocab_size=1,
        **_encoder(hidden, layers, heads, labels),
    )
    RobertaForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
