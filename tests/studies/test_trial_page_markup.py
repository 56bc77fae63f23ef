"""The trial page's heatmap is built in Python with the markup its template loop had, and
the participant's trial form carries no CSRF token (their views are exempt) while the
researcher's preview, which checks one, does."""

import pytest
from django.template import Context, Template
from django.test import Client

from studies.types.base import Display, explanation_view

from .factories import make_study
from .flow import consent_and_read

# The loop explanation.html had before the markup moved to Python.
TEMPLATE_LOOP = Template(
    '{% for x in e.tokens %}<span class="tok" style="background:{{ x.cell.background }};'
    'color:{{ x.cell.foreground }}">{{ x.cell.token }}</span>{% if x.level %}'
    '<span class="visually-hidden"> ({{ x.level }})</span>{% endif %} {% endfor %}'
)


@pytest.mark.parametrize("top_k", [None, 2])
def test_the_heatmap_is_the_markup_the_template_loop_made(top_k):
    tokens = ["<b>bold</b>", "it's", 'a "quote"', "&amp;", "plain", "x"]
    scores = [0.9, -0.5, 0.2, -0.05, 0.0, 0.6]
    view = explanation_view(
        tokens=tokens, scores=scores, label="E", uid="e", display=Display(top_k=top_k)
    )
    assert str(view["heatmap"]) == TEMPLATE_LOOP.render(Context({"e": view}))
    assert "<b>" not in view["heatmap"]
    assert "strongly for" in view["heatmap"]


def test_bars_have_no_heatmap():
    view = explanation_view(
        tokens=["a"], scores=[1.0], label="E", uid="e", display=Display(mode="bars")
    )
    assert "heatmap" not in view


@pytest.mark.django_db
def test_the_participant_form_has_no_csrf_token_and_the_preview_has_one(researcher, corpus, client):
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    participant = Client()
    page = consent_and_read(participant, participant.get(f"/s/{study.uid}/", follow=True))
    assert b"data-trial-form" in page.content
    assert b"csrfmiddlewaretoken" not in page.content
    assert "csrftoken" not in page.cookies
    client.force_login(researcher)
    preview = client.get(f"/studies/{study.pk}/preview/1/")
    assert preview.status_code == 200
    assert b"csrfmiddlewaretoken" in preview.content
