"""The scores page loads its agreement plot as a file of its own, lazily, revalidated by ETag."""

import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from explanations.models import ClassifierModel, Explanation, Score
from explanations.services.explanations import explanations_import
from explanations.summaries import attention_agreement, coverages

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
            for i in dataset.instances.order_by("position")
            for method in ("attention", "gradient")
        )
    )
    explanations_import(path=path, model_name="m", dataset=dataset)
    model = ClassifierModel.objects.get(name="m")
    gradient = Explanation.objects.filter(method__name="gradient").order_by("instance__position")
    for k, explanation in enumerate(gradient):
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
    assert f'<img src="{plot_url}?cover=all" loading="lazy" alt="Box and strip plot' in page
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


def test_the_plot_covers_what_the_table_covers(client, researcher, scored):
    """Held out, or one split: the plot's file draws the same instances as the table."""
    client.force_login(researcher)
    gradient = list(
        Explanation.objects.filter(method__name="gradient").order_by("instance__position")
    )
    kept = [e.instance_id for e in gradient[:2]]
    scored.training_metrics = {ClassifierModel.HELD_OUT_KEY: kept}
    scored.save()
    url = reverse("explanations:model-agreement-plot", args=[scored.name])
    everything = client.get(url, {"cover": "all"})
    held = client.get(url, {"cover": "held_out"})
    assert everything.status_code == held.status_code == 200
    assert everything["ETag"] != held["ETag"]
    assert "(the 2 instances held out from training" in held.content.decode()
    # Drawn from the two held-out instances' taus only.
    cover = next(c for c in coverages(scored, scored.dataset) if c.key == "held_out")
    assert attention_agreement(scored, scored.dataset, cover) == {"gradient": [-0.5, -0.4]}
    assert held.content != everything.content
    assert client.get(url, {"cover": "nope"}).status_code == 404
    page = client.get(
        reverse("explanations:model-scores", args=[scored.name]), {"cover": "held_out"}
    )
    assert f'src="{url}?cover=held_out"' in page.content.decode()
