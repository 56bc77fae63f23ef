"""The scores page says which instances it covers, and can show the held-out ones only."""

import pytest
from django.urls import reverse

from explanations.models import Explanation, ExplanationMethod, Score
from explanations.services.methods import known_methods_ensure

from .factories import trained_model

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(tmp_path, researcher):
    """A trained model whose comprehensiveness is 1 on held-out instances and 0 elsewhere."""
    model, dataset = trained_model(tmp_path, owner=researcher, n=24)
    held_out = set(model.held_out_instance_ids)
    known_methods_ensure()
    method = ExplanationMethod.objects.get(name="gradient")
    for instance in dataset.instances.all():
        explanation = Explanation.objects.create(
            model=model, instance=instance, method=method, scores=[0.0] * len(instance.tokens)
        )
        Score.objects.create(
            explanation=explanation,
            metric="comprehensiveness_aopc",
            kind=Score.Kind.FAITHFULNESS,
            value=1.0 if instance.pk in held_out else 0.0,
        )
    return model, dataset


def test_training_records_the_held_out_instances(scored):
    model, dataset = scored
    held_out = model.held_out_instance_ids
    assert len(held_out) == model.training_metrics["val_size"] > 0
    assert set(held_out) < set(dataset.instances.values_list("pk", flat=True))


def _page(client, model, **query):
    return client.get(reverse("explanations:model-scores", args=[model.name]), query)


def test_the_page_says_what_it_covers_and_shows_held_out_only(client, researcher, scored):
    model, dataset = scored
    client.force_login(researcher)
    n, held = dataset.instances.count(), len(model.held_out_instance_ids)
    everything = _page(client, model).content.decode()
    assert f"These figures cover <strong>all {n} instances</strong>" in everything
    assert f"{held / n:.3f}" in everything  # the mean over all instances
    only = _page(client, model, cover="held_out").content.decode()
    assert f"the {held} instances held out from training" in only
    assert "1.000" in only
    assert f"n={held}" in only


def test_an_unknown_cover_is_named_and_all_are_shown(client, researcher, scored):
    model, dataset = scored
    client.force_login(researcher)
    page = _page(client, model, cover="nonsense").content.decode()
    assert "cover: expected one of all, held_out" in page
    assert f"all {dataset.instances.count()} instances</strong>" in page


def test_a_model_that_does_not_record_its_training_says_so(client, researcher, scored):
    model, _ = scored
    del model.training_metrics[model.HELD_OUT_KEY]
    model.save(update_fields=["training_metrics"])
    client.force_login(researcher)
    page = _page(client, model).content.decode()
    assert "does not record which instances it was trained on" in page
    assert 'value="held_out"' not in page


def test_the_api_reports_training_metrics_without_database_ids(client, researcher, scored):
    model, _ = scored
    client.force_login(researcher)
    metrics = client.get(f"/api/models/{model.name}/").json()["training_metrics"]
    assert metrics["val_size"] == model.training_metrics["val_size"]
    assert model.HELD_OUT_KEY not in metrics
