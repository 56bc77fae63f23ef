"""The scores page loads its agreement plot as a file of its own, lazily, revalidated by ETag."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from explanations.models import ClassifierModel, Explanation, Score
from explanations.services.explanations import explanations_import

from .factories import small_dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def scored(tmp_path, researcher):
    """A model with gradient explanations scored by Kendall tau against attention."""
    dataset = small_dataset(tmp_path, owner=researcher)
    path = tmp_path / "e.jsonl"
    path.write_text(
        "".join(
            json.dumps(
                {"instance": i.external_id, "method": method, "scores": [0.1] * len(i.tokens)}
            )
            + "\n"
            for i in dataset.instances.all()
            for method in ("attention", "gradient")
        )
    )
    explanations_import(path=path, model_name="m", dataset=dataset)
    model = ClassifierModel.objects.get(name="m")
    for k, explanation in enumerate(Explanation.objects.filter(method__name="gradient")):
        Score.objects.create(
            explanation=explanation,
            metric="agreement_tau:attention",
            kind=Score.Kind.FAITHFULNESS,
            value=-0.5 + 0.1 * k,
        )
    return model


def test_the_page_links_the_plot_instead_of_inlining_it(client, researcher, scored):
    client.force_login(researcher)
    page = client.get(reverse("explanations:model-scores", args=[scored.name])).content.decode()
    plot_url = reverse("explanations:model-agreement-plot", args=[scored.name])
    assert "<svg" not in page
    assert f'<img src="{plot_url}" loading="lazy" alt="Box and strip plot' in page
    plot = client.get(plot_url)
    assert plot.status_code == 200
    assert plot["Content-Type"] == "image/svg+xml"
    assert plot.content.startswith(b"<svg")
    assert b"gradient" in plot.content
    # The browser revalidates: the same scores answer 304 with no body, a new score 200.
    again = client.get(plot_url, HTTP_IF_NONE_MATCH=plot["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    # A re-run of the scores updates them in place: same rows, new values, a new plot.
    later = timezone.now() + timedelta(seconds=1)
    Score.objects.filter(metric="agreement_tau:attention").update(value=0.9, updated_at=later)
    rescored = client.get(plot_url, HTTP_IF_NONE_MATCH=plot["ETag"])
    assert rescored.status_code == 200
    Score.objects.filter(metric="agreement_tau:attention").first().delete()
    assert client.get(plot_url, HTTP_IF_NONE_MATCH=rescored["ETag"]).status_code == 200


def test_no_scores_no_plot(client, researcher, scored):
    Score.objects.all().delete()
    client.force_login(researcher)
    page = client.get(reverse("explanations:model-scores", args=[scored.name])).content.decode()
    assert "No agreement scores with attention yet" in page
    plot_url = reverse("explanations:model-agreement-plot", args=[scored.name])
    assert client.get(plot_url).status_code == 404


def test_another_researcher_cannot_fetch_the_plot(client, make_researcher, scored):
    client.force_login(make_researcher("mallory"))
    plot_url = reverse("explanations:model-agreement-plot", args=[scored.name])
    assert client.get(plot_url).status_code == 404
