"""Tiny Hugging Face models loaded once per test module, eval mode, no weight gradients."""

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from explanations.compute.hf.attribution import HFClassifier

from .factories import bert_folder, roberta_folder


def load(folder: Path) -> tuple[HFClassifier, object]:
    """Load a saved folder offline, as the platform does, and wrap it for attribution."""
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, local_files_only=True, attn_implementation="eager"
    )
    # float64: a random tiny model's probabilities differ by ~1e-6 between occluded words,
    # below float32's resolution; the comparisons with Captum need the digits.
    model.double().eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return (
        HFClassifier(model=model, pad_id=tokenizer.pad_token_id, mask_id=tokenizer.mask_token_id),
        tokenizer,
    )


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> tuple[HFClassifier, object]:
    torch.manual_seed(0)
    return load(bert_folder(tmp_path_factory.mktemp("bert")))


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory) -> tuple[HFClassifier, object]:
    return load(roberta_folder(tmp_path_factory.mktemp("roberta")))
