"""The demo's BERT classifier: built locally from the demo reviews, saved as a user's would be."""

import json

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from demo import services
from demo.hf_model import demo_bert_build
from explanations.compute.training import stratified_split
from explanations.models import ClassifierModel
from explanations.services.datasets import dataset_import
from explanations.services.model_store import model_store_path
from tests.explanations.hf.factories import bert_folder

pytestmark = pytest.mark.django_db


@pytest.fixture
def sentiment(researcher):
    # The 440 hand-written reviews: the build on all 1,200 demo reviews takes minutes.
    return dataset_import(
        path=services.DEMO_DATA / "handwritten" / "sentiment.jsonl",
        name="demo-sentiment",
        owner=researcher,
    ).dataset


def test_the_demo_bert_is_saved_loads_offline_and_beats_chance(sentiment, tmp_path):
    folder = tmp_path / "demo-bert"
    seen = []
    metrics = demo_bert_build(
        dataset=sentiment, folder=folder, progress=lambda done, total, what: seen.append(done)
    )

    assert seen == list(range(1, metrics["epochs"] + 1))
    assert metrics["accuracy"] > 0.6
    assert metrics["accuracy"] > metrics["majority_baseline"]
    assert metrics["train_size"] + metrics["val_size"] == sentiment.instances.count()
    json.dumps(metrics)  # stored as the model's training metrics
    names = {p.name for p in folder.iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= names

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        folder, local_files_only=True, attn_implementation="eager"
    )
    assert tokenizer.is_fast
    assert model.config.model_type == "bert"
    assert list(model.config.id2label.values()) == sentiment.label_names
    encoded = tokenizer("An unbelievably wooden performance.")
    pieces = tokenizer.convert_ids_to_tokens(encoded["input_ids"])
    assert pieces[0] == "[CLS]"
    assert pieces[-1] == "[SEP]"

    # The saved folder reproduces the reported held-out accuracy: the same held-out reviews
    # as the natively trained models (no split in the file), predicted one at a time.
    instances = list(sentiment.instances.order_by("position"))
    _, held = stratified_split([i.gold_label for i in instances], 0.2, 0)
    model.eval()
    with torch.no_grad():
        guesses = [
            int(model(**tokenizer(instances[k].text, return_tensors="pt")).logits.argmax())
            for k in held
        ]
    gold = [instances[k].gold_label for k in held]
    assert float(np.mean(np.asarray(guesses) == np.asarray(gold))) == pytest.approx(
        metrics["accuracy"]
    )


def test_the_demo_bert_comes_in_through_model_import_and_keeps_its_metrics(
    sentiment, researcher, monkeypatch
):
    folders = []

    def tiny_build(*, dataset, folder, seed, progress):
        folders.append(folder)
        bert_folder(folder, labels=dataset.label_names)
        return {"accuracy": 0.7, "seed": seed}

    monkeypatch.setattr(services, "demo_bert_build", tiny_build)
    model = services.demo_bert_import(dataset=sentiment, name="demo-bert", owner=researcher)

    assert model.architecture == ClassifierModel.Architecture.HUGGINGFACE
    assert model.owner == researcher
    assert model.config["label_order"] == [0, 1]
    assert ClassifierModel.objects.get(name="demo-bert").training_metrics == {
        "accuracy": 0.7,
        "seed": 0,
    }
    assert not folders[0].exists()  # the build folder is gone; the store keeps the copy
    assert (model_store_path("demo-bert") / "model.safetensors").is_file()


def test_every_demo_study_names_a_demo_model_on_the_sentiment_reviews():
    models = {name: dataset for name, dataset, *_ in services.DEMO_MODELS}
    for _name, _type, model_name, _methods, _extra in services.DEMO_STUDIES:
        assert models[model_name] == services.SENTIMENT
    assert "demo-bert" in {study[2] for study in services.DEMO_STUDIES}
