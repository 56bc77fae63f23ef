"""On the demo-size model, the random control scores the lowest comprehensiveness.

The sanity floor any reviewer asks for: an explanation method that does no better than
random at finding the tokens the model relies on is not faithful.
"""

import pytest
from django.db.models import Avg

from demo.services import DEMO_DATA
from explanations.models import Score
from explanations.services.computing import explanations_compute, scores_compute
from explanations.services.datasets import dataset_import
from explanations.services.modeling import model_predict, model_train

pytestmark = [pytest.mark.django_db, pytest.mark.slow]
METHODS = [
    "attention",
    "gradient",
    "grad_input",
    "integrated_gradients",
    "occlusion",
    "omission",
    "lrp",
    "random",
]


def test_random_is_the_comprehensiveness_floor_on_the_demo_model():
    dataset = dataset_import(path=DEMO_DATA / "sentiment.jsonl", name="demo-sentiment").dataset
    model = model_train(
        dataset=dataset, name="demo-bilstm", architecture="bilstm_attention", seed=0
    )
    metrics = model.training_metrics
    assert metrics["accuracy"] > metrics["majority_baseline"], metrics
    model_predict(model=model, dataset=dataset)
    explanations_compute(model=model, dataset=dataset, methods=METHODS)
    scores_compute(model=model, dataset=dataset, metrics=["comprehensiveness"])
    means = dict(
        Score.objects.filter(explanation__model=model, metric="comprehensiveness_aopc")
        .values_list("explanation__method__name")
        .annotate(mean=Avg("value"))
    )
    assert set(means) == set(METHODS)
    others = {m: v for m, v in means.items() if m != "random"}
    assert means["random"] < min(others.values()), means
