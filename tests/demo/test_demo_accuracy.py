"""The demo models learn the demo corpus: held-out accuracy well above the majority class.

Issue #15: explanations of a near-chance model teach a newcomer nothing, so demo-bilstm must
reach 0.85 on the reviews and demo-nli-bilstm 0.75 on the pairs, trained exactly as
``load_demo`` trains them (seed 0, the demo's settings, the stratified 20% held out).
"""

import pytest

from demo import services
from explanations.services.datasets import dataset_import
from explanations.services.modeling import model_train

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def _held_out_metrics(model_name: str, filename: str) -> dict:
    (row,) = [m for m in services.DEMO_MODELS if m[0] == model_name]
    _name, dataset_name, architecture, _methods, _metrics = row
    dataset = dataset_import(path=services.DEMO_DATA / filename, name=dataset_name).dataset
    model = model_train(
        dataset=dataset,
        name=model_name,
        architecture=architecture,
        seed=0,
        config=services.DEMO_CONFIGS.get(model_name),
    )
    return dict(model.training_metrics)


def test_demo_bilstm_reaches_085_on_the_reviews():
    metrics = _held_out_metrics("demo-bilstm", "sentiment.jsonl")
    assert metrics["val_size"] == 240  # 20% of 1,200 reviews
    assert metrics["majority_baseline"] == pytest.approx(0.5)
    assert metrics["accuracy"] >= 0.85, metrics


def test_demo_nli_bilstm_reaches_075_on_the_pairs():
    metrics = _held_out_metrics("demo-nli-bilstm", "nli.jsonl")
    assert metrics["val_size"] == 141  # round(20%) of 234, 233 and 233 pairs per label: 47 each
    assert metrics["accuracy"] >= 0.75, metrics
    assert metrics["accuracy"] > metrics["majority_baseline"] + 0.4, metrics
