"""A tiny BERT trained on planted-token data ranks the planted word first.

Each text is filler with one sentiment word planted in it, and the label follows that
word alone. The model may learn "negative unless a positive word is there" (it does:
on negative texts its negative logit does not move), so the planted word is the
evidence on the texts it calls positive: there every faithful method (gradient,
integrated gradients, occlusion, omission) must put it first.
"""

import numpy as np
import pytest
import torch
from transformers import BertConfig, BertForSequenceClassification

from explanations.compute.hf.alignment import encode_words
from explanations.compute.hf.attribution import HFClassifier, explain_words, predict_proba
from explanations.compute.tokenize import tokenize
from tests.explanations.factories import NEGATIVE, POSITIVE, synthetic_records

from .factories import wordpiece_tokenizer

METHODS = {
    "gradient": {"pooling": "l2"},
    "integrated_gradients": {
        "n_steps": 50,
        "integration": "gausslegendre",
        "baseline": "zero",
        "pooling": "sum",
    },
    "occlusion": {"pooling": "sum"},
    "omission": {},
}


@pytest.fixture(scope="module")
def trained():
    records = synthetic_records(240, seed=1)
    texts = [r["text"] for r in records]
    labels = torch.tensor([1 if r["label"] == "positive" else 0 for r in records])
    tokenizer = wordpiece_tokenizer(texts, vocab_size=120, max_length=32)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=32,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
        num_labels=2,
    )
    model = BertForSequenceClassification(config)
    encoded = tokenizer(texts, padding=True, return_tensors="pt")
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(30):
        for start in range(0, len(texts), 40):
            rows = slice(start, start + 40)
            loss = model(
                input_ids=encoded["input_ids"][rows],
                attention_mask=encoded["attention_mask"][rows],
                token_type_ids=encoded["token_type_ids"][rows],
                labels=labels[rows],
            ).loss
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    classifier = HFClassifier(
        model=model, pad_id=tokenizer.pad_token_id, mask_id=tokenizer.mask_token_id
    )
    return classifier, tokenizer, synthetic_records(60, seed=7)


def test_the_planted_word_ranks_first(trained):
    classifier, tokenizer, records = trained
    texts = [r["text"] for r in records]
    words = [tokenize(t) for t in texts]
    instances = encode_words(tokenizer, texts, [w[1] for w in words], max_length=32)
    predicted = predict_proba(classifier, instances).argmax(axis=1)
    gold = np.array([1 if r["label"] == "positive" else 0 for r in records])
    assert (predicted == gold).mean() >= 0.95
    planted = [
        next(i for i, w in enumerate(tokens) if w in POSITIVE + NEGATIVE) for tokens, _ in words
    ]
    positive = [i for i in range(len(records)) if predicted[i] == 1 and gold[i] == 1]
    assert len(positive) >= 20
    chosen = [instances[i] for i in positive]
    for method, params in METHODS.items():
        results = explain_words(classifier, chosen, method, params)
        top = [int(np.argmax(r.scores)) for r in results]
        share = np.mean([t == planted[i] for t, i in zip(top, positive, strict=True)])
        assert share >= 0.9, (method, share)
