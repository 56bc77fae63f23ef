"""The study form and pages a researcher expects (issue #15): type first, methods with
explanations, an error summary, confirmations, copyable links, duplication, the list's filters."""

import pytest
from django.http import Http404
from django.test import Client

from studies.models import Participant, Study
from studies.services.design import study_duplicate
from studies.types.base import type_names
from studies.views import researcher as views

from .factories import film_corpus, make_study
from .test_researcher_views import design_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(researcher):
    client = Client()
    client.force_login(researcher)
    return client


def step_two(dataset, model, study_type="plausibility_rating"):
    return f"/studies/new/?study_type={study_type}&dataset={dataset.name}&model={model.name}"


def test_the_new_study_page_asks_for_the_type_first_with_none_chosen(web, corpus):
    page = web.get("/studies/new/").content.decode()
    for name in type_names():
        assert f'name="study_type" value="{name}"' in page
    assert "Rate how convincing one highlighted explanation of a prediction is." in page
    assert 'name="study_type" value="aided_task" checked' not in page
    assert "checked" not in page
    assert "__" not in page.split("<form", 1)[1]  # no type's options yet
    assert 'name="n_items"' not in page


def test_the_second_step_shows_only_the_chosen_types_options_with_labels(web, corpus):
    dataset, model = corpus
    page = web.get(step_two(dataset, model)).content.decode()
    assert 'name="plausibility_rating__points"' in page
    assert "pairwise_preference__" not in page
    assert "aided_task__" not in page
    assert '<input type="hidden" name="study_type" value="plausibility_rating"' in page
    # A boolean option is a checkbox with its label, never "comment = False".
    assert 'type="checkbox" name="plausibility_rating__comment"' in page
    assert '<label for="id_plausibility_rating__comment">Optional comment' in page
    assert '<label for="id_plausibility_rating__points">Points' in page
    assert '<option value="7">7 points</option>' in page


def test_only_methods_with_explanations_are_offered_and_others_refused_by_name(web, corpus):
    dataset, model = corpus
    page = web.get(step_two(dataset, model, "pairwise_preference")).content.decode()
    for method in ("gradient", "lrp", "random"):
        assert f'name="methods" value="{method}"' in page
    assert 'value="integrated_gradients"' not in page
    refused = web.post(
        "/studies/new/", design_form(dataset, model, methods=["gradient", "integrated_gradients"])
    )
    assert refused.status_code == 400
    text = refused.content.decode()
    assert (
        f"method integrated_gradients has no explanations by model {model.name} on dataset "
        f"{dataset.name}" in text
    )
    assert not Study.objects.exists()


def test_a_model_without_explanations_on_the_dataset_is_refused_at_the_first_step(
    web, corpus, tmp_path, researcher
):
    dataset, _ = corpus
    _, other_model = film_corpus(tmp_path, owner=researcher, n=4, name="other")
    page = web.get(step_two(dataset, other_model)).content.decode()
    assert f"model {other_model.name} was trained on dataset other, not {dataset.name}" in page
    assert 'name="n_items"' not in page
    bad_type = web.get(step_two(dataset, other_model, "sparkles")).content.decode()
    assert "study_type sparkles is not a study type" in bad_type


def test_a_failed_submit_puts_a_focused_error_summary_linking_to_each_field_on_top(web, corpus):
    dataset, model = corpus
    response = web.post("/studies/new/", design_form(dataset, model, name="", n_items="0"))
    text = response.content.decode()
    summary = text[
        text.index('class="error-summary"') - 5 : text.index(
            "</div>", text.index('class="error-summary"')
        )
    ]
    assert 'role="alert"' in summary
    assert 'tabindex="-1"' in summary
    assert "autofocus" in summary
    assert '<a href="#id_name">Name: This field is required.</a>' in summary
    assert '<a href="#id_n_items">Test instances: field n_items=0: expected' in summary
    assert text.index("error-summary") < text.index('name="name"')
    # The per-field messages are there too.
    assert 'id="id_n_items_error"' in text
    assert not Study.objects.exists()


def test_editing_a_draft_keeps_its_type_and_changing_it_shows_the_new_types_options(
    web, corpus, researcher
):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False)
    page = web.get(f"/studies/{study.pk}/edit/").content.decode()
    assert 'name="plausibility_rating__points"' in page
    assert 'value="plausibility_rating"' in page
    change = web.get(f"/studies/{study.pk}/edit/?change=1").content.decode()
    assert 'name="study_type" value="plausibility_rating" id="id_study_type_' in change
    assert "checked" in change.split('value="plausibility_rating"', 1)[1].split(">", 1)[0]
    swapped = web.get(
        f"/studies/{study.pk}/edit/?study_type=pairwise_preference&dataset={dataset.name}"
        f"&model={model.name}"
    ).content.decode()
    assert 'name="pairwise_preference__allow_tie"' in swapped
    assert "plausibility_rating__" not in swapped
    assert f'value="{study.name}"' in swapped


@pytest.mark.parametrize("action", ["launch", "delete"])
def test_launch_and_delete_act_only_when_confirmed(web, corpus, researcher, action):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, launch=False)
    confirm = web.get(f"/studies/{study.pk}/{action}/").content.decode()
    if action == "launch":
        assert f"Launching freezes its {study.items.count()} items" in confirm
    else:
        assert "This cannot be undone." in confirm
    assert '<input type="hidden" name="confirm" value="yes">' in confirm
    unconfirmed = web.post(f"/studies/{study.pk}/{action}/")
    assert unconfirmed.status_code == 200
    assert Study.objects.get(pk=study.pk).status == Study.Status.DRAFT
    done = web.post(f"/studies/{study.pk}/{action}/", {"confirm": "yes"})
    assert done.status_code == 302
    if action == "launch":
        assert Study.objects.get(pk=study.pk).status == Study.Status.LIVE
    else:
        assert not Study.objects.filter(pk=study.pk).exists()


def test_close_acts_only_when_confirmed(web, corpus, researcher):
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    assert (
        "A closed study cannot be reopened."
        in web.get(f"/studies/{study.pk}/close/").content.decode()
    )
    web.post(f"/studies/{study.pk}/close/")
    assert Study.objects.get(pk=study.pk).status == Study.Status.LIVE
    web.post(f"/studies/{study.pk}/close/", {"confirm": "yes"})
    assert Study.objects.get(pk=study.pk).status == Study.Status.CLOSED


def test_the_study_page_shows_options_in_words_and_whole_links_with_copy_buttons(
    web, corpus, researcher
):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, sources=["prolific", "mturk", "anonymous"])
    page = web.get(f"/studies/{study.pk}/").content.decode()
    assert "Optional comment: no" in page
    assert "Points: 5 points" in page
    assert "comment = False" not in page
    prolific = (
        f"http://testserver/s/{study.uid}/?PROLIFIC_PID={{{{%PROLIFIC_PID%}}}}"
        "&amp;STUDY_ID={{%STUDY_ID%}}&amp;SESSION_ID={{%SESSION_ID%}}"
    )
    assert f'<code id="link-prolific" class="url">{prolific}</code>' in page
    for target in ("link-prolific", "link-prolific-complete", "link-mturk", "link-anonymous"):
        assert f'data-copy="{target}"' in page
    assert 'id="copy-status"' in page
    assert 'aria-live="polite"' in page
    assert "studies/copy.js" in page


def test_study_duplicate_copies_the_design_into_a_new_draft_of_the_actor(
    corpus, researcher, make_researcher
):
    dataset, model = corpus
    study = make_study(researcher, dataset, model, top_k=3)
    Participant.objects.create(study=study, source=Participant.Source.ANONYMOUS)
    copy = study_duplicate(study=study, actor=researcher)
    assert copy.pk != study.pk
    assert (copy.name, copy.owner, copy.status) == (
        f"Copy of {study.name}",
        researcher,
        Study.Status.DRAFT,
    )
    assert (copy.study_type, copy.type_options, copy.top_k, copy.seed) == (
        study.study_type,
        study.type_options,
        3,
        study.seed,
    )
    assert set(copy.methods.values_list("name", flat=True)) == set(
        study.methods.values_list("name", flat=True)
    )
    assert copy.items.count() == study.items.count()
    assert not any(item.frozen for item in copy.items.all())
    assert not copy.participants.exists()
    assert copy.completion_code != study.completion_code
    with pytest.raises(Http404):
        study_duplicate(study=study, actor=make_researcher("mallory"))
    assert Study.objects.count() == 2


def test_the_duplicate_action_redirects_to_the_copy(web, corpus, researcher):
    dataset, model = corpus
    study = make_study(researcher, dataset, model)
    response = web.post(f"/studies/{study.pk}/duplicate/")
    copy = Study.objects.exclude(pk=study.pk).get()
    assert response["Location"] == f"/studies/{copy.pk}/"
    assert copy.name == f"Copy of {study.name}"


def test_the_study_list_filters_by_status_and_type_searches_and_pages(web, corpus, researcher):
    dataset, model = corpus
    make_study(researcher, dataset, model, name="Alpha live")
    make_study(researcher, dataset, model, name="Beta draft", launch=False)
    make_study(
        researcher, dataset, model, name="Gamma pairs", study_type="pairwise_preference",
        launch=False,
    )  # fmt: skip

    def names(query):
        text = web.get(f"/studies/{query}").content.decode()
        return {n for n in ("Alpha live", "Beta draft", "Gamma pairs") if n in text}

    assert names("") == {"Alpha live", "Beta draft", "Gamma pairs"}
    assert names("?status=draft") == {"Beta draft", "Gamma pairs"}
    assert names("?study_type=pairwise_preference") == {"Gamma pairs"}
    assert names("?q=BETA") == {"Beta draft"}
    assert names("?status=draft&study_type=plausibility_rating") == {"Beta draft"}
    refused = web.get("/studies/?status=sleeping").content.decode()
    assert "status sleeping is not a status" in refused
    assert "Pairwise preference" in web.get("/studies/").content.decode()


def test_the_study_list_is_paginated_keeping_the_filters(web, corpus, researcher, monkeypatch):
    dataset, model = corpus
    monkeypatch.setattr(views, "STUDIES_PER_PAGE", 2)
    for k in range(3):
        make_study(researcher, dataset, model, name=f"Draft {k}", launch=False)
    first = web.get("/studies/?status=draft").content.decode()
    assert "Page 1 of 2" in first
    assert 'href="?status=draft&amp;page=2"' in first
    second = web.get("/studies/?status=draft&page=2").content.decode()
    assert "Draft 0" in second
    assert "Draft 2" not in second
