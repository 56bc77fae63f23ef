"""The participant bench reads forms from the tags forms are made of: on every page a
participant meets, that gives the form a full parse of the page gives."""

import random

import pytest
from django.test import Client

from bench.participants import FormParser, page_form

from .factories import make_study

pytestmark = pytest.mark.django_db


def full_parse(html: str):
    parser = FormParser()
    parser.feed(html)
    forms = [f for f in parser.forms if f.method == "post" and "withdraw" not in f.action]
    answer = [f for f in forms if f.is_answer]
    candidates = answer or forms
    return candidates[-1] if candidates else None


@pytest.mark.parametrize("study_type", ["plausibility_rating", "pairwise_preference"])
def test_the_bench_reads_each_page_form_as_a_full_parse_would(researcher, corpus, study_type):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, study_type=study_type)
    client = Client()
    page = client.get(f"/s/{study.uid}/", follow=True)
    seen = []
    for _ in range(30):  # consent, instructions, the trials, the end page
        html = page.content.decode()
        form = page_form(html)
        assert form == full_parse(html)
        if form is None:
            break
        seen.append("answer" if form.is_answer else "other")
        data = dict(form.fill(random.Random(0)))
        page = client.post(page.request["PATH_INFO"], data, follow=True)
    assert form is None  # the end page, reached
    assert seen[:2] == ["other", "other"]  # consent, instructions
    assert seen.count("answer") >= 7  # the practice and the items
